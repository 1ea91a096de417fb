import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Background } from '../../src-shared/project';
import { decodeImage, encodePng, type RgbImage } from '../media/image';
import { pingPongFrames, readFrames } from '../media/frames';
import { MaskSmoother, personCrop, personMask, readMaskCache, writeMaskCache, type MaskCache } from '../avatars/segment';
import { FrameWarper } from '../avatars/warpWorker';
import { NEUTRAL_POSE, VISEME_POSE, type FramePose, type WarpRig } from '../avatars/warp';
import { PROXY_FILE, REFERENCE_FILE, type ClipAvatarData } from '../avatars/prepare';
import type { Point } from '../avatars/faces';
import {
  WAV2LIP_BATCH,
  brandPrimary,
  bubbleShape,
  enableOption,
  greyImage,
  layoutAvatar,
  melWindowsOf,
  type TalkingPhotoInput,
  type TalkingPhotoOutput,
} from './talkingPhoto';
import { cropRgb, openWav2Lip, pasteBack, prepareFaceInput } from '../lipsync/wav2lip';
import type { AvatarFrame } from './stages';
import { fileDigest, type Stage } from './stage';

/** Mouth shapes eased like the photo's, without blinks or head motion: the clip has its own. */
function clipPoses(frames: AvatarFrame[]): FramePose[] {
  return frames.map((_, i) => {
    const pose = { ...NEUTRAL_POSE };
    const w = [0.25, 0.5, 0.25];
    for (let k = -1; k <= 1; k++) {
      const t = VISEME_POSE[frames[Math.min(frames.length - 1, Math.max(0, i + k))].mouth];
      pose.open += t.open * w[k + 1];
      pose.wide += t.wide * w[k + 1];
      pose.round += t.round * w[k + 1];
    }
    if (VISEME_POSE[frames[i].mouth].open === 0) pose.open = Math.min(pose.open, 0.15);
    return pose;
  });
}

/** Least-squares similarity (scale, rotation, shift) taking points `from` onto points `to`. */
export function similarity(from: Point[], to: Point[]): Similarity {
  const n = from.length;
  const fc = { x: from.reduce((s, p) => s + p.x, 0) / n, y: from.reduce((s, p) => s + p.y, 0) / n };
  const tc = { x: to.reduce((s, p) => s + p.x, 0) / n, y: to.reduce((s, p) => s + p.y, 0) / n };
  let dot = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i].x - fc.x;
    const fy = from[i].y - fc.y;
    const tx = to[i].x - tc.x;
    const ty = to[i].y - tc.y;
    dot += fx * tx + fy * ty;
    cross += fx * ty - fy * tx;
    norm += fx * fx + fy * fy;
  }
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: tc.x - (a * fc.x - b * fc.y), ty: tc.y - (b * fc.x + a * fc.y) };
}

type Similarity = { a: number; b: number; tx: number; ty: number };

/** The bounding box of a rectangle carried by a similarity. */
function carryBox(box: { x: number; y: number; width: number; height: number }, t: Similarity) {
  const corners = [
    [box.x, box.y],
    [box.x + box.width, box.y],
    [box.x, box.y + box.height],
    [box.x + box.width, box.y + box.height],
  ].map(([x, y]) => [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty]);
  const x = Math.min(...corners.map((c) => c[0]));
  const y = Math.min(...corners.map((c) => c[1]));
  return { x, y, width: Math.max(...corners.map((c) => c[0])) - x, height: Math.max(...corners.map((c) => c[1])) - y };
}

/** The reference frame's lower face: what is warped and laid over each frame's own mouth. */
function mouthRegion(rig: WarpRig, width: number, height: number) {
  const x0 = Math.max(0, Math.floor(rig.mouthCentre.x - rig.jawHalf * 1.05));
  const x1 = Math.min(width - 2, Math.ceil(rig.mouthCentre.x + rig.jawHalf * 1.05));
  const y0 = Math.max(0, Math.floor(rig.noseY + (rig.seamMid - rig.noseY) * 0.3));
  const y1 = Math.min(height - 2, Math.ceil(rig.chin.y + rig.faceHeight * 0.1));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Lay the warped reference mouth over one clip frame: each pixel of the frame's lower face looks
 * up the patch through the inverse of the similarity that carries the reference face onto this
 * frame's, and blends by a soft ellipse so the edge never shows.
 */
export function pasteMouth(
  frame: Uint8Array,
  width: number,
  height: number,
  patch: Uint8Array,
  region: { x: number; y: number; width: number; height: number },
  t: Similarity,
): void {
  const carried = carryBox(region, t);
  const bx0 = Math.max(0, Math.floor(carried.x));
  const bx1 = Math.min(width - 1, Math.ceil(carried.x + carried.width));
  const by0 = Math.max(0, Math.floor(carried.y));
  const by1 = Math.min(height - 1, Math.ceil(carried.y + carried.height));
  const det = t.a * t.a + t.b * t.b;
  const ia = t.a / det;
  const ib = t.b / det;
  const cx = region.width / 2;
  const cy = region.height / 2;
  for (let qy = by0; qy <= by1; qy++) {
    for (let qx = bx0; qx <= bx1; qx++) {
      const dx = qx - t.tx;
      const dy = qy - t.ty;
      const u = ia * dx + ib * dy - region.x;
      const v = -ib * dx + ia * dy - region.y;
      if (u < 0 || v < 0 || u >= region.width - 1 || v >= region.height - 1) continue;
      const ex = (u - cx) / cx;
      const ey = (v - cy) / cy;
      const r = Math.sqrt(ex * ex + ey * ey);
      if (r >= 1) continue;
      const s = r <= 0.65 ? 0 : (r - 0.65) / 0.35;
      const alpha = 1 - s * s * (3 - 2 * s);
      const x0 = u | 0;
      const y0 = v | 0;
      const fx = u - x0;
      const fy = v - y0;
      const p = (y0 * region.width + x0) * 3;
      const q = p + region.width * 3;
      const o = (qy * width + qx) * 3;
      for (let c = 0; c < 3; c++) {
        const value = (patch[p + c] * (1 - fx) + patch[p + 3 + c] * fx) * (1 - fy) + (patch[q + c] * (1 - fx) + patch[q + 3 + c] * fx) * fy;
        frame[o + c] += (value - frame[o + c]) * alpha;
      }
    }
  }
}

/** A card's rounded corners, 0..1. */
function roundedCorners(width: number, height: number): (x: number, y: number) => number {
  const radius = Math.round(height * 0.035);
  return (x, y) => {
    const dx = Math.max(radius - x, 0, x - (width - 1 - radius));
    const dy = Math.max(radius - y, 0, y - (height - 1 - radius));
    return radius - Math.hypot(dx, dy) + 0.5;
  };
}

/** One person crop for every frame, around everywhere the face goes, so the crop itself never jitters. */
export function clipCrop(data: ClipAvatarData) {
  const boxes = data.track.map((points) => carryBox(data.reference.face, similarity(data.reference.points, points)));
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const face = { x: x0, y: y0, width: Math.max(...boxes.map((b) => b.x + b.width)) - x0, height: Math.max(...boxes.map((b) => b.y + b.height)) - y0 };
  return personCrop(face, data);
}

/** Where a clip's person masks are kept, in the avatar's folder, so SINet runs once per clip. */
export const MASKS_FILE = 'person-masks.bin';

/**
 * The clip's person masks, one per frame in clip order, smoothed over time: from the cache in the
 * avatar's folder when it is whole, else computed on the frames and cached.
 */
export async function clipMasks(avatar: { dir: string; data: ClipAvatarData }, signal: AbortSignal, report: (fraction: number) => void = () => {}): Promise<MaskCache> {
  const { data } = avatar;
  const path = join(avatar.dir, MASKS_FILE);
  const cached = await readMaskCache(path, data.width, data.height, data.frameCount);
  if (cached) return cached;
  const crop = clipCrop(data);
  const smoother = new MaskSmoother();
  const masks: Uint8Array[] = [];
  for await (const frame of readFrames(join(avatar.dir, PROXY_FILE), data, 0, data.frameCount, signal)) {
    masks.push(smoother.next(await personMask({ width: data.width, height: data.height, data: frame }, { crop })));
    report(masks.length / data.frameCount);
  }
  await writeMaskCache(path, data.width, data.height, masks);
  const written = await readMaskCache(path, data.width, data.height, data.frameCount);
  if (!written) throw new AppError(ErrorCode.Io, `${path}: the person masks just written cannot be read back; check the disk has space and try again`);
  return written;
}

/** An RGB frame with the mask as its alpha. */
function withAlpha(frame: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length * 4);
  for (let i = 0, o = 0, p = 0; i < mask.length; i++, o += 4, p += 3) {
    out[o] = frame[p];
    out[o + 1] = frame[p + 1];
    out[o + 2] = frame[p + 2];
    out[o + 3] = mask[i];
  }
  return out;
}

export interface TalkingClipInput extends Omit<TalkingPhotoInput, 'avatar'> {
  avatar: { dir: string; data: ClipAvatarData };
}

export type TalkingClipOutput = Pick<TalkingPhotoOutput, 'backgrounds' | 'overlay' | 'engine' | 'geometries'>;

/**
 * The talking clip: the user's clip plays back and forth under the speech, and in every frame the
 * lower face is replaced by the reference frame's, warped to the mouth shape and aligned to where
 * the face is in that frame. The frames stream raw into the compose run, with the person mask as
 * alpha when the template cuts the avatar out.
 */
export const talkingClipStage: Stage<TalkingClipInput, TalkingClipOutput> = async (input, { signal, report }) => {
  const { avatar, size, workDir, project, template, fps } = input;
  const { data } = avatar;
  const rig = data.reference.rig;
  const geometries = layoutAvatar({ width: data.width, height: data.height, rig }, template, project, size);
  const masks = geometries.some((g) => g.cutout) ? await clipMasks(avatar, signal, (f) => report(0.8 * f)) : undefined;
  const reference = await decodeImage(join(avatar.dir, REFERENCE_FILE));
  const region = mouthRegion(rig, data.width, data.height);
  const poses = clipPoses(input.frames);
  const backgrounds: Background[] = project.scenes.map((scene) => scene.background ?? template.background);

  // Per geometry, the shape its frames are cut to (none: the frame's own alpha, or opaque).
  const shapes: (string | undefined)[] = [];
  const rings: (string | undefined)[] = [];
  for (const [i, geometry] of geometries.entries()) {
    const { width, height } = geometry.view;
    if (geometry.layout === 'bubble') {
      const shape = bubbleShape(width);
      shapes.push(join(workDir, `clip-shape-${i}.png`));
      rings.push(join(workDir, `clip-ring-${i}.png`));
      await encodePng(greyImage(width, height, shape.coverage), shapes[i]!);
      await encodePng(greyImage(width, height, (x, y) => shape.coverage(x, y) * shape.ringAmount(x, y)), rings[i]!);
    } else if (!geometry.cutout && geometry.layout !== 'full') {
      shapes.push(join(workDir, `clip-shape-${i}.png`));
      rings.push(undefined);
      await encodePng(greyImage(width, height, roundedCorners(width, height)), shapes[i]!);
    } else {
      shapes.push(undefined);
      rings.push(undefined);
    }
  }
  const lipSync = input.wav2lip
    ? await wav2lipClipFrames({ model: input.wav2lip, avatar, reference, frames: poses.length, fps, wavPath: input.timeline.wavPath, signal })
    : undefined;
  report(1);

  const emit = (write: (frame: Uint8Array) => Promise<void>) => (frame: Uint8Array, index: number) => write(masks ? withAlpha(frame, masks.frame(index)) : frame);
  const inputArgs = ['-f', 'rawvideo', '-pix_fmt', masks ? 'rgba' : 'rgb24', '-s', `${data.width}x${data.height}`, '-framerate', String(fps), '-i', 'pipe:0'];
  geometries.forEach((_, i) => {
    if (shapes[i]) inputArgs.push('-i', shapes[i]!);
    if (rings[i]) inputArgs.push('-i', rings[i]!);
  });
  const brand = brandPrimary(template, project).slice(1);
  return {
    backgrounds,
    geometries,
    engine: lipSync ? { name: 'wav2lip', provider: lipSync.provider } : { name: 'warp', provider: 'js-workers' },
    overlay: {
      inputArgs,
      overlay: ([clip, ...rest], base, out) => {
        const parts = [`[${clip}:v]split=${geometries.length}${geometries.map((_, i) => `[c${i}]`).join('')}`];
        let next = 0;
        let current = base;
        geometries.forEach((geometry, i) => {
          const { view, scale, at } = geometry;
          const enable = enableOption(geometry.scenes, input.timeline);
          const label = i === geometries.length - 1 ? out : `avatar${i}`;
          const fit = `scale=${Math.round(data.width * scale)}:${Math.round(data.height * scale)}:flags=bicubic,crop=${view.width}:${view.height}:${view.x}:${view.y}`;
          const shape = shapes[i] ? rest[next++] : undefined;
          const ring = rings[i] ? rest[next++] : undefined;
          if (shape !== undefined) {
            parts.push(`[${shape}:v]format=gray,loop=loop=-1:size=1:start=0[cm${i}]`, `[c${i}]${fit},format=yuv420p[cf${i}]`, `[cf${i}][cm${i}]alphamerge[ca${i}]`);
          } else {
            parts.push(`[c${i}]${fit},format=${geometry.cutout ? 'yuva420p' : 'yuv420p'}[ca${i}]`);
          }
          const overlaid = ring === undefined ? label : `ringless${i}`;
          parts.push(`[${current}][ca${i}]overlay=x=${at.x}:y=${at.y}:format=yuv420:eof_action=repeat:shortest=0${enable}[${overlaid}]`);
          if (ring !== undefined) {
            parts.push(
              `color=c=0x${brand}:s=${view.width}x${view.height}:r=${fps},format=yuv420p[rc${i}]`,
              `[${ring}:v]format=gray,loop=loop=-1:size=1:start=0[rm${i}]`,
              `[rc${i}][rm${i}]alphamerge[ra${i}]`,
              `[${overlaid}][ra${i}]overlay=x=${at.x}:y=${at.y}:format=yuv420:eof_action=repeat:shortest=0${enable}[${label}]`,
            );
          }
          current = label;
        });
        return parts.join(';');
      },
      feed: lipSync
        ? (write, from = 0) => lipSync.feed(emit(write), from)
        : async (write, from = 0) => {
            const send = emit(write);
            const warper = new FrameWarper(reference, rig, region);
            // Output frame `from` is where the back-and-forth playback is at that time.
            const frames = pingPongFrames(join(avatar.dir, PROXY_FILE), data, data.frameCount, poses.length, signal, from);
            const referencePoints = data.reference.points;
            try {
              await warper.run(
                poses.slice(from),
                async (patch) => {
                  const next = await frames.next();
                  if (next.done) return;
                  const { index, data: frame } = next.value;
                  pasteMouth(frame, data.width, data.height, patch, region, similarity(referencePoints, data.track[index]));
                  await send(frame, index);
                },
                signal,
              );
            } finally {
              await frames.return(undefined);
              await warper.close();
            }
          },
      fingerprint: createHash('sha256')
        .update(
          JSON.stringify({
            poses,
            region,
            rig,
            proxy: await fileDigest(join(avatar.dir, PROXY_FILE)),
            reference: await fileDigest(join(avatar.dir, REFERENCE_FILE)),
            masks: masks ? await fileDigest(join(avatar.dir, MASKS_FILE)) : null,
            wav2lip: input.wav2lip && { path: input.wav2lip, file: await fileDigest(input.wav2lip) },
          }),
        )
        .digest('hex'),
    },
  };
};

/**
 * The neural engine on a clip: each frame's face, found by carrying the reference frame's face box
 * along the track, goes to the model with the reference face and the speech's mel window, and the
 * generated lower face is pasted back into that frame.
 */
async function wav2lipClipFrames(options: {
  model: string;
  avatar: { dir: string; data: ClipAvatarData };
  reference: RgbImage;
  frames: number;
  fps: number;
  wavPath: string;
  signal: AbortSignal;
}) {
  const { avatar, reference, frames, fps, signal } = options;
  const { data } = avatar;
  // Opened now so a bad model fails the stage, not the compose; a second feed (a software retry of
  // the encode) opens its own, since each feed releases the one it used.
  let opened: Awaited<ReturnType<typeof openWav2Lip>> | undefined = await openWav2Lip(options.model);
  const provider = opened.provider;
  const windows = await melWindowsOf(options.wavPath, fps, frames);
  const refBox = { ...data.reference.face, height: data.reference.face.height + 10 };
  const refCrop = cropRgb(reference.data, reference.width, reference.height, refBox);
  const boxIn = (index: number) => carryBox(refBox, similarity(data.reference.points, data.track[index]));
  return {
    provider,
    /** Output frames `from` to the last: the clip's playback and the mel windows both start where that frame is. */
    async feed(write: (frame: Uint8Array, index: number) => Promise<void>, from: number) {
      const model = opened ?? (await openWav2Lip(options.model));
      opened = undefined;
      const clip = pingPongFrames(join(avatar.dir, PROXY_FILE), data, data.frameCount, frames, signal, from);
      try {
        for (let first = from; first < frames && !signal.aborted; first += WAV2LIP_BATCH) {
          const batch: { frame: Uint8Array; index: number; box: ReturnType<typeof boxIn> }[] = [];
          for (let i = first; i < Math.min(frames, first + WAV2LIP_BATCH); i++) {
            const next = await clip.next();
            if (next.done) break;
            batch.push({ frame: next.value.data, index: next.value.index, box: boxIn(next.value.index) });
          }
          const out = await model.infer(
            batch.map(({ frame, box }, i) => ({ mel: windows[first + i], face: prepareFaceInput(cropRgb(frame, data.width, data.height, box), refCrop) })),
          );
          for (const [i, { frame, index, box }] of batch.entries()) {
            pasteBack(frame, data.width, data.height, box, out[i]);
            await write(frame, index);
          }
        }
      } finally {
        await clip.return(undefined);
        await model.release();
      }
    },
  };
}
