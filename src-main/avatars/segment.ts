import { readFile, rename, writeFile } from 'node:fs/promises';
import { deflateSync, inflateSync } from 'node:zlib';
import { Tensor } from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { RgbImage } from '../media/image';
import { ModelSessions } from '../models/sessions';

/** The registry kind of the portrait segmentation model: the active one, else SINet from the catalogue. */
export const SEGMENT_MODEL = 'segmentation';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const SIZE = 320;
// Upstream sinet_video.py: ((pixel - mean) / std) / 255, BGR order (see the model's MODEL.md).
const MEAN_BGR = [102.890434, 111.25247, 126.91212];
const STD_BGR = [62.93292, 62.82138, 66.355705];

const sessions = new ModelSessions();
const segmentSession = () => sessions.open(SEGMENT_MODEL);

/**
 * The part of a portrait the model should see: head and shoulders down to the picture's bottom.
 * SINet was trained on such crops and makes blobs in wide backgrounds, so the rest of the picture
 * is left out (and counts as background).
 */
export function personCrop(face: Rect, image: { width: number; height: number }): Rect {
  const x0 = Math.max(0, Math.floor(face.x - face.width * 2.2));
  const x1 = Math.min(image.width, Math.ceil(face.x + face.width * 3.2));
  const y0 = Math.max(0, Math.floor(face.y - face.height * 0.9));
  return { x: x0, y: y0, width: x1 - x0, height: image.height - y0 };
}

export interface MaskOptions {
  /** Where the person is; the whole picture when unset. */
  crop?: Rect;
}

/**
 * A soft person mask of the picture (one byte per pixel, 255 = person): SINet on the letterboxed
 * crop, cleaned at the model's resolution (one person, no holes, no stray blobs, a soft edge), then
 * enlarged bilinearly. Outside the crop it is 0.
 */
export async function personMask(image: RgbImage, options: MaskOptions = {}): Promise<Uint8Array> {
  const crop = clampRect(options.crop ?? { x: 0, y: 0, width: image.width, height: image.height }, image);
  const { session: s } = await segmentSession();
  const scale = SIZE / Math.max(crop.width, crop.height);
  const inW = Math.max(1, Math.round(crop.width * scale));
  const inH = Math.max(1, Math.round(crop.height * scale));
  const ox = Math.floor((SIZE - inW) / 2);
  const oy = Math.floor((SIZE - inH) / 2);
  const input = new Float32Array(3 * SIZE * SIZE); // zeros: the mean colour after normalising
  for (let v = 0; v < inH; v++) {
    const sy = Math.min(crop.height - 1, Math.max(0, (v + 0.5) / scale - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(crop.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let u = 0; u < inW; u++) {
      const sx = Math.min(crop.width - 1, Math.max(0, (u + 0.5) / scale - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(crop.width - 1, x0 + 1);
      const fx = sx - x0;
      const p00 = ((crop.y + y0) * image.width + crop.x + x0) * 3;
      const p01 = ((crop.y + y0) * image.width + crop.x + x1) * 3;
      const p10 = ((crop.y + y1) * image.width + crop.x + x0) * 3;
      const p11 = ((crop.y + y1) * image.width + crop.x + x1) * 3;
      const at = (oy + v) * SIZE + ox + u;
      for (let c = 0; c < 3; c++) {
        const rgb = 2 - c; // BGR planes from RGB pixels
        const top = image.data[p00 + rgb] + (image.data[p01 + rgb] - image.data[p00 + rgb]) * fx;
        const bottom = image.data[p10 + rgb] + (image.data[p11 + rgb] - image.data[p10 + rgb]) * fx;
        input[c * SIZE * SIZE + at] = ((top + (bottom - top) * fy - MEAN_BGR[c]) / STD_BGR[c]) / 255;
      }
    }
  }
  const outputs = await s.run({ [s.inputNames[0]]: new Tensor('float32', input, [1, 3, SIZE, SIZE]) });
  const out = outputs[s.outputNames[0]];
  if (!out || out.dims.length !== 4 || out.dims[1] !== 2) {
    throw new AppError(ErrorCode.Internal, `the active segmentation model answered an unexpected shape [${out?.dims.join(', ')}]`);
  }
  const person = (out.data as Float32Array).subarray(SIZE * SIZE, 2 * SIZE * SIZE);
  const probability = new Float32Array(inW * inH);
  for (let v = 0; v < inH; v++) probability.set(person.subarray((oy + v) * SIZE + ox, (oy + v) * SIZE + ox + inW), v * inW);
  const small = cleanMask(probability, inW, inH);

  const mask = new Uint8Array(image.width * image.height);
  for (let y = 0; y < crop.height; y++) {
    const sy = Math.min(inH - 1, Math.max(0, (y + 0.5) * scale - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(inH - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < crop.width; x++) {
      const sx = Math.min(inW - 1, Math.max(0, (x + 0.5) * scale - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(inW - 1, x0 + 1);
      const fx = sx - x0;
      const top = small[y0 * inW + x0] + (small[y0 * inW + x1] - small[y0 * inW + x0]) * fx;
      const bottom = small[y1 * inW + x0] + (small[y1 * inW + x1] - small[y1 * inW + x0]) * fx;
      mask[(crop.y + y) * image.width + crop.x + x] = Math.round(top + (bottom - top) * fy);
    }
  }
  return mask;
}

function clampRect(rect: Rect, image: { width: number; height: number }): Rect {
  const x = Math.max(0, Math.min(image.width - 1, Math.round(rect.x)));
  const y = Math.max(0, Math.min(image.height - 1, Math.round(rect.y)));
  return { x, y, width: Math.max(1, Math.min(image.width - x, Math.round(rect.width))), height: Math.max(1, Math.min(image.height - y, Math.round(rect.height))) };
}

/**
 * Clean a person probability map: the largest confident region only (stray blobs go), its holes
 * filled, the model's own soft values kept in a band around its edge, and a light blur so the edge
 * is never a staircase once enlarged.
 */
export function cleanMask(probability: Float32Array, width: number, height: number): Uint8Array {
  const n = width * height;
  let solid: Uint8Array = new Uint8Array(n);
  for (let i = 0; i < n; i++) solid[i] = probability[i] > 0.5 ? 1 : 0;
  // Close then open: joins hair strands to the head, removes specks.
  solid = morph(morph(solid, width, height, 2, 'max'), width, height, 2, 'min');
  solid = morph(morph(solid, width, height, 2, 'min'), width, height, 2, 'max');
  const person = largestComponent(solid, width, height);
  fillHoles(person, width, height);
  const inner = morph(person, width, height, 2, 'min');
  const near = morph(person, width, height, 3, 'max');
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (inner[i]) alpha[i] = 255;
    else if (near[i]) {
      const t = Math.min(1, Math.max(0, (probability[i] - 0.25) / 0.5));
      alpha[i] = 255 * t * t * (3 - 2 * t);
    }
  }
  const blurred = boxBlur(alpha, width, height, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(blurred[i]);
  return out;
}

/** Square erosion ('min') or dilation ('max') of a 0/1 map, separable. */
function morph(src: Uint8Array, width: number, height: number, radius: number, op: 'min' | 'max'): Uint8Array {
  const pick = op === 'max' ? 1 : 0;
  const rows = new Uint8Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 1 - pick;
      for (let k = Math.max(0, x - radius); k <= Math.min(width - 1, x + radius); k++) {
        if (src[y * width + k] === pick) {
          v = pick;
          break;
        }
      }
      rows[y * width + x] = v;
    }
  }
  const out = new Uint8Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 1 - pick;
      for (let k = Math.max(0, y - radius); k <= Math.min(height - 1, y + radius); k++) {
        if (rows[k * width + x] === pick) {
          v = pick;
          break;
        }
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/** The biggest 4-connected region of ones. */
function largestComponent(solid: Uint8Array, width: number, height: number): Uint8Array {
  const label = new Int32Array(solid.length);
  const stack = new Int32Array(solid.length);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < solid.length; start++) {
    if (!solid[start] || label[start]) continue;
    next++;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    label[start] = next;
    while (top > 0) {
      const i = stack[--top];
      size++;
      const x = i % width;
      for (let k = 0; k < 4; k++) {
        const j = k === 0 ? (x > 0 ? i - 1 : -1) : k === 1 ? (x < width - 1 ? i + 1 : -1) : k === 2 ? i - width : i + width < solid.length ? i + width : -1;
        if (j >= 0 && solid[j] && !label[j]) {
          label[j] = next;
          stack[top++] = j;
        }
      }
    }
    if (size > bestSize) {
      bestSize = size;
      best = next;
    }
  }
  const out = new Uint8Array(solid.length);
  for (let i = 0; i < solid.length; i++) out[i] = best && label[i] === best ? 1 : 0;
  return out;
}

/** Background not reachable from the map's border is a hole in the person: fill it. */
function fillHoles(person: Uint8Array, width: number, height: number): void {
  const outside = new Uint8Array(person.length);
  const stack: number[] = [];
  const seed = (i: number) => {
    if (!person[i] && !outside[i]) {
      outside[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (stack.length) {
    const i = stack.pop()!;
    const x = i % width;
    if (x > 0) seed(i - 1);
    if (x < width - 1) seed(i + 1);
    if (i >= width) seed(i - width);
    if (i + width < person.length) seed(i + width);
  }
  for (let i = 0; i < person.length; i++) if (!outside[i]) person[i] = 1;
}

function boxBlur(src: Float32Array, width: number, height: number, radius: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let k = Math.max(0, x - radius); k <= Math.min(width - 1, x + radius); k++, count++) sum += src[y * width + k];
      tmp[y * width + x] = sum / count;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let k = Math.max(0, y - radius); k <= Math.min(height - 1, y + radius); k++, count++) sum += tmp[k * width + x];
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

/**
 * Temporal smoothing of a clip's masks: each pixel follows the new mask by an exponential moving
 * average, but changes smaller than the dead band are ignored (hysteresis), so the model's
 * frame-to-frame jitter along the edge does not flicker while real motion still comes through.
 */
export class MaskSmoother {
  private state: Float32Array | undefined;

  constructor(
    private readonly follow = 0.5,
    private readonly deadBand = 24,
  ) {}

  next(mask: Uint8Array): Uint8Array {
    if (!this.state || this.state.length !== mask.length) {
      this.state = Float32Array.from(mask);
      return mask.slice();
    }
    const state = this.state;
    const out = new Uint8Array(mask.length);
    for (let i = 0; i < mask.length; i++) {
      const d = mask[i] - state[i];
      // Full moves (person entering or leaving a pixel) go through at once, so nothing trails.
      if (d > 200 || d < -200) state[i] = mask[i];
      else if (d > this.deadBand || d < -this.deadBand) state[i] += this.follow * d;
      // A decided pixel (fully person or fully not) is never left a little see-through.
      else if (mask[i] === 0 || mask[i] === 255) state[i] = mask[i];
      out[i] = Math.round(state[i]);
    }
    return out;
  }
}

const CACHE_MAGIC = 'MPMASK1\n';

/**
 * Keep a clip's masks in one file: a header (magic, width, height, count), then per frame its
 * deflated length and bytes. Written to a temporary name and renamed, so a half-written file never
 * has the final name.
 */
export async function writeMaskCache(path: string, width: number, height: number, masks: Uint8Array[]): Promise<void> {
  const parts: Buffer[] = [Buffer.from(CACHE_MAGIC, 'latin1')];
  const header = Buffer.alloc(12);
  header.writeUInt32LE(width, 0);
  header.writeUInt32LE(height, 4);
  header.writeUInt32LE(masks.length, 8);
  parts.push(header);
  for (const mask of masks) {
    const packed = deflateSync(mask, { level: 6 });
    const length = Buffer.alloc(4);
    length.writeUInt32LE(packed.length, 0);
    parts.push(length, packed);
  }
  await writeFile(`${path}.tmp`, Buffer.concat(parts));
  await rename(`${path}.tmp`, path);
}

/**
 * A clip's masks from the cache, still deflated (a frame is inflated when it is needed), or
 * undefined when the file is missing, of another size or count, or damaged.
 */
export async function readMaskCache(path: string, width: number, height: number, count: number): Promise<MaskCache | undefined> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch {
    return undefined;
  }
  const magic = CACHE_MAGIC.length;
  if (file.length < magic + 12 || file.subarray(0, magic).toString('latin1') !== CACHE_MAGIC) return undefined;
  if (file.readUInt32LE(magic) !== width || file.readUInt32LE(magic + 4) !== height || file.readUInt32LE(magic + 8) !== count) return undefined;
  const frames: Buffer[] = [];
  let at = magic + 12;
  for (let i = 0; i < count; i++) {
    if (at + 4 > file.length) return undefined;
    const length = file.readUInt32LE(at);
    if (at + 4 + length > file.length) return undefined;
    frames.push(file.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== file.length) return undefined;
  const cache = new MaskCache(frames, width * height);
  try {
    // A damaged body fails here rather than in the middle of a render.
    cache.frame(0);
    cache.frame(count - 1);
  } catch {
    return undefined;
  }
  return cache;
}

export class MaskCache {
  constructor(
    private readonly frames: Buffer[],
    private readonly pixels: number,
  ) {}

  get count(): number {
    return this.frames.length;
  }

  frame(index: number): Uint8Array {
    const mask = inflateSync(this.frames[index]);
    if (mask.length !== this.pixels) throw new AppError(ErrorCode.Internal, `mask ${index} of the cache has ${mask.length} pixels, not ${this.pixels}`);
    return new Uint8Array(mask.buffer, mask.byteOffset, mask.length);
  }
}
