import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { ffmpegPath, ffprobe } from '../media/ffmpeg';
import type { RgbImage } from '../media/image';
import {
  DEFAULT_LANDMARK_MODEL,
  DEFAULT_MIN_SCORE,
  detectFaces,
  findLandmarks,
  landmarksFromPoints,
  type FaceBox,
  type FaceLandmarks,
  type LandmarkModel,
  type Point,
} from './faces';

export interface ClipFrame {
  face: FaceBox;
  landmarks: FaceLandmarks;
  /** No single face was found in this frame: face and landmarks are interpolated (and face.score is 0). */
  filled: boolean;
}

/** A talking-head clip, frame by frame, in the pixels of the decoded (possibly scaled) frames. */
export interface ClipAnalysis {
  fps: number;
  width: number;
  height: number;
  frameCount: number;
  duration: number;
  frames: ClipFrame[];
}

export const MIN_CLIP_SECONDS = 3;
export const MAX_CLIP_SECONDS = 30;
const MAX_FPS = 30;
/** Frames without exactly one face may be at most this share of the clip; shorter gaps are filled. */
const MAX_BAD_FRAME_SHARE = 0.1;
/** Faces are searched with a lower threshold than photos: a blurred frame of a face seen a frame ago still counts. */
const CLIP_MIN_SCORE = 0.7;
/** Between consecutive frames, a face centre moving more than this share of the face size is a cut. */
const CUT_FACE_JUMP = 0.25;

/**
 * Probe, decode and track the face of a talking-head clip; refuses (BAD_INPUT, naming the file)
 * anything that is not one continuous 3-30 s shot of one face. Frames stream through one at a
 * time; only the per-frame landmarks are kept.
 */
export async function analyseClip(
  path: string,
  options: { signal?: AbortSignal; report?: (fraction: number) => void; maxSide?: number; model?: LandmarkModel } = {},
): Promise<ClipAnalysis> {
  const { signal, report } = options;
  const name = basename(path);
  const model = options.model ?? DEFAULT_LANDMARK_MODEL;
  if (signal?.aborted) throw cancelled();
  const clip = await probeClip(path, name, options.maxSide ?? 720);
  if (signal?.aborted) throw cancelled();

  const { width, height, fps } = clip;
  const expectedFrames = Math.max(1, Math.round((clip.duration ?? MAX_CLIP_SECONDS) * fps));
  const tracked: Tracked[] = [];
  const changes: number[] = [];
  let previousThumb: Float32Array | undefined;
  // Refusals come as soon as they are certain, so a bad 30 s clip does not cost a full analysis.
  const allowedBad = MAX_BAD_FRAME_SHARE * expectedFrames;

  await decodeFrames(path, clip, signal, async (frame) => {
    const faces = await detectFaces(frame, { minScore: CLIP_MIN_SCORE });
    const thumb = thumbnail(frame);
    changes.push(previousThumb ? meanAbsDiff(thumb, previousThumb) : 0);
    previousThumb = thumb;
    const face = faces[0];
    // A second face counts only when it is a clear one; the first may be weaker in a blurred frame.
    const others = faces.slice(1).filter((f) => f.score >= DEFAULT_MIN_SCORE).length;
    if (!face) tracked.push({ kind: 'none' });
    else if (others > 0) tracked.push({ kind: 'many' });
    else tracked.push({ kind: 'face', face, landmarks: await findLandmarks(frame, face, { model }) });

    const t = tracked.length - 1;
    if (isCut(tracked, changes, t)) {
      throw new AppError(
        ErrorCode.BadInput,
        `${name}: the shot changes at ${(t / fps).toFixed(1)} s (a cut or a jump in the picture); use one continuous shot of one person`,
      );
    }
    if (badFrames(tracked) > allowedBad) refuseMissingFaces(tracked, fps, name);
    if (clip.duration === undefined && tracked.length > (MAX_CLIP_SECONDS + 0.05) * fps) refuseDuration(tracked.length / fps, name);
    report?.(Math.min(0.99, tracked.length / expectedFrames));
  });

  const frameCount = tracked.length;
  if (frameCount === 0) {
    throw new AppError(ErrorCode.BadInput, `${name}: no frames could be decoded; the file is damaged, export it again as MP4 or MOV`);
  }
  if (clip.duration === undefined) refuseDuration(frameCount / fps, name);
  // The clip may have been shorter than its probed duration.
  if (badFrames(tracked) > MAX_BAD_FRAME_SHARE * frameCount) refuseMissingFaces(tracked, fps, name);

  const frames = smooth(fillGaps(tracked), model).map((frame, t) => ({ ...frame, filled: tracked[t]!.kind !== 'face' }));
  report?.(1);
  return { fps, width, height, frameCount, duration: frameCount / fps, frames };
}

interface ClipProbe {
  width: number;
  height: number;
  fps: number;
  /** The fps filter's argument: the clip's own rate as ffmpeg wrote it, or the cap. */
  rate: string;
  /** Seconds, when the container says. */
  duration?: number;
}

/** The fields of ffprobe's stream JSON this module reads beyond ProbeResult's. */
interface VideoStreamProbe {
  avg_frame_rate?: string;
  r_frame_rate?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

async function probeClip(path: string, name: string, maxSide: number): Promise<ClipProbe> {
  let probe;
  try {
    probe = await ffprobe(path);
  } catch {
    throw new AppError(ErrorCode.BadInput, `${name}: not a video, or the file is damaged; use an MP4, MOV or WebM recording of one person talking`);
  }
  const stream = probe.streams.find((s) => s.codec_type === 'video');
  if (!stream) {
    throw new AppError(ErrorCode.BadInput, `${name}: the file has no video stream; use a video recording of one person talking to the camera`);
  }
  if (!stream.width || !stream.height) {
    throw new AppError(ErrorCode.BadInput, `${name}: not a video, or the file is damaged; use an MP4, MOV or WebM recording of one person talking`);
  }
  const formatName = probe.format.format_name ?? '';
  if (formatName.includes('image2') || formatName.endsWith('_pipe')) {
    throw new AppError(ErrorCode.BadInput, `${name}: this is a still image, not a video; add it as a photo avatar, or use a video recording`);
  }
  const probed = Number(stream.duration ?? probe.format.duration);
  // WebM straight from a browser's recorder often has no duration; it is then measured while decoding.
  const duration = Number.isFinite(probed) && probed > 0 ? probed : undefined;
  if (duration !== undefined) refuseDuration(duration, name);

  const extra = stream as VideoStreamProbe;
  const ownRate = [extra.avg_frame_rate, extra.r_frame_rate].map(parseRate).find((r) => r !== undefined);
  const capped = ownRate === undefined || ownRate.value > MAX_FPS;
  const fps = capped ? MAX_FPS : ownRate.value;
  const rate = capped ? String(MAX_FPS) : ownRate.text;

  // ffmpeg turns phone videos upright by their rotation metadata, so a quarter turn swaps the sides.
  const rotation = Number(extra.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? extra.tags?.rotate ?? 0);
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const [w, h] = quarter ? [stream.height, stream.width] : [stream.width, stream.height];
  const scale = Math.min(1, maxSide / Math.max(w, h));
  return { width: Math.max(2, Math.round(w * scale)), height: Math.max(2, Math.round(h * scale)), fps, rate, duration };
}

function refuseDuration(duration: number, name: string): void {
  // A few milliseconds either way are container rounding, not a shorter or longer clip.
  if (duration >= MIN_CLIP_SECONDS - 0.05 && duration <= MAX_CLIP_SECONDS + 0.05) return;
  throw new AppError(
    ErrorCode.BadInput,
    `${name}: the clip is ${duration.toFixed(1)} s long; clips must be ${MIN_CLIP_SECONDS} to ${MAX_CLIP_SECONDS} s long, ${duration < MIN_CLIP_SECONDS ? 'use a longer recording' : `trim it to ${MAX_CLIP_SECONDS} s or less`}`,
  );
}

function parseRate(text: string | undefined): { value: number; text: string } | undefined {
  const match = /^(\d+)(?:\/(\d+))?$/.exec(text ?? '');
  if (!match) return undefined;
  const value = Number(match[1]) / Number(match[2] ?? 1);
  return Number.isFinite(value) && value > 0 && value <= 240 ? { value, text: text! } : undefined;
}

/** Decode frames one at a time as rgb24, waiting for each to be handled before reading more. */
async function decodeFrames(path: string, clip: ClipProbe, signal: AbortSignal | undefined, onFrame: (frame: RgbImage) => Promise<void>): Promise<void> {
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error', '-i', path,
    '-map', '0:v:0', '-an', '-sn',
    '-vf', `fps=${clip.rate},scale=${clip.width}:${clip.height}:flags=area`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => reject(new AppError(ErrorCode.Ffmpeg, `could not start ${ffmpegPath()}: ${error.message}`)));
    child.on('close', (code) => resolve(code));
  });
  // Awaited only after the last frame; an early throw must not leave it rejecting unheard.
  exited.catch(() => undefined);
  const kill = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });

  const frameBytes = clip.width * clip.height * 3;
  // One buffer, reused: each frame is fully handled before the next bytes are read.
  const frame: RgbImage = { width: clip.width, height: clip.height, data: new Uint8Array(frameBytes) };
  let filled = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - at);
        frame.data.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === frameBytes) {
          filled = 0;
          if (signal?.aborted) throw cancelled();
          await onFrame(frame);
        }
      }
    }
    const code = await exited;
    if (signal?.aborted) throw cancelled();
    if (code !== 0) {
      throw new AppError(ErrorCode.BadInput, `${basename(path)}: the video could not be decoded to the end, the file is damaged; export it again as MP4`);
    }
  } catch (error) {
    if (signal?.aborted) throw cancelled();
    throw error;
  } finally {
    signal?.removeEventListener('abort', kill);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function cancelled(): AppError {
  return new AppError(ErrorCode.Cancelled, 'Cancelled.');
}

type Tracked = { kind: 'none' } | { kind: 'many' } | { kind: 'face'; face: FaceBox; landmarks: FaceLandmarks };

const THUMB_COLS = 16;
const THUMB_ROWS = 9;

/** Mean brightness of a 16x9 grid of blocks: enough to see a cut, blind to noise and small motion. */
function thumbnail(frame: RgbImage): Float32Array {
  const sums = new Float32Array(THUMB_COLS * THUMB_ROWS);
  const counts = new Float32Array(THUMB_COLS * THUMB_ROWS);
  const { width, height, data } = frame;
  for (let y = 0; y < height; y += 2) {
    const row = Math.min(THUMB_ROWS - 1, Math.floor((y * THUMB_ROWS) / height));
    for (let x = 0; x < width; x += 2) {
      const cell = row * THUMB_COLS + Math.min(THUMB_COLS - 1, Math.floor((x * THUMB_COLS) / width));
      const i = (y * width + x) * 3;
      sums[cell]! += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      counts[cell]! += 1;
    }
  }
  for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! / Math.max(1, counts[i]!);
  return sums;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Mean block change (0-255) that is always a cut, and how far above the clip's usual change a spike must be. */
const CUT_CHANGE_MIN = 12;
const CUT_CHANGE_RATIO = 6;

/** Whether frame t starts a new shot: the picture jumps far beyond its usual change, or the face jumps. */
function isCut(tracked: Tracked[], changes: number[], t: number): boolean {
  if (t === 0) return false;
  const earlier = changes.slice(1, t).sort((a, b) => a - b);
  const usual = earlier.length ? earlier[Math.floor(earlier.length / 2)]! : 0;
  if (changes[t]! > CUT_CHANGE_MIN && changes[t]! > CUT_CHANGE_RATIO * usual) return true;
  const a = tracked[t - 1]!;
  const b = tracked[t]!;
  if (a.kind !== 'face' || b.kind !== 'face') return false;
  const size = (Math.sqrt(a.face.width * a.face.height) + Math.sqrt(b.face.width * b.face.height)) / 2;
  const jump = Math.hypot(b.face.x + b.face.width / 2 - a.face.x - a.face.width / 2, b.face.y + b.face.height / 2 - a.face.y - a.face.height / 2);
  return jump > CUT_FACE_JUMP * size;
}

function badFrames(tracked: Tracked[]): number {
  return tracked.reduce((n, t) => n + (t.kind === 'face' ? 0 : 1), 0);
}

/** Throws the refusal for too many frames without exactly one face, counted so far. */
function refuseMissingFaces(tracked: Tracked[], fps: number, name: string): never {
  const none = tracked.filter((t) => t.kind === 'none').length;
  const many = tracked.filter((t) => t.kind === 'many').length;
  const seconds = (frames: number) => `${(frames / fps).toFixed(1)} s`;
  const first = seconds(tracked.findIndex((t) => t.kind !== 'face'));
  if (many > none) {
    throw new AppError(
      ErrorCode.BadInput,
      `${name}: more than one face in ${many} frames (from ${first}); use a clip with one person in view`,
    );
  }
  if (none === tracked.length) {
    throw new AppError(
      ErrorCode.BadInput,
      `${name}: no face found in the first ${seconds(tracked.length)} of the clip; use a clip where one face looks at the camera, well lit, all the way through`,
    );
  }
  throw new AppError(
    ErrorCode.BadInput,
    `${name}: no face found in ${none + many} frames (from ${first}), more than the ${MAX_BAD_FRAME_SHARE * 100}% of the clip that may miss; use a clip where the face stays in view and faces the camera`,
  );
}

/** Per-frame numbers: box x, y, width, height, score, the 5 keypoints, then every landmark point. */
function flatten(face: FaceBox, landmarks: FaceLandmarks): Float64Array {
  const out = new Float64Array(5 + 10 + 2 * landmarks.points.length);
  out.set([face.x, face.y, face.width, face.height, face.score]);
  face.keypoints.forEach((p, i) => out.set([p.x, p.y], 5 + 2 * i));
  landmarks.points.forEach((p, i) => out.set([p.x, p.y], 15 + 2 * i));
  return out;
}

function unflatten(values: Float64Array, model: LandmarkModel): Omit<ClipFrame, 'filled'> {
  const point = (at: number): Point => ({ x: values[at]!, y: values[at + 1]! });
  const keypoints = Array.from({ length: 5 }, (_, i) => point(5 + 2 * i));
  const points = Array.from({ length: (values.length - 15) / 2 }, (_, i) => point(15 + 2 * i));
  return {
    face: { x: values[0]!, y: values[1]!, width: values[2]!, height: values[3]!, score: values[4]!, keypoints },
    landmarks: landmarksFromPoints(model, points),
  };
}

/** Frames without exactly one face take values interpolated between the nearest good frames. */
function fillGaps(tracked: Tracked[]): Float64Array[] {
  const good = tracked.map((t) => (t.kind === 'face' ? flatten(t.face, t.landmarks) : undefined));
  const out: Float64Array[] = [];
  for (let t = 0; t < good.length; t++) {
    const here = good[t];
    if (here) {
      out.push(here);
      continue;
    }
    let before = t - 1;
    while (before >= 0 && !good[before]) before--;
    let after = t + 1;
    while (after < good.length && !good[after]) after++;
    const a = before >= 0 ? good[before] : undefined;
    const b = after < good.length ? good[after] : undefined;
    if (a && b) {
      const k = (t - before) / (after - before);
      const mixed = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) mixed[i] = a[i]! + (b[i]! - a[i]!) * k;
      mixed[4] = 0; // No detection in this frame: the score says so.
      out.push(mixed);
    } else {
      const held = Float64Array.from((a ?? b)!);
      held[4] = 0;
      out.push(held);
    }
  }
  return out;
}

/**
 * Savitzky-Golay, window 5, quadratic: removes frame-to-frame jitter of the landmarks and the box
 * while keeping a 3-4 frame lip closure, which a plain moving average of that width would blunt.
 */
const SMOOTHING = [-3, 12, 17, 12, -3].map((w) => w / 35);

function smooth(series: Float64Array[], model: LandmarkModel): Omit<ClipFrame, 'filled'>[] {
  const n = series.length;
  const half = (SMOOTHING.length - 1) / 2;
  return series.map((values, t) => {
    if (n < SMOOTHING.length) return unflatten(values, model);
    const out = new Float64Array(values.length);
    for (let k = 0; k < SMOOTHING.length; k++) {
      // Mirror at the ends of the clip.
      let s = t + k - half;
      if (s < 0) s = -s;
      if (s >= n) s = 2 * (n - 1) - s;
      const w = SMOOTHING[k]!;
      const source = series[s]!;
      for (let i = 0; i < values.length; i++) out[i]! += w * source[i]!;
    }
    out[4] = values[4]!; // The detection score is not a position.
    return unflatten(out, model);
  });
}
