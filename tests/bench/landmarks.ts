/**
 * npx tsx tests/bench/landmarks.ts [--draw]: which face-landmark model (and which of the
 * preprocessing choices its MODEL.md leaves open) fits the fixture faces better, measured without
 * hand labels. All errors are in inter-ocular distances (IOD, from YuNet's eye keypoints):
 *   eyes, mouth  distance of the model's eye centres / outer mouth corners from YuNet's keypoints
 *                (partly a difference of definition: YuNet marks pupils, the models eyelid contours)
 *   flip         run on the mirrored image, mirror back: how far each named point lands from where
 *                it was (a correct model is mirror-consistent; a biased one is not)
 *   shift        how far all points move when the face box moves by 5% of its size (the crop
 *                changes, the face does not)
 *   jitter       on the talking-head clip, mean distance of the mouth corners and lip middles from
 *                the midpoint of their neighbours in time: frame-to-frame noise (speech adds a little)
 * With --draw, PNGs of each model's points on the portraits go to the temp folder.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseClip } from '../../src-main/avatars/clip';
import {
  DEFAULT_LANDMARK_MODEL,
  LANDMARK_MODELS,
  LANDMARK_PREPROCESSING,
  detectFaces,
  centroid,
  mouthCorners,
  runLandmarkModel,
  type FaceBox,
  type FaceLandmarks,
  type LandmarkModel,
  type LandmarkPreprocessing,
  type Point,
} from '../../src-main/avatars/faces';
import { ffmpegPath } from '../../src-main/media/ffmpeg';
import { decodeImage, encodePng, type RgbImage } from '../../src-main/media/image';
import { SHARED_DIR, sharedFile } from '../support/shared';

const PORTRAITS = ['fixtures/portrait_nasa_eileen_collins.png', 'fixtures/portrait_usnavy_grace_hopper.jpg'];
const CLIP = 'fixtures/talking_head_grid_bbaf2n.mp4';

interface Variant {
  label: string;
  model: LandmarkModel;
  pre: LandmarkPreprocessing;
}

const chosen = (model: LandmarkModel): Variant => ({ label: `${model} (as shipped)`, model, pre: LANDMARK_PREPROCESSING[model] });
const VARIANTS: Variant[] = [
  chosen('pfld68'),
  { label: 'pfld68 RGB', model: 'pfld68', pre: { ...LANDMARK_PREPROCESSING.pfld68, channels: 'rgb' } },
  { label: 'pfld68 crop 1.2 (upstream)', model: 'pfld68', pre: { ...LANDMARK_PREPROCESSING.pfld68, cropScale: 1.2 } },
  chosen('mediapipe-face-landmark'),
  { label: 'mediapipe [-1,1] (Zaru)', model: 'mediapipe-face-landmark', pre: { ...LANDMARK_PREPROCESSING['mediapipe-face-landmark'], range: [-1, 1] } },
  { label: 'mediapipe crop 1.5 (MediaPipe)', model: 'mediapipe-face-landmark', pre: { ...LANDMARK_PREPROCESSING['mediapipe-face-landmark'], cropScale: 1.5 } },
];

interface Figures {
  eyes: number;
  mouth: number;
  flip: number;
  shift: number;
  jitter: number;
  ms: number;
}
const MEASURES = ['eyes', 'mouth', 'flip', 'shift', 'jitter'] as const;

const distance = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);
const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function main() {
  process.env.MOUTHPIECE_MODELS ??= join(SHARED_DIR, 'models');
  const draw = process.argv.includes('--draw');
  const portraits = await Promise.all(PORTRAITS.map((p) => decodeImage(sharedFile(p))));
  const frames = await clipFrames(sharedFile(CLIP));
  const faces = new Map<RgbImage, FaceBox>();
  for (const image of [...portraits, ...frames]) {
    const [face] = await detectFaces(image);
    if (!face) throw new Error('a fixture image has no face');
    faces.set(image, face);
  }
  console.log(`landmarks: ${portraits.length} portraits, ${frames.length} clip frames (mirror and box-shift checks on the portraits and every 5th frame)`);
  console.log(`  ${'variant'.padEnd(38)} ${MEASURES.map((m) => m.padStart(7)).join(' ')}   ms/face`);
  const results = new Map<Variant, Figures>();
  for (const variant of VARIANTS) {
    const figures = await measure(variant, portraits, frames, faces);
    results.set(variant, figures);
    console.log(`  ${variant.label.padEnd(38)} ${MEASURES.map((m) => figures[m].toFixed(4).padStart(7)).join(' ')}   ${figures.ms.toFixed(1)}`);
  }

  const [pfld, mediapipe] = LANDMARK_MODELS.map((model) => results.get(VARIANTS.find((v) => v.model === model && v.pre === LANDMARK_PREPROCESSING[model])!)!);
  const wins = { pfld68: 0, 'mediapipe-face-landmark': 0 };
  // eyes and mouth compare with YuNet's own definition of the points; flip, shift and jitter do not depend on one.
  for (const m of ['flip', 'shift', 'jitter'] as const) wins[pfld![m] < mediapipe![m] ? 'pfld68' : 'mediapipe-face-landmark']++;
  const winner: LandmarkModel = wins.pfld68 > wins['mediapipe-face-landmark'] ? 'pfld68' : 'mediapipe-face-landmark';
  console.log(`  better on flip/shift/jitter: pfld68 ${wins.pfld68} of 3, mediapipe ${wins['mediapipe-face-landmark']} of 3 -> ${winner}`);
  console.log(`  ratio pfld68 / mediapipe: flip ${(pfld!.flip / mediapipe!.flip).toFixed(2)}x, shift ${(pfld!.shift / mediapipe!.shift).toFixed(2)}x, jitter ${(pfld!.jitter / mediapipe!.jitter).toFixed(2)}x`);
  console.log(`  default in src-main/avatars/faces.ts: ${DEFAULT_LANDMARK_MODEL}${winner === DEFAULT_LANDMARK_MODEL ? '' : '  <-- differs from this run'}`);

  console.log('analyseClip, mouth jitter before and after its temporal smoothing (IOD):');
  for (const model of LANDMARK_MODELS) {
    const analysis = await analyseClip(sharedFile(CLIP), { model });
    const iod = distance(analysis.frames[0]!.face.keypoints[0]!, analysis.frames[0]!.face.keypoints[1]!);
    const raw = results.get(VARIANTS.find((v) => v.model === model)!)!.jitter;
    console.log(`  ${model.padEnd(24)} raw ${raw.toFixed(4)}  smoothed ${(mouthJitter(analysis.frames.map((f) => f.landmarks)) / iod).toFixed(4)}`);
  }

  if (draw) {
    const dir = join(tmpdir(), 'mouthpiece-landmarks');
    mkdirSync(dir, { recursive: true });
    const pictures = [...portraits.map((image, i) => [`portrait${i + 1}`, image] as const), ['clip-frame40', frames[40]!] as const];
    for (const [name, image] of pictures) {
      for (const model of LANDMARK_MODELS) {
        const landmarks = await runLandmarkModel(image, faces.get(image)!, model, LANDMARK_PREPROCESSING[model]);
        const file = join(dir, `${name}-${model}.png`);
        await encodePng(drawLandmarks(image, faces.get(image)!, landmarks), file);
        console.log(`  drew ${file}`);
      }
    }
  }
}

async function measure(variant: Variant, portraits: RgbImage[], frames: RgbImage[], faces: Map<RgbImage, FaceBox>): Promise<Figures> {
  const run = (image: RgbImage, face: FaceBox) => runLandmarkModel(image, face, variant.model, variant.pre);
  const eyes: number[] = [];
  const mouth: number[] = [];
  const flip: number[] = [];
  const shift: number[] = [];
  const track: FaceLandmarks[] = [];
  let calls = 0;
  let ms = 0;
  const images = [...portraits, ...frames];
  for (const [i, image] of images.entries()) {
    const face = faces.get(image)!;
    const iod = distance(face.keypoints[0]!, face.keypoints[1]!);
    const started = performance.now();
    const landmarks = await run(image, face);
    ms += performance.now() - started;
    calls++;
    const [left, right] = mouthCorners(landmarks);
    eyes.push((distance(centroid(landmarks.leftEye), face.keypoints[0]!) + distance(centroid(landmarks.rightEye), face.keypoints[1]!)) / 2 / iod);
    mouth.push((distance(left, face.keypoints[3]!) + distance(right, face.keypoints[4]!)) / 2 / iod);
    if (i >= portraits.length) track.push(landmarks);
    if (i < portraits.length || i % 5 === 0) {
      const mirrored = await run(mirrorImage(image), mirrorFace(face, image.width));
      flip.push(mirrorInconsistency(landmarks, mirrored, image.width) / iod);
      for (const [dx, dy] of [[0.05, 0], [-0.05, 0], [0, 0.05], [0, -0.05]] as const) {
        const moved = await run(image, { ...face, x: face.x + dx * face.width, y: face.y + dy * face.height });
        shift.push(average(landmarks.points.map((p, k) => distance(p, moved.points[k]!))) / iod);
      }
    }
  }
  const clipFace = faces.get(frames[0]!)!;
  const jitter = mouthJitter(track) / distance(clipFace.keypoints[0]!, clipFace.keypoints[1]!);
  return { eyes: average(eyes), mouth: average(mouth), flip: average(flip), shift: average(shift), jitter, ms: ms / calls };
}

/** Mean distance of the mouth corners and lip middles from the midpoint of their neighbours in time, in pixels. */
function mouthJitter(track: FaceLandmarks[]): number {
  const picks = (l: FaceLandmarks) => {
    const n = l.mouthInner.length;
    return [...mouthCorners(l), l.mouthInner[n / 4]!, l.mouthInner[(3 * n) / 4]!];
  };
  const residuals: number[] = [];
  for (let t = 1; t + 1 < track.length; t++) {
    const [a, b, c] = [picks(track[t - 1]!), picks(track[t]!), picks(track[t + 1]!)];
    b.forEach((p, k) => residuals.push(distance(p, { x: (a[k]!.x + c[k]!.x) / 2, y: (a[k]!.y + c[k]!.y) / 2 })));
  }
  return average(residuals);
}

/**
 * Landmarks of the mirrored image, mirrored back, against the originals, point by named point:
 * the image-left eye of one is the image-right eye of the other, and a closed contour that starts
 * at its image-left corner maps index i to length/2 - i.
 */
function mirrorInconsistency(original: FaceLandmarks, mirrored: FaceLandmarks, width: number): number {
  const back = (p: Point): Point => ({ x: width - p.x, y: p.y });
  const errors: number[] = [];
  const closed = (a: Point[], b: Point[]) => a.forEach((p, i) => errors.push(distance(p, back(b[(((a.length / 2 - i) % a.length) + a.length) % a.length]!))));
  const open = (a: Point[], b: Point[]) => a.forEach((p, i) => errors.push(distance(p, back(b[a.length - 1 - i]!))));
  closed(original.mouthOuter, mirrored.mouthOuter);
  closed(original.mouthInner, mirrored.mouthInner);
  closed(original.leftEye, mirrored.rightEye);
  closed(original.rightEye, mirrored.leftEye);
  open(original.jaw, mirrored.jaw);
  open(original.leftBrow, mirrored.rightBrow);
  open(original.rightBrow, mirrored.leftBrow);
  errors.push(distance(original.noseTip, back(mirrored.noseTip)));
  return average(errors);
}

function mirrorImage(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const from = (y * image.width + x) * 3;
      data.set(image.data.subarray(from, from + 3), (y * image.width + image.width - 1 - x) * 3);
    }
  }
  return { ...image, data };
}

/** The same face in the mirrored image: YuNet's right and left keypoints trade places. */
function mirrorFace(face: FaceBox, width: number): FaceBox {
  const k = face.keypoints.map((p) => ({ x: width - p.x, y: p.y }));
  return { ...face, x: width - face.x - face.width, keypoints: [k[1]!, k[0]!, k[2]!, k[4]!, k[3]!] };
}

async function clipFrames(path: string): Promise<RgbImage[]> {
  const child = spawn(ffmpegPath(), ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  // The fixture's size, per fixtures/PROVENANCE.md.
  const [width, height] = [360, 288];
  const size = width * height * 3;
  const frames: RgbImage[] = [];
  for (let at = 0; at + size <= all.length; at += size) frames.push({ width, height, data: new Uint8Array(all.subarray(at, at + size)) });
  return frames;
}

function drawLandmarks(image: RgbImage, face: FaceBox, l: FaceLandmarks): RgbImage {
  const out = { ...image, data: new Uint8Array(image.data) };
  const dot = (p: Point, colour: [number, number, number], r = 1) => {
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const x = Math.round(p.x) + dx;
        const y = Math.round(p.y) + dy;
        if (x >= 0 && y >= 0 && x < out.width && y < out.height) out.data.set(colour, (y * out.width + x) * 3);
      }
    }
  };
  for (const p of l.points) dot(p, [255, 255, 0], 0);
  for (const p of l.jaw) dot(p, [0, 255, 0]);
  for (const p of l.mouthOuter) dot(p, [255, 0, 0]);
  for (const p of l.mouthInner) dot(p, [255, 0, 255]);
  for (const p of [...l.leftEye, ...l.rightEye]) dot(p, [0, 160, 255]);
  for (const p of [...l.leftBrow, ...l.rightBrow]) dot(p, [255, 128, 0]);
  for (const p of face.keypoints) dot(p, [255, 255, 255], 2);
  return zoom(out, face);
}

/** The face and some margin, enlarged 3x (nearest pixel), so single-pixel dots can be told apart. */
function zoom(image: RgbImage, face: FaceBox): RgbImage {
  const x0 = Math.max(0, Math.round(face.x - 0.3 * face.width));
  const y0 = Math.max(0, Math.round(face.y - 0.3 * face.height));
  const w = Math.min(image.width - x0, Math.round(1.6 * face.width));
  const h = Math.min(image.height - y0, Math.round(1.6 * face.height));
  const k = 3;
  const data = new Uint8Array(w * k * h * k * 3);
  for (let y = 0; y < h * k; y++) {
    for (let x = 0; x < w * k; x++) {
      const from = ((y0 + Math.floor(y / k)) * image.width + x0 + Math.floor(x / k)) * 3;
      data.set(image.data.subarray(from, from + 3), (y * w * k + x) * 3);
    }
  }
  return { width: w * k, height: h * k, data };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
