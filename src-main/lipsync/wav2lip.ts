/**
 * Neural lip-sync with Wav2Lip-compatible ONNX models (Wav2Lip, Wav2Lip-GAN and exports with the
 * same signature): per video frame, an 80x16 mel window and a 96x96 face crop go in, a 96x96
 * lower face comes out and is blended back into the frame. Pre- and post-processing follow
 * Rudrabha/Wav2Lip's inference.py, which is what the published weights expect.
 */
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { AppError, ErrorCode, errorCode } from '../../src-shared/errors';
import { createSession, type Provider } from '../inference/session';
import { MEL_BANDS, MEL_WINDOW } from './mel';

export const WAV2LIP_LICENCE_NOTE =
  "Wav2Lip's weights are licensed for non-commercial research only; check the licence of the model you import before you publish videos made with it.";

/** The side of the square face crop the models take and give. */
export const FACE_SIZE = 96;
const PLANE = FACE_SIZE * FACE_SIZE;
const MEL_SIZE = MEL_BANDS * MEL_WINDOW;
const FACE_INPUT_SIZE = 6 * PLANE;
const OUTPUT_SIZE = 3 * PLANE;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where a model keeps its inputs and output, found by shape. */
export interface Wav2LipSignature {
  melInput: string;
  faceInput: string;
  output: string;
  /** The export fixed the batch at 1, so frames run one call each. */
  fixedBatch: boolean;
}

export interface Wav2LipItem {
  /** 80x16 mel window, band-major (see melWindows). */
  mel: Float32Array;
  /** 6x96x96 planes from prepareFaceInput. */
  face: Float32Array;
}

export interface Wav2Lip {
  provider: Provider;
  signature: Wav2LipSignature;
  /**
   * Run a batch of frames, in one session.run when the model's batch is dynamic. Each result is
   * 3x96x96 planes in the model's channel order (BGR for Wav2Lip), 0..1: hand it to pasteBack.
   */
  infer(batch: Wav2LipItem[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const EXPECTED =
  'expected a float32 mel input [N,1,80,16], a float32 face input [N,6,96,96] and an output [N,3,96,96], with N dynamic or 1';

function formatShape(meta: ort.InferenceSession.ValueMetadata): string {
  if (!meta.isTensor) return `${meta.name} (not a tensor)`;
  const dims = meta.shape.length ? `[${meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 'N')).join(',')}]` : '[unknown shape]';
  return `${meta.name} ${dims}${meta.type === 'float32' ? '' : ` ${meta.type}`}`;
}

function formatList(metas: readonly ort.InferenceSession.ValueMetadata[]): string {
  const shown = metas.slice(0, 4).map(formatShape).join(', ');
  return metas.length > 4 ? `${shown} and ${metas.length - 4} more` : shown || 'none';
}

/** A batch dimension we can feed: symbolic (string), unknown (-1) or fixed at 1. */
const batchDim = (d: number | string) => typeof d === 'string' || d === -1 || d === 1;

function hasShape(meta: ort.InferenceSession.ValueMetadata, rest: number[]): boolean {
  return (
    meta.isTensor &&
    meta.type === 'float32' &&
    meta.shape.length === 4 &&
    batchDim(meta.shape[0]) &&
    rest.every((d, i) => meta.shape[i + 1] === d)
  );
}

function readSignature(session: ort.InferenceSession, path: string): Wav2LipSignature {
  const inputs = session.inputMetadata;
  const mel = inputs.find((m) => hasShape(m, [1, MEL_BANDS, MEL_WINDOW]));
  const face = inputs.find((m) => hasShape(m, [6, FACE_SIZE, FACE_SIZE]));
  const output = session.outputMetadata.find((m) => hasShape(m, [3, FACE_SIZE, FACE_SIZE]));
  if (inputs.length !== 2 || !mel || !face || !output) {
    throw new AppError(
      ErrorCode.BadInput,
      `${path}: this is not a Wav2Lip-compatible model: ${EXPECTED}; got inputs ${formatList(inputs)} and outputs ${formatList(session.outputMetadata)}. ` +
        'Import the ONNX export of a Wav2Lip or Wav2Lip-GAN model.',
    );
  }
  const fixedBatch = [mel, face, output].some((m) => m.isTensor && m.shape[0] === 1);
  return { melInput: mel.name, faceInput: face.name, output: output.name, fixedBatch };
}

async function openModel(path: string, providers?: Provider[]) {
  if (!existsSync(path)) {
    throw new AppError(ErrorCode.NotFound, `${path}: file not found; choose the .onnx file of a Wav2Lip-compatible model`);
  }
  try {
    return await createSession(path, providers);
  } catch (error) {
    // createSession may already refuse the file in words meant for people.
    if (errorCode(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError(
      ErrorCode.BadInput,
      `${path}: not an ONNX model onnxruntime can load (${reason}); import the .onnx export of a Wav2Lip-compatible model`,
    );
  }
}

/**
 * Refuse, naming the file, anything that is not a Wav2Lip-compatible ONNX model. Opens the model
 * on the CPU only: checking it should not take GPU memory from a render.
 */
export async function checkWav2LipModel(path: string): Promise<Wav2LipSignature> {
  const { session } = await openModel(path, ['cpu']);
  try {
    return readSignature(session, path);
  } finally {
    await session.release();
  }
}

/** Open a Wav2Lip-compatible model on the best provider the machine has. */
export async function openWav2Lip(path: string): Promise<Wav2Lip> {
  const { session, provider } = await openModel(path);
  let signature: Wav2LipSignature;
  try {
    signature = readSignature(session, path);
  } catch (error) {
    await session.release();
    throw error;
  }

  const run = async (items: Wav2LipItem[]): Promise<Float32Array[]> => {
    const n = items.length;
    const mel = new Float32Array(n * MEL_SIZE);
    const face = new Float32Array(n * FACE_INPUT_SIZE);
    items.forEach((item, i) => {
      mel.set(item.mel, i * MEL_SIZE);
      face.set(item.face, i * FACE_INPUT_SIZE);
    });
    const results = await session.run(
      {
        [signature.melInput]: new ort.Tensor('float32', mel, [n, 1, MEL_BANDS, MEL_WINDOW]),
        [signature.faceInput]: new ort.Tensor('float32', face, [n, 6, FACE_SIZE, FACE_SIZE]),
      },
      [signature.output],
    );
    const out = results[signature.output] as ort.Tensor;
    if (out.data.length !== n * OUTPUT_SIZE) {
      throw new AppError(ErrorCode.Internal, `${path}: the model returned [${out.dims.join(',')}] for ${n} frames; expected [${n},3,96,96]`);
    }
    const data = out.data as Float32Array;
    return items.map((_, i) => data.slice(i * OUTPUT_SIZE, (i + 1) * OUTPUT_SIZE));
  };

  return {
    provider,
    signature,
    async infer(batch) {
      for (const [i, item] of batch.entries()) {
        if (item.mel.length !== MEL_SIZE || item.face.length !== FACE_INPUT_SIZE) {
          throw new RangeError(`frame ${i}: mel has ${item.mel.length} values (want ${MEL_SIZE}), face ${item.face.length} (want ${FACE_INPUT_SIZE})`);
        }
      }
      if (batch.length === 0) return [];
      if (!signature.fixedBatch) return run(batch);
      const out: Float32Array[] = [];
      for (const item of batch) out.push(...(await run([item])));
      return out;
    },
    release: () => session.release(),
  };
}

function checkRgb(name: string, image: Uint8Array, width: number, height: number): void {
  if (image.length !== width * height * 3) {
    throw new RangeError(`${name}: ${image.length} bytes is not ${width}x${height} RGB24 (${width * height * 3} bytes)`);
  }
}

/**
 * The model's face input: the target crop with its lower half zeroed (the part the model
 * redraws), then the reference crop, each as B, G, R planes scaled to 0..1, because inference.py
 * feeds OpenCV's BGR frames and the weights learnt that order.
 */
export function prepareFaceInput(crop: Uint8Array, reference: Uint8Array): Float32Array {
  checkRgb('crop', crop, FACE_SIZE, FACE_SIZE);
  checkRgb('reference', reference, FACE_SIZE, FACE_SIZE);
  const input = new Float32Array(FACE_INPUT_SIZE);
  const visibleRows = FACE_SIZE / 2;
  for (let i = 0; i < PLANE; i++) {
    for (let c = 0; c < 3; c++) {
      // RGB channel c lands on BGR plane 2 - c.
      if (i < visibleRows * FACE_SIZE) input[(2 - c) * PLANE + i] = crop[i * 3 + c] / 255;
      input[(5 - c) * PLANE + i] = reference[i * 3 + c] / 255;
    }
  }
  return input;
}

/**
 * Cut `box` out of an RGB24 image and resize it to width x height with bilinear sampling on
 * pixel centres (OpenCV's INTER_LINEAR, which Wav2Lip's crops were made with). Parts of the box
 * outside the image repeat the edge pixels.
 */
export function cropRgb(src: Uint8Array, srcWidth: number, srcHeight: number, box: Box, width = FACE_SIZE, height = FACE_SIZE): Uint8Array {
  checkRgb('image', src, srcWidth, srcHeight);
  if (!(box.width > 0 && box.height > 0)) throw new RangeError(`face box ${box.width}x${box.height} is empty`);
  const out = new Uint8Array(width * height * 3);
  const sx = box.width / width;
  const sy = box.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(srcHeight - 1, Math.max(0, box.y + (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(srcHeight - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(srcWidth - 1, Math.max(0, box.x + (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(srcWidth - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const top = src[(y0 * srcWidth + x0) * 3 + c] * (1 - wx) + src[(y0 * srcWidth + x1) * 3 + c] * wx;
        const bottom = src[(y1 * srcWidth + x0) * 3 + c] * (1 - wx) + src[(y1 * srcWidth + x1) * 3 + c] * wx;
        out[(y * width + x) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

function smoothstep(edge0: number, edge1: number, v: number): number {
  const t = Math.min(1, Math.max(0, (v - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/**
 * Blend a generated lower face into the RGB24 frame `target`, in place. The 96x96 output is
 * resized to `box` bilinearly and mixed in through a mask that is full strength over the lower
 * half of the box and falls smoothly (smoothstep) to zero at its sides and bottom and upward
 * from the middle, over `feather` (a fraction of the box, default 0.15), so no seam shows.
 * Pixels outside the box and where the mask is zero keep their exact values.
 * `generated` is one result of infer: B, G, R planes, 0..1.
 */
export function pasteBack(
  target: Uint8Array,
  targetWidth: number,
  targetHeight: number,
  box: Box,
  generated: Float32Array,
  options: { feather?: number } = {},
): void {
  checkRgb('frame', target, targetWidth, targetHeight);
  if (generated.length !== OUTPUT_SIZE) throw new RangeError(`generated face has ${generated.length} values, not 3x96x96`);
  const feather = options.feather ?? 0.15;
  if (!(feather > 0 && feather <= 0.5)) throw new RangeError(`feather must be in (0, 0.5], got ${feather}`);
  const bx = Math.round(box.x);
  const by = Math.round(box.y);
  const bw = Math.round(box.width);
  const bh = Math.round(box.height);
  if (bw <= 0 || bh <= 0) return;
  const top = Math.max(0, by);
  const bottom = Math.min(targetHeight, by + bh);
  const left = Math.max(0, bx);
  const right = Math.min(targetWidth, bx + bw);
  for (let py = top; py < bottom; py++) {
    const v = (py - by + 0.5) / bh;
    const vertical = smoothstep(0.5 - feather, 0.5, v) * smoothstep(0, feather, 1 - v);
    if (vertical <= 0) continue;
    const gy = Math.min(FACE_SIZE - 1, Math.max(0, v * FACE_SIZE - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(FACE_SIZE - 1, y0 + 1);
    const wy = gy - y0;
    for (let px = left; px < right; px++) {
      const u = (px - bx + 0.5) / bw;
      const m = vertical * smoothstep(0, feather, u) * smoothstep(0, feather, 1 - u);
      if (m <= 0) continue;
      const gx = Math.min(FACE_SIZE - 1, Math.max(0, u * FACE_SIZE - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(FACE_SIZE - 1, x0 + 1);
      const wx = gx - x0;
      for (let c = 0; c < 3; c++) {
        const plane = (2 - c) * PLANE;
        const upper = generated[plane + y0 * FACE_SIZE + x0] * (1 - wx) + generated[plane + y0 * FACE_SIZE + x1] * wx;
        const lower = generated[plane + y1 * FACE_SIZE + x0] * (1 - wx) + generated[plane + y1 * FACE_SIZE + x1] * wx;
        const value = Math.min(255, Math.max(0, (upper * (1 - wy) + lower * wy) * 255));
        const at = (py * targetWidth + px) * 3 + c;
        target[at] = Math.round(target[at] * (1 - m) + value * m);
      }
    }
  }
}
