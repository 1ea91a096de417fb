import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { RgbImage } from '../media/image';
import { ModelSessions } from '../models/sessions';

export interface Point {
  x: number;
  y: number;
}

/** A detected face, in image pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
  /** YuNet's 5: right eye, left eye, nose tip, right mouth corner, left mouth corner (the person's right is the image's left). */
  keypoints: Point[];
}

/**
 * Face landmarks in image pixels. Contours are closed and start at their image-left corner, run
 * along the upper edge to the image-right corner at index length/2, and back along the lower
 * edge. The lip contours have a length divisible by 4: the middle of the upper lip is at
 * length/4 and of the lower lip at 3*length/4 (see mouthOpening).
 */
export interface FaceLandmarks {
  model: LandmarkModel;
  /** Every point the model gives (68 or 468), in the model's own order. */
  points: Point[];
  /** Face contour, image-left to image-right through the chin. */
  jaw: Point[];
  /** Outer lip contour from the image-left mouth corner along the upper lip. */
  mouthOuter: Point[];
  /** Inner lip contour, same order. */
  mouthInner: Point[];
  /** Eye contours (image-left and image-right eye), from the image-left corner along the upper lid. */
  leftEye: Point[];
  rightEye: Point[];
  /** Eyebrows, image-left to image-right. */
  leftBrow: Point[];
  rightBrow: Point[];
  noseTip: Point;
  mouthCentre: Point;
}

export const LANDMARK_MODELS = ['pfld68', 'mediapipe-face-landmark'] as const;
export type LandmarkModel = (typeof LANDMARK_MODELS)[number];

/**
 * MediaPipe's mesh is the default: tests/bench/landmarks.ts (no hand labels; fixture portraits and
 * the 75 frames of the talking-head clip) finds it steadier on every measure that does not depend
 * on YuNet's own idea of where a point is. In inter-ocular distances, MediaPipe against PFLD:
 * mirror inconsistency 0.013 against 0.035, movement when the face box shifts by 5% 0.014 against
 * 0.016, frame-to-frame mouth jitter 0.0053 against 0.0060. Both sit about as far from YuNet's
 * keypoints (mouth corners 0.10 against 0.11, eye centres 0.07 against 0.06). Its inner-lip
 * contour also has 20 points where PFLD's has 8, and lip opening is what lip-sync reads.
 */
export const DEFAULT_LANDMARK_MODEL: LandmarkModel = 'mediapipe-face-landmark';

/** YuNet's usual threshold (OpenCV's FaceDetectorYN); the fixture faces score 0.94-0.96. */
export const DEFAULT_MIN_SCORE = 0.9;

/** Smallest face (box height, pixels) a photo avatar may have: below it the mouth is a few pixels wide. */
export const MIN_FACE_HEIGHT = 96;

/**
 * Sessions by kind or id: detection uses whichever face detector is active in the model registry
 * (YuNet by default); landmarks stay by model id, as each model's points are decoded differently.
 */
const sessions = new ModelSessions();

/**
 * An affine view of an image: crop pixel (u, v) (continuous, pixel i spans [i, i+1)) shows the
 * image point origin + u*U + v*V.
 */
interface View {
  ox: number;
  oy: number;
  ux: number;
  uy: number;
  vx: number;
  vy: number;
}

function fromView(view: View, u: number, v: number): Point {
  return { x: view.ox + u * view.ux + v * view.vx, y: view.oy + u * view.uy + v * view.vy };
}

/**
 * Sample a view into an NCHW float tensor, bilinear, black outside the image. When the view
 * shrinks the image, each output pixel averages a grid of samples so a large photo does not alias.
 */
function sampleView(image: RgbImage, view: View, outW: number, outH: number, pixel: { bgr: boolean; scale: number; offset: number }): Float32Array {
  const { width: w, height: h, data } = image;
  const plane = outW * outH;
  const out = new Float32Array(3 * plane);
  const ss = Math.min(8, Math.max(1, Math.ceil(Math.max(Math.hypot(view.ux, view.uy), Math.hypot(view.vx, view.vy)) - 0.01)));
  const norm = pixel.scale / (ss * ss);
  const [rPlane, bPlane] = pixel.bgr ? [2 * plane, 0] : [0, 2 * plane];
  if (ss === 1 && view.uy === 0 && view.vx === 0) {
    sampleAxisAligned(image, view, outW, outH, out, rPlane, bPlane, pixel);
    return out;
  }
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < ss; sy++) {
        const cv = v + (sy + 0.5) / ss;
        for (let sx = 0; sx < ss; sx++) {
          const cu = u + (sx + 0.5) / ss;
          // Pixel centres sit at i + 0.5.
          const x = view.ox + cu * view.ux + cv * view.vx - 0.5;
          const y = view.oy + cu * view.uy + cv * view.vy - 0.5;
          if (x < -0.5 || y < -0.5 || x > w - 0.5 || y > h - 0.5) continue;
          const xc = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
          const yc = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
          const x0 = Math.floor(xc);
          const y0 = Math.floor(yc);
          const x1 = x0 + 1 < w ? x0 + 1 : x0;
          const y1 = y0 + 1 < h ? y0 + 1 : y0;
          const ax = xc - x0;
          const ay = yc - y0;
          const i00 = (y0 * w + x0) * 3;
          const i01 = (y0 * w + x1) * 3;
          const i10 = (y1 * w + x0) * 3;
          const i11 = (y1 * w + x1) * 3;
          const w00 = (1 - ax) * (1 - ay);
          const w01 = ax * (1 - ay);
          const w10 = (1 - ax) * ay;
          const w11 = ax * ay;
          r += data[i00]! * w00 + data[i01]! * w01 + data[i10]! * w10 + data[i11]! * w11;
          g += data[i00 + 1]! * w00 + data[i01 + 1]! * w01 + data[i10 + 1]! * w10 + data[i11 + 1]! * w11;
          b += data[i00 + 2]! * w00 + data[i01 + 2]! * w01 + data[i10 + 2]! * w10 + data[i11 + 2]! * w11;
        }
      }
      const at = v * outW + u;
      out[rPlane + at] = r * norm + pixel.offset;
      out[plane + at] = g * norm + pixel.offset;
      out[bPlane + at] = b * norm + pixel.offset;
    }
  }
  return out;
}

/** One bilinear axis of an unrotated view: the two source indices and the weight of the second, or -1 outside the image. */
function axisTaps(origin: number, step: number, count: number, size: number): { i0: Int32Array; i1: Int32Array; a: Float32Array } {
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const a = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const p = origin + (k + 0.5) * step - 0.5;
    if (p < -0.5 || p > size - 0.5) {
      i0[k] = -1;
      continue;
    }
    const c = p < 0 ? 0 : p > size - 1 ? size - 1 : p;
    i0[k] = Math.floor(c);
    i1[k] = Math.min(i0[k]! + 1, size - 1);
    a[k] = c - i0[k]!;
  }
  return { i0, i1, a };
}

/**
 * sampleView for a view that neither turns nor shrinks the image (YuNet's letterbox of a video
 * frame, every frame): the taps of each column and row are computed once, which halves the time.
 */
function sampleAxisAligned(
  image: RgbImage,
  view: View,
  outW: number,
  outH: number,
  out: Float32Array,
  rPlane: number,
  bPlane: number,
  pixel: { scale: number; offset: number },
): void {
  const { width: w, height: h, data } = image;
  const plane = outW * outH;
  const cols = axisTaps(view.ox, view.ux, outW, w);
  const rows = axisTaps(view.oy, view.vy, outH, h);
  const { scale, offset } = pixel;
  for (let v = 0; v < outH; v++) {
    const y0 = rows.i0[v]!;
    const rowStart = v * outW;
    if (y0 < 0) {
      out.fill(offset, rPlane + rowStart, rPlane + rowStart + outW);
      out.fill(offset, plane + rowStart, plane + rowStart + outW);
      out.fill(offset, bPlane + rowStart, bPlane + rowStart + outW);
      continue;
    }
    const ay = rows.a[v]!;
    const top = y0 * w;
    const bottom = rows.i1[v]! * w;
    for (let u = 0; u < outW; u++) {
      const at = rowStart + u;
      const x0 = cols.i0[u]!;
      if (x0 < 0) {
        out[rPlane + at] = offset;
        out[plane + at] = offset;
        out[bPlane + at] = offset;
        continue;
      }
      const x1 = cols.i1[u]!;
      const ax = cols.a[u]!;
      const i00 = (top + x0) * 3;
      const i01 = (top + x1) * 3;
      const i10 = (bottom + x0) * 3;
      const i11 = (bottom + x1) * 3;
      for (let c = 0; c < 3; c++) {
        const upper = data[i00 + c]! + (data[i01 + c]! - data[i00 + c]!) * ax;
        const lower = data[i10 + c]! + (data[i11 + c]! - data[i10 + c]!) * ax;
        out[(c === 0 ? rPlane : c === 1 ? plane : bPlane) + at] = (upper + (lower - upper) * ay) * scale + offset;
      }
    }
  }
}

const YUNET_SIZE = 640;
const YUNET_STRIDES = [8, 16, 32] as const;
const NMS_IOU = 0.3;

/** Faces in an image, best first, with the active face detector (YuNet unless the registry says otherwise), fed 640x640. */
export async function detectFaces(image: RgbImage, options: { minScore?: number } = {}): Promise<FaceBox[]> {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const { session } = await sessions.open('face-detection');
  // Letterbox: scale the long side to 640 and pad the rest with black, so faces keep their shape.
  const scale = YUNET_SIZE / Math.max(image.width, image.height);
  const view: View = { ox: 0, oy: 0, ux: 1 / scale, uy: 0, vx: 0, vy: 1 / scale };
  const input = sampleView(image, view, YUNET_SIZE, YUNET_SIZE, { bgr: true, scale: 1, offset: 0 });
  const outputs = await session.run({ [session.inputNames[0]!]: new Tensor('float32', input, [1, 3, YUNET_SIZE, YUNET_SIZE]) });

  const found: FaceBox[] = [];
  for (const stride of YUNET_STRIDES) {
    const cls = floats(outputs, `cls_${stride}`);
    const obj = floats(outputs, `obj_${stride}`);
    const bbox = floats(outputs, `bbox_${stride}`);
    const kps = floats(outputs, `kps_${stride}`);
    const cols = YUNET_SIZE / stride;
    for (let i = 0; i < cls.length; i++) {
      const score = Math.sqrt(clamp01(cls[i]!) * clamp01(obj[i]!));
      if (score < minScore) continue;
      const row = Math.floor(i / cols);
      const col = i % cols;
      const cx = (col + bbox[i * 4]!) * stride;
      const cy = (row + bbox[i * 4 + 1]!) * stride;
      const bw = Math.exp(bbox[i * 4 + 2]!) * stride;
      const bh = Math.exp(bbox[i * 4 + 3]!) * stride;
      const keypoints: Point[] = [];
      for (let k = 0; k < 5; k++) {
        keypoints.push({ x: ((col + kps[i * 10 + 2 * k]!) * stride) / scale, y: ((row + kps[i * 10 + 2 * k + 1]!) * stride) / scale });
      }
      found.push({ x: (cx - bw / 2) / scale, y: (cy - bh / 2) / scale, width: bw / scale, height: bh / scale, score, keypoints });
    }
  }
  found.sort((a, b) => b.score - a.score);
  const kept: FaceBox[] = [];
  for (const face of found) {
    if (kept.every((k) => iou(k, face) <= NMS_IOU)) kept.push(face);
  }
  return kept;
}

function floats(outputs: InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const tensor = outputs[name];
  if (!tensor) throw new AppError(ErrorCode.Internal, `the face model has no output "${name}"`);
  return tensor.data as Float32Array;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * How a landmark model wants its face crop: a square of `cropScale` times the face box's shorter
 * or longer side, centred on the box and turned so the eyes are level, resized to `size`, with
 * pixel values mapped to `range` in the given channel order.
 */
export interface LandmarkPreprocessing {
  size: number;
  cropScale: number;
  cropSide: 'shorter' | 'longer';
  channels: 'rgb' | 'bgr';
  range: [number, number];
}

/**
 * Chosen by tests/bench/landmarks.ts on the fixture portraits and the talking-head clip, where
 * the two MODEL.md files leave it open (figures: mirror inconsistency / box-shift sensitivity, in
 * inter-ocular distances).
 * - PFLD: BGR (as the upstream script feeds OpenCV images) fits about as well as RGB (0.035 /
 *   0.016 against 0.036 / 0.017); 1.35 x the shorter side suits YuNet's boxes better than
 *   upstream's 1.2 (0.040 / 0.019).
 * - MediaPipe: [0, 1] (MediaPipe's own face_landmark graph) is steadier than Zaru's [-1, 1]
 *   (0.013 / 0.014 against 0.024 / 0.017); YuNet's box is looser than BlazeFace's, so 1.3 x the
 *   longer side rather than MediaPipe's 1.5 (0.020 / 0.017).
 */
export const LANDMARK_PREPROCESSING: Record<LandmarkModel, LandmarkPreprocessing> = {
  pfld68: { size: 112, cropScale: 1.35, cropSide: 'shorter', channels: 'bgr', range: [0, 1] },
  'mediapipe-face-landmark': { size: 192, cropScale: 1.3, cropSide: 'longer', channels: 'rgb', range: [0, 1] },
};

/** The crop a landmark model sees; maps crop pixels back to the image. */
function faceView(face: FaceBox, pre: LandmarkPreprocessing): View {
  const centre = { x: face.x + face.width / 2, y: face.y + face.height / 2 };
  const side = pre.cropScale * (pre.cropSide === 'shorter' ? Math.min(face.width, face.height) : Math.max(face.width, face.height));
  // Level the eyes (YuNet's first two keypoints), as MediaPipe does: both models do best on an upright face.
  const [a, b] = face.keypoints;
  const angle = a && b ? Math.atan2(b.y - a.y, b.x - a.x) : 0;
  const cos = Math.cos(angle) * (side / pre.size);
  const sin = Math.sin(angle) * (side / pre.size);
  const half = pre.size / 2;
  return { ox: centre.x - half * cos + half * sin, oy: centre.y - half * sin - half * cos, ux: cos, uy: sin, vx: -sin, vy: cos };
}

/** Landmarks of one face, in image pixels, with the default model unless another is named. */
export function findLandmarks(image: RgbImage, face: FaceBox, options: { model?: LandmarkModel } = {}): Promise<FaceLandmarks> {
  const model = options.model ?? DEFAULT_LANDMARK_MODEL;
  return runLandmarkModel(image, face, model, LANDMARK_PREPROCESSING[model]);
}

/** findLandmarks with the preprocessing spelled out; the bench uses it to compare alternatives. */
export async function runLandmarkModel(image: RgbImage, face: FaceBox, model: LandmarkModel, pre: LandmarkPreprocessing): Promise<FaceLandmarks> {
  const view = faceView(face, pre);
  const [low, high] = pre.range;
  const input = sampleView(image, view, pre.size, pre.size, { bgr: pre.channels === 'bgr', scale: (high - low) / 255, offset: low });
  const { session } = await sessions.open(model);
  const outputs = await session.run({ [session.inputNames[0]!]: new Tensor('float32', input, [1, 3, pre.size, pre.size]) });
  const points: Point[] = [];
  if (model === 'pfld68') {
    // 68 x (x, y), 0-1 across the crop.
    const out = floats(outputs, 'output');
    for (let i = 0; i < 68; i++) points.push(fromView(view, out[2 * i]! * pre.size, out[2 * i + 1]! * pre.size));
  } else {
    // 468 x (x, y, z), in crop pixels.
    const out = floats(outputs, 'conv2d_21');
    for (let i = 0; i < 468; i++) points.push(fromView(view, out[3 * i]!, out[3 * i + 1]!));
  }
  return landmarksFromPoints(model, points);
}

interface Groups {
  jaw: number[];
  mouthOuter: number[];
  mouthInner: number[];
  leftEye: number[];
  rightEye: number[];
  leftBrow: number[];
  rightBrow: number[];
  noseTip: number;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** iBUG 300-W numbering. */
const PFLD_GROUPS: Groups = {
  jaw: range(0, 16),
  leftBrow: range(17, 21),
  rightBrow: range(22, 26),
  noseTip: 30,
  leftEye: range(36, 41),
  rightEye: range(42, 47),
  mouthOuter: range(48, 59),
  mouthInner: range(60, 67),
};

/** MediaPipe's canonical face mesh numbering (its "right" is the person's right, the image's left). */
const MEDIAPIPE_GROUPS: Groups = {
  jaw: [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454],
  leftBrow: [70, 63, 105, 66, 107],
  rightBrow: [336, 296, 334, 293, 300],
  noseTip: 1,
  leftEye: [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
  rightEye: [362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382],
  mouthOuter: [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146],
  mouthInner: [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95],
};

/** Name the parts of a model's raw points (after interpolating or smoothing them, for example). */
export function landmarksFromPoints(model: LandmarkModel, points: Point[]): FaceLandmarks {
  const g = model === 'pfld68' ? PFLD_GROUPS : MEDIAPIPE_GROUPS;
  const pick = (indices: number[]) => indices.map((i) => points[i]!);
  const mouthInner = pick(g.mouthInner);
  return {
    model,
    points,
    jaw: pick(g.jaw),
    mouthOuter: pick(g.mouthOuter),
    mouthInner,
    leftEye: pick(g.leftEye),
    rightEye: pick(g.rightEye),
    leftBrow: pick(g.leftBrow),
    rightBrow: pick(g.rightBrow),
    noseTip: points[g.noseTip]!,
    mouthCentre: centroid(mouthInner),
  };
}

export function centroid(points: Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}

/** Gap between the lips at their middle, in pixels (0 when closed). */
export function mouthOpening(landmarks: FaceLandmarks): number {
  const inner = landmarks.mouthInner;
  const upper = inner[inner.length / 4]!;
  const lower = inner[(3 * inner.length) / 4]!;
  return Math.hypot(lower.x - upper.x, lower.y - upper.y);
}

/** The two mouth corners, image-left first. */
export function mouthCorners(landmarks: FaceLandmarks): [Point, Point] {
  const outer = landmarks.mouthOuter;
  return [outer[0]!, outer[outer.length / 2]!];
}

/** Below DEFAULT_MIN_SCORE a detection is not trusted as a face, but it explains a refusal better than "no face". */
const WEAK_FACE_SCORE = 0.6;

/**
 * The one face of a photo avatar and its landmarks; refuses (BAD_INPUT, naming `source`) a photo
 * with no face, several faces, a face too small to animate, or a face cut off by the frame.
 */
export async function analysePhoto(image: RgbImage, source: string): Promise<{ face: FaceBox; landmarks: FaceLandmarks }> {
  const candidates = await detectFaces(image, { minScore: WEAK_FACE_SCORE });
  const clear = candidates.filter((f) => f.score >= DEFAULT_MIN_SCORE);
  if (clear.length > 1) {
    throw new AppError(ErrorCode.BadInput, `${source}: ${clear.length} faces found; crop the photo to one person or use a photo with one face`);
  }
  // Half a face, or a tiny one, scores below the threshold: say what is wrong with it rather than "no face".
  const face = clear[0] ?? candidates[0];
  if (!face) {
    throw new AppError(ErrorCode.BadInput, `${source}: no face found; use a photo where one face looks at the camera, well lit`);
  }
  const edge = cutEdge(face, image);
  if (edge) {
    throw new AppError(ErrorCode.BadInput, `${source}: the face is cut off by the ${edge} edge of the photo; use a photo that shows the whole head with some space around it`);
  }
  if (face.height < MIN_FACE_HEIGHT) {
    throw new AppError(
      ErrorCode.BadInput,
      `${source}: the face is ${Math.round(face.height)} px tall; at least ${MIN_FACE_HEIGHT} px is needed, use a closer or larger photo`,
    );
  }
  if (!clear.length) {
    throw new AppError(ErrorCode.BadInput, `${source}: no face found clearly; use a photo where one face looks at the camera, well lit`);
  }
  return { face, landmarks: await findLandmarks(image, face) };
}

/** Which edge of the image cuts the face box, if any; YuNet's box may overshoot a visible chin by a few pixels. */
function cutEdge(face: FaceBox, image: RgbImage): string | undefined {
  const slack = 0.03 * Math.max(face.width, face.height);
  if (face.x < -slack) return 'left';
  if (face.x + face.width > image.width + slack) return 'right';
  if (face.y < -slack) return 'top';
  if (face.y + face.height > image.height + slack) return 'bottom';
  return undefined;
}
