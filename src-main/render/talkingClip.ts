import { join } from 'node:path';
import type { Background } from '../../src-shared/project';
import { decodeImage, encodePng, type RgbImage } from '../media/image';
import { pingPongFrames } from '../media/frames';
import { FrameWarper } from '../avatars/warpWorker';
import { NEUTRAL_POSE, VISEME_POSE, type FramePose, type WarpRig } from '../avatars/warp';
import { PROXY_FILE, REFERENCE_FILE, type ClipAvatarData } from '../avatars/prepare';
import type { Point } from '../avatars/faces';
import { perScene } from './compose';
import { WAV2LIP_BATCH, layoutPhoto, melWindowsOf, type TalkingPhotoInput, type TalkingPhotoOutput } from './talkingPhoto';
import { cropRgb, openWav2Lip, pasteBack, prepareFaceInput } from '../lipsync/wav2lip';
import type { AvatarFrame } from './stages';
import type { Stage } from './stage';

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

/** A card's rounded corners as a grey mask. */
function roundedMask(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const radius = Math.round(height * 0.035);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = Math.max(radius - x, 0, x - (width - 1 - radius));
      const dy = Math.max(radius - y, 0, y - (height - 1 - radius));
      const a = Math.round(255 * Math.min(1, Math.max(0, radius - Math.hypot(dx, dy) + 0.5)));
      data.set([a, a, a], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

export interface TalkingClipInput extends Omit<TalkingPhotoInput, 'avatar'> {
  avatar: { dir: string; data: ClipAvatarData };
}

/**
 * The talking clip: the user's clip plays back and forth under the speech, and in every frame the
 * lower face is replaced by the reference frame's, warped to the mouth shape and aligned to where
 * the face is in that frame. The frames stream raw into the compose run.
 */
export const talkingClipStage: Stage<TalkingClipInput, Pick<TalkingPhotoOutput, 'backgrounds' | 'overlay' | 'engine'>> = async (input, { signal, report }) => {
  const { avatar, size, workDir, project, template } = input;
  const { data } = avatar;
  const rig = data.reference.rig;
  const layout = layoutPhoto({ width: data.width, height: data.height, rig }, template, project, size);
  const reference = await decodeImage(join(avatar.dir, REFERENCE_FILE));
  const region = mouthRegion(rig, data.width, data.height);
  const poses = clipPoses(input.frames);
  const backgrounds: Background[] = project.scenes.map((scene) => scene.background ?? template.background);
  const sw = Math.round(data.width * layout.scale);
  const sh = Math.round(data.height * layout.scale);
  const maskPath = join(workDir, 'clip-mask.png');
  if (layout.card) await encodePng(roundedMask(layout.view.width, layout.view.height), maskPath);
  const fit = `scale=${sw}:${sh}:flags=bicubic,crop=${layout.view.width}:${layout.view.height}:${layout.view.x}:${layout.view.y},format=yuv420p`;
  const lipSync = input.wav2lip
    ? await wav2lipClipFrames({ model: input.wav2lip, avatar, reference, frames: poses.length, fps: input.fps, wavPath: input.timeline.wavPath, signal })
    : undefined;
  report(1);
  return {
    backgrounds,
    engine: lipSync ? { name: 'wav2lip', provider: lipSync.provider } : { name: 'warp', provider: 'js-workers' },
    overlay: {
      inputArgs: [
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${data.width}x${data.height}`, '-r', String(input.fps), '-i', 'pipe:0'],
        ...(layout.card ? ['-i', maskPath] : []),
      ],
      overlay: ([clip, mask], base, out) =>
        (layout.card ? `[${mask}:v]format=gray,loop=loop=-1:size=1:start=0[mask];[${clip}:v]${fit}[clip];[clip][mask]alphamerge[avatar];` : `[${clip}:v]${fit}[avatar];`) +
        `[${base}][avatar]overlay=x='${perScene(layout.at.map((at) => at.x), input.timeline)}':y='${perScene(layout.at.map((at) => at.y), input.timeline)}':format=yuv420:eof_action=repeat:shortest=0[${out}]`,
      feed: lipSync
        ? (write) => lipSync.feed(write)
        : async (write) => {
            const warper = new FrameWarper(reference, rig, region);
            const frames = pingPongFrames(join(avatar.dir, PROXY_FILE), data, data.frameCount, poses.length, signal);
            const from = data.reference.points;
            try {
              await warper.run(
                poses,
                async (patch) => {
                  const next = await frames.next();
                  if (next.done) return;
                  const { index, data: frame } = next.value;
                  pasteMouth(frame, data.width, data.height, patch, region, similarity(from, data.track[index]));
                  await write(frame);
                },
                signal,
              );
            } finally {
              await frames.return(undefined);
              await warper.close();
            }
          },
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
  const model = await openWav2Lip(options.model);
  const windows = await melWindowsOf(options.wavPath, fps, frames);
  const refBox = { ...data.reference.face, height: data.reference.face.height + 10 };
  const refCrop = cropRgb(reference.data, reference.width, reference.height, refBox);
  const boxIn = (index: number) => carryBox(refBox, similarity(data.reference.points, data.track[index]));
  return {
    provider: model.provider,
    async feed(write: (frame: Uint8Array) => Promise<void>) {
      const clip = pingPongFrames(join(avatar.dir, PROXY_FILE), data, data.frameCount, frames, signal);
      try {
        for (let first = 0; first < frames && !signal.aborted; first += WAV2LIP_BATCH) {
          const batch: { frame: Uint8Array; box: ReturnType<typeof boxIn> }[] = [];
          for (let i = first; i < Math.min(frames, first + WAV2LIP_BATCH); i++) {
            const next = await clip.next();
            if (next.done) break;
            batch.push({ frame: next.value.data, box: boxIn(next.value.index) });
          }
          const out = await model.infer(
            batch.map(({ frame, box }, i) => ({ mel: windows[first + i], face: prepareFaceInput(cropRgb(frame, data.width, data.height, box), refCrop) })),
          );
          for (const [i, { frame, box }] of batch.entries()) {
            pasteBack(frame, data.width, data.height, box, out[i]);
            await write(frame);
          }
        }
      } finally {
        await clip.return(undefined);
        await model.release();
      }
    },
  };
}
