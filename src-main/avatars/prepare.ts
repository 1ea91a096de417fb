import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { decodeImage, encodePng, type RgbImage } from '../media/image';
import { runFfmpeg } from '../media/ffmpeg';
import { analyseClip } from './clip';
import { resolveModel } from '../models/catalogue';
import { DEFAULT_LANDMARK_MODEL, analysePhoto, centroid, mouthOpening, type FaceBox, type Point } from './faces';
import { buildRig, type WarpRig } from './warp';
import { THUMBNAIL_FILE } from './repository';

/** Photos are kept at most this big: enough for 2160p portrait cards, small enough to warp fast. */
export const PHOTO_MAX_SIDE = 2048;
const THUMBNAIL_SIZE = 160;

export interface PhotoAvatarData {
  kind: 'photo';
  width: number;
  height: number;
  face: Pick<FaceBox, 'x' | 'y' | 'width' | 'height' | 'score'>;
  landmarkModel: string;
  rig: WarpRig;
}

/** Clips are kept at most this big on the long side: frames are read into JavaScript per render. */
export const CLIP_MAX_SIDE = 1280;
export const PROXY_FILE = 'clip.mp4';
export const PHOTO_FILE = 'photo.png';
export const REFERENCE_FILE = 'reference.png';

export interface ClipAvatarData {
  kind: 'clip';
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  landmarkModel: string;
  /** Per frame, the points the mouth is aligned by: eye centres and nose tip, smoothed. */
  track: [Point, Point, Point][];
  /** The frame whose mouth is most nearly closed: its lower face, warped, is what speaks. */
  reference: { index: number; face: Pick<FaceBox, 'x' | 'y' | 'width' | 'height'>; rig: WarpRig; points: [Point, Point, Point] };
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'];
export const CLIP_EXTENSIONS = ['.mp4', '.mov', '.m4v', '.webm', '.mkv', '.avi'];

export interface JobContext {
  signal: AbortSignal;
  report(fraction: number, message?: string): void;
}

/**
 * Fetch the face models before the first use, with progress (a no-op once they are on disk or in
 * MOUTHPIECE_MODELS), so a first import shows a download rather than seeming to hang.
 */
async function ensureFaceModels({ signal, report }: JobContext): Promise<void> {
  // The detector by kind: an active one from the registry needs no download.
  const ids = ['face-detection', DEFAULT_LANDMARK_MODEL];
  for (const [i, id] of ids.entries()) {
    await resolveModel(id, {
      signal,
      onProgress: (received, total) => report(0.02 * ((i + received / total) / ids.length), `Downloading the face models (${Math.round((100 * received) / total)}%)`),
    });
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
}

/** A square crop around the face, for the avatar's card in the library. */
function thumbnail(image: RgbImage, face: FaceBox): RgbImage {
  const side = Math.min(image.width, image.height, Math.round(Math.max(face.width, face.height) * 1.8));
  const x0 = Math.min(image.width - side, Math.max(0, Math.round(face.x + face.width / 2 - side / 2)));
  const y0 = Math.min(image.height - side, Math.max(0, Math.round(face.y + face.height / 2 - side / 2)));
  const data = new Uint8Array(THUMBNAIL_SIZE * THUMBNAIL_SIZE * 3);
  const step = side / THUMBNAIL_SIZE;
  for (let y = 0; y < THUMBNAIL_SIZE; y++) {
    for (let x = 0; x < THUMBNAIL_SIZE; x++) {
      // Box filter over the source pixels this thumbnail pixel covers.
      const sx0 = Math.floor(x0 + x * step);
      const sy0 = Math.floor(y0 + y * step);
      const sx1 = Math.max(sx0 + 1, Math.floor(x0 + (x + 1) * step));
      const sy1 = Math.max(sy0 + 1, Math.floor(y0 + (y + 1) * step));
      const sum = [0, 0, 0];
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const p = (sy * image.width + sx) * 3;
          sum[0] += image.data[p];
          sum[1] += image.data[p + 1];
          sum[2] += image.data[p + 2];
        }
      }
      const n = (sx1 - sx0) * (sy1 - sy0);
      const o = (y * THUMBNAIL_SIZE + x) * 3;
      data[o] = sum[0] / n;
      data[o + 1] = sum[1] / n;
      data[o + 2] = sum[2] / n;
    }
  }
  return { width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, data };
}

/**
 * Prepare a photo once: decode it upright and at most PHOTO_MAX_SIDE, find exactly one usable face
 * and its landmarks, measure the warp rig, and keep the photo, a thumbnail and the data in `dir`.
 */
export async function preparePhoto(source: string, dir: string, { signal, report }: JobContext): Promise<PhotoAvatarData> {
  await ensureFaceModels({ signal, report });
  report(0.02, 'Reading the photo');
  const image = await decodeImage(source, { maxSide: PHOTO_MAX_SIDE });
  checkAborted(signal);
  report(0.15, 'Finding the face');
  const { face, landmarks } = await analysePhoto(image, source);
  checkAborted(signal);
  report(0.35, 'Measuring the face');
  const rig = buildRig({ ...landmarks, box: face }, image);
  await encodePng(image, join(dir, PHOTO_FILE));
  await encodePng(thumbnail(image, face), join(dir, THUMBNAIL_FILE));
  checkAborted(signal);
  return {
    kind: 'photo',
    width: image.width,
    height: image.height,
    face: { x: face.x, y: face.y, width: face.width, height: face.height, score: face.score },
    landmarkModel: landmarks.model,
    rig,
  };
}

/**
 * Prepare a clip once: track the face in every frame (refusing cuts, several faces or none), keep
 * the frames as an all-intra proxy (exact, cheap seeking for the back-and-forth loop), and pick the
 * frame with the most nearly closed mouth as the reference the speech is drawn from.
 */
export async function prepareClip(source: string, dir: string, { signal, report }: JobContext): Promise<ClipAvatarData> {
  await ensureFaceModels({ signal, report });
  report(0.02, 'Reading the clip');
  const analysis = await analyseClip(source, { signal, maxSide: CLIP_MAX_SIDE, report: (f) => report(0.02 + 0.6 * f, 'Following the face') });
  report(0.62, 'Keeping the frames');
  const proxy = join(dir, PROXY_FILE);
  await runFfmpeg({
    args: [
      '-i', source, '-an',
      '-vf', `fps=${analysis.fps},scale=${analysis.width}:${analysis.height}:flags=area`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-g', '1', '-pix_fmt', 'yuv420p',
      '-frames:v', String(analysis.frameCount), proxy,
    ],
    signal,
    onProgress: (seconds) => report(0.62 + 0.25 * Math.min(1, seconds / analysis.duration), 'Keeping the frames'),
    what: `keeping the frames of ${source}`,
  });
  const points = analysis.frames.map((f): [Point, Point, Point] => [centroid(f.landmarks.leftEye), centroid(f.landmarks.rightEye), f.landmarks.noseTip]);
  let index = 0;
  analysis.frames.forEach((f, i) => {
    if (!f.filled && mouthOpening(f.landmarks) < mouthOpening(analysis.frames[index].landmarks)) index = i;
  });
  const referencePath = join(dir, REFERENCE_FILE);
  await runFfmpeg({ args: ['-i', proxy, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', referencePath], signal, what: 'keeping the reference frame' });
  const reference = await decodeImage(referencePath);
  const { face, landmarks } = analysis.frames[index];
  await encodePng(thumbnail(reference, face), join(dir, THUMBNAIL_FILE));
  checkAborted(signal);
  return {
    kind: 'clip',
    width: analysis.width,
    height: analysis.height,
    fps: analysis.fps,
    frameCount: analysis.frameCount,
    landmarkModel: landmarks.model,
    track: points,
    reference: {
      index,
      face: { x: face.x, y: face.y, width: face.width, height: face.height },
      rig: buildRig({ ...landmarks, box: face }, reference),
      points: points[index],
    },
  };
}
