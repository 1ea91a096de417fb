import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Background, Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { decodeImage, encodePng, type RgbImage } from '../media/image';
import { FrameWarper } from '../avatars/warpWorker';
import { melSpectrogram, melWindows, resampleTo16k } from '../lipsync/mel';
import { cropRgb, openWav2Lip, pasteBack, prepareFaceInput } from '../lipsync/wav2lip';
import { decodeWav } from '../voices/wav';
import { NEUTRAL_POSE, VISEME_POSE, patchRect, scaleRig, type FramePose, type WarpRig } from '../avatars/warp';
import { PHOTO_FILE, type PhotoAvatarData } from '../avatars/prepare';
import { perScene, renderBackground, type AvatarOverlay } from './compose';
import type { AvatarFrame, Timeline } from './stages';
import type { Stage } from './stage';

const EYE_BLINK = { open: 0, half: 0.55, closed: 1 } as const;

/**
 * One pose per frame: mouth shapes eased into each other (lips do not snap), blinks, and a slow
 * head motion of two unrelated periods so it never visibly repeats.
 */
export function posesFromFrames(frames: AvatarFrame[], fps: number, rig: WarpRig): FramePose[] {
  const targets = frames.map((f) => VISEME_POSE[f.mouth]);
  const eased = targets.map((_, i) => {
    const w = [0.25, 0.5, 0.25];
    const pose = { open: 0, wide: 0, round: 0 };
    for (let k = -1; k <= 1; k++) {
      const t = targets[Math.min(targets.length - 1, Math.max(0, i + k))];
      pose.open += t.open * w[k + 1];
      pose.wide += t.wide * w[k + 1];
      pose.round += t.round * w[k + 1];
    }
    // A closed target (m, b, p, rest) still closes the lips fully on its own frame.
    if (targets[i].open === 0) pose.open = Math.min(pose.open, 0.15);
    return pose;
  });
  return eased.map((mouth, i) => {
    const t = i / fps;
    return {
      ...NEUTRAL_POSE,
      ...mouth,
      blink: EYE_BLINK[frames[i].eyes],
      headX: rig.faceWidth * 0.012 * Math.sin((2 * Math.PI * t) / 5.3),
      headY: rig.faceHeight * 0.006 * Math.sin((2 * Math.PI * t) / 3.7 + 1),
      headRoll: 0.014 * Math.sin((2 * Math.PI * t) / 6.1 + 2),
    };
  });
}

export interface Layout {
  /** Scale from the prepared photo to the output. */
  scale: number;
  /** The region of the scaled photo that is shown, and where its top-left lands per scene. */
  view: { x: number; y: number; width: number; height: number };
  at: { x: number; y: number }[];
  card: boolean;
}

const even = (v: number) => Math.round(v / 2) * 2;

/**
 * Where the photo goes: 'full' fills the frame, cropped around the face; the other layouts show a
 * portrait card of head and shoulders beside the background, left or right per scene.
 */
export function layoutPhoto(data: { width: number; height: number; rig: WarpRig }, template: Template, project: Project, size: { width: number; height: number }): Layout {
  const mode = project.scenes[0].avatarLayout ?? template.avatar.layout;
  const { rig } = data;
  if (mode === 'full') {
    const scale = Math.max(size.width / data.width, size.height / data.height);
    const sw = Math.round(data.width * scale);
    const sh = Math.round(data.height * scale);
    const x = Math.min(sw - size.width, Math.max(0, even(rig.faceCentre.x * scale - size.width / 2)));
    const y = Math.min(sh - size.height, Math.max(0, even(rig.faceCentre.y * scale - size.height * 0.42)));
    return { scale, view: { x, y, ...size }, at: project.scenes.map(() => ({ x: 0, y: 0 })), card: false };
  }
  const patch = patchRect(rig, data);
  const height = even(Math.min(0.9, template.avatar.scale) * size.height);
  const width = even(height * 0.75);
  const regionH = Math.min(data.height, Math.max(patch.height * 1.25, (patch.width * 1.25) / 0.75));
  const scale = height / regionH;
  const sw = Math.round(data.width * scale);
  const sh = Math.round(data.height * scale);
  const cx = (patch.x + patch.width / 2) * scale;
  const cy = (patch.y + patch.height / 2) * scale;
  const view = {
    x: Math.min(Math.max(0, sw - width), Math.max(0, even(cx - width / 2))),
    y: Math.min(Math.max(0, sh - height), Math.max(0, even(cy - height / 2))),
    width: Math.min(width, sw),
    height: Math.min(height, sh),
  };
  const margin = even(size.width * 0.06);
  const at = project.scenes.map((scene) => {
    const side = scene.avatarLayout ?? mode;
    const x = side === 'left' ? margin : side === 'full' ? even((size.width - view.width) / 2) : size.width - margin - view.width;
    return { x, y: even((size.height - view.height) / 2) };
  });
  return { scale, view, at, card: true };
}

/** Paste the card (rounded corners, soft shadow) on a background picture. */
function pasteCard(background: RgbImage, photo: RgbImage, view: Layout['view'], at: { x: number; y: number }): RgbImage {
  const out = new Uint8Array(background.data);
  const radius = Math.round(view.height * 0.035);
  const shadow = Math.round(view.height * 0.03);
  const inside = (x: number, y: number, grow: number) => {
    const dx = Math.max(radius - x - grow, 0, x - (view.width - 1 - radius) - grow);
    const dy = Math.max(radius - y - grow, 0, y - (view.height - 1 - radius) - grow);
    return radius + grow - Math.hypot(dx, dy);
  };
  for (let y = -shadow; y < view.height + shadow * 2; y++) {
    const oy = at.y + y;
    if (oy < 0 || oy >= background.height) continue;
    for (let x = -shadow; x < view.width + shadow; x++) {
      const ox = at.x + x;
      if (ox < 0 || ox >= background.width) continue;
      const o = (oy * background.width + ox) * 3;
      const coverage = Math.min(1, Math.max(0, inside(x, y, 0) + 0.5));
      if (coverage < 1) {
        const dark = 0.45 * Math.min(1, Math.max(0, (inside(x, y - shadow * 0.5, shadow) / shadow)));
        for (let c = 0; c < 3; c++) out[o + c] *= 1 - dark;
      }
      if (coverage > 0) {
        const p = ((view.y + y) * photo.width + view.x + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] += (photo.data[p + c] - out[o + c]) * coverage;
      }
    }
  }
  return { width: background.width, height: background.height, data: out };
}

export interface TalkingPhotoInput {
  avatar: { dir: string; data: PhotoAvatarData };
  /** The Wav2Lip-compatible model to animate the mouth with, else the landmark warp. */
  wav2lip?: string;
  frames: AvatarFrame[];
  fps: number;
  project: Project;
  template: Template;
  timeline: Timeline;
  size: { width: number; height: number };
  workDir: string;
}

export interface TalkingPhotoOutput {
  /** Which engine animated the mouth, and the onnxruntime provider it ran on (the warp runs in JS workers). */
  engine: { name: 'warp' | 'wav2lip'; provider: string };
  /** Per scene: the photo (or its card on the scene's background) as the still under the patch. */
  backgrounds: Background[];
  overlay: AvatarOverlay;
  /** What the overlay's feed warps: the picture at working scale, its rig, the patch and a pose per frame. */
  warp: { source: RgbImage; rig: WarpRig; patch: { x: number; y: number; width: number; height: number }; poses: FramePose[] };
}

/**
 * Most pixels a frame's warp may touch. Above it the patch is warped at a lower scale and ffmpeg
 * enlarges it (feathered into the still, so no edge shows): a 2160p close-up must not cost 40x
 * a 720p one. At this size two workers keep the mouth-shape warp above 30 frames per second here.
 */
export const PATCH_PIXEL_BUDGET = 320_000;
const FEATHER = 0.08;

/** A grey mask, opaque inside and fading to nothing over the patch's outer edge. */
function featherMask(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const band = Math.max(2, Math.round(Math.min(width, height) * FEATHER));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.min(x, y, width - 1 - x, height - 1 - y) / band;
      const a = d >= 1 ? 255 : Math.round(255 * d * d * (3 - 2 * d));
      data.set([a, a, a], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/**
 * The talking photo: the photo, scaled once for the output, is the still; only the patch around
 * the face changes, warped per frame in worker threads and streamed raw into the compose run.
 */
export const talkingPhotoStage: Stage<TalkingPhotoInput, TalkingPhotoOutput> = async (input, { signal, report }) => {
  const { avatar, size, workDir, fps } = input;
  const { data } = avatar;
  const layout = layoutPhoto(data, input.template, input.project, size);
  const photoPath = join(avatar.dir, PHOTO_FILE);
  const scaled = (scale: number) => ({ width: Math.round(data.width * scale), height: Math.round(data.height * scale) });
  const outSize = scaled(layout.scale);
  const photo = await decodeImage(photoPath, { size: outSize });
  report(0.03);

  const backgrounds: Background[] = [];
  if (!layout.card) {
    const path = join(workDir, 'photo-still.png');
    await encodePng(cropImage(photo, layout.view), path);
    input.project.scenes.forEach(() => backgrounds.push({ type: 'image', path }));
  } else {
    const made = new Map<string, string>();
    for (const [i, scene] of input.project.scenes.entries()) {
      const background = scene.background ?? input.template.background;
      const key = JSON.stringify([background, layout.at[i]]);
      if (!made.has(key)) {
        const plain = join(workDir, `card-background-${made.size}.png`);
        await renderBackground(background, size.width, size.height, plain, signal);
        const path = join(workDir, `card-${made.size}.png`);
        await encodePng(pasteCard(await decodeImage(plain), photo, layout.view, layout.at[i]), path);
        made.set(key, path);
      }
      backgrounds.push({ type: 'image', path: made.get(key)! });
    }
  }
  report(0.08);

  // The patch, in output pixels, kept inside what is shown.
  const outRig = scaleRig(data.rig, outSize.width / data.width, outSize.height / data.height);
  const full = patchRect(outRig, outSize);
  const x0 = Math.max(full.x, layout.view.x);
  const y0 = Math.max(full.y, layout.view.y);
  const x1 = Math.min(full.x + full.width, layout.view.x + layout.view.width);
  const y1 = Math.min(full.y + full.height, layout.view.y + layout.view.height);
  // Warp at the output's scale when the patch is small enough, else at a lower one.
  const shrink = Math.min(1, Math.sqrt(PATCH_PIXEL_BUDGET / ((x1 - x0) * (y1 - y0))));
  const workSize = scaled(layout.scale * shrink);
  const work = shrink === 1 ? photo : await decodeImage(photoPath, { size: workSize });
  const rig = scaleRig(data.rig, workSize.width / data.width, workSize.height / data.height);
  const patch = {
    x: Math.floor((x0 * shrink) / 2) * 2,
    y: Math.floor((y0 * shrink) / 2) * 2,
    width: Math.floor(((x1 - x0) * shrink) / 2) * 2,
    height: Math.floor(((y1 - y0) * shrink) / 2) * 2,
  };
  // Where the patch lands in the output, and its size there.
  const place = {
    x: Math.round(patch.x / shrink),
    y: Math.round(patch.y / shrink),
    width: Math.min(x1, Math.round((patch.x + patch.width) / shrink)) - Math.round(patch.x / shrink),
    height: Math.min(y1, Math.round((patch.y + patch.height) / shrink)) - Math.round(patch.y / shrink),
  };
  const maskPath = join(workDir, 'avatar-mask.png');
  await encodePng(featherMask(place.width, place.height), maskPath);

  const poses = posesFromFrames(input.frames, fps, rig);
  const lipSync = input.wav2lip
    ? await wav2lipFrames({ model: input.wav2lip, work, data, patch, frames: poses.length, fps, wavPath: input.timeline.wavPath, signal })
    : undefined;
  report(1);
  return {
    backgrounds,
    overlay: {
      inputArgs: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${patch.width}x${patch.height}`, '-r', String(fps), '-i', 'pipe:0', '-i', maskPath],
      // The mask is decoded once and repeated in memory.
      overlay: ([patchInput, maskInput], base, out) =>
        `[${maskInput}:v]format=gray,loop=loop=-1:size=1:start=0[mask];` +
        `[${patchInput}:v]scale=${place.width}:${place.height}:flags=bicubic,format=yuv420p[patch];[patch][mask]alphamerge[avatar];` +
        `[${base}][avatar]overlay=x='${perScene(layout.at.map((at) => at.x + place.x - layout.view.x), input.timeline)}':y='${perScene(layout.at.map((at) => at.y + place.y - layout.view.y), input.timeline)}':format=yuv420:eof_action=repeat:shortest=0[${out}]`,
      feed: lipSync
        ? (write) => lipSync.feed(write)
        : async (write) => {
            const warper = new FrameWarper(work, rig, patch);
            try {
              await warper.run(poses, write, signal);
            } finally {
              await warper.close();
            }
          },
    },
    warp: { source: work, rig, patch, poses },
    engine: lipSync ? { name: 'wav2lip', provider: lipSync.provider } : { name: 'warp', provider: 'js-workers' },
  };
};

/** Frames per inference call: large enough to keep a GPU busy, small enough to stream. */
export const WAV2LIP_BATCH = 32;

/** The speech's mel window for each video frame, as Wav2Lip-family models take it. */
export async function melWindowsOf(wavPath: string, fps: number, frames: number): Promise<Float32Array[]> {
  const { samples, sampleRate } = decodeWav(await readFile(wavPath));
  const { mel, frames: melFrames } = melSpectrogram(resampleTo16k(samples, sampleRate));
  return melWindows(mel, melFrames, fps, frames);
}

/**
 * The neural engine: each frame's lower face comes from a Wav2Lip-compatible model fed the
 * photo's face and the speech's mel window, pasted back into the patch with a feathered edge.
 */
async function wav2lipFrames(options: {
  model: string;
  work: RgbImage;
  data: PhotoAvatarData;
  patch: { x: number; y: number; width: number; height: number };
  frames: number;
  fps: number;
  wavPath: string;
  signal: AbortSignal;
}) {
  const { work, data, patch, frames, fps, signal } = options;
  const model = await openWav2Lip(options.model);
  const windows = await melWindowsOf(options.wavPath, fps, frames);
  // Wav2Lip's own crop: the detector's box with 10 px more below the chin, in working pixels.
  const s = work.width / data.width;
  const box = { x: data.face.x * s, y: data.face.y * s, width: data.face.width * s, height: (data.face.height + 10) * s };
  const face = prepareFaceInput(cropRgb(work.data, work.width, work.height, box), cropRgb(work.data, work.width, work.height, box));
  const still = new Uint8Array(patch.width * patch.height * 3);
  for (let y = 0; y < patch.height; y++) {
    const from = ((patch.y + y) * work.width + patch.x) * 3;
    still.set(work.data.subarray(from, from + patch.width * 3), y * patch.width * 3);
  }
  const inPatch = { x: box.x - patch.x, y: box.y - patch.y, width: box.width, height: box.height };
  return {
    provider: model.provider,
    async feed(write: (frame: Uint8Array) => Promise<void>) {
      try {
        for (let first = 0; first < frames && !signal.aborted; first += WAV2LIP_BATCH) {
          const count = Math.min(WAV2LIP_BATCH, frames - first);
          const out = await model.infer(Array.from({ length: count }, (_, i) => ({ mel: windows[first + i], face })));
          for (const generated of out) {
            const frame = new Uint8Array(still);
            pasteBack(frame, patch.width, patch.height, inPatch, generated);
            await write(frame);
          }
        }
      } finally {
        await model.release();
      }
    },
  };
}

function cropImage(image: RgbImage, rect: { x: number; y: number; width: number; height: number }): RgbImage {
  const data = new Uint8Array(rect.width * rect.height * 3);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 3;
    data.set(image.data.subarray(from, from + rect.width * 3), y * rect.width * 3);
  }
  return { width: rect.width, height: rect.height, data };
}
