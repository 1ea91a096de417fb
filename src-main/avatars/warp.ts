import type { Viseme } from '../../src-shared/visemes';

/** How the mouth is posed, each 0..1: jaw and lips apart, lips spread, lips rounded. */
export interface MouthPose {
  open: number;
  wide: number;
  round: number;
}

/** Everything one frame of a talking photo needs besides the picture. */
export interface FramePose extends MouthPose {
  /** 0 open eyes, 1 closed. */
  blink: number;
  /** Head motion in source pixels and radians, about a pivot at the neck. */
  headX: number;
  headY: number;
  headRoll: number;
}

export const NEUTRAL_POSE: FramePose = { open: 0, wide: 0, round: 0, blink: 0, headX: 0, headY: 0, headRoll: 0 };

/** The pose each mouth shape asks of a real face. */
export const VISEME_POSE: Record<Viseme, MouthPose> = {
  rest: { open: 0, wide: 0, round: 0 },
  MBP: { open: 0, wide: 0, round: 0.1 },
  AI: { open: 1, wide: 0.3, round: 0 },
  E: { open: 0.55, wide: 0.9, round: 0 },
  O: { open: 0.75, wide: 0, round: 0.7 },
  U: { open: 0.3, wide: 0, round: 1 },
  FV: { open: 0.15, wide: 0.2, round: 0 },
  L: { open: 0.45, wide: 0.4, round: 0 },
  CDG: { open: 0.25, wide: 0.6, round: 0 },
};

interface Pt {
  x: number;
  y: number;
}

/** Face geometry the warp reads, in source pixels; plain numbers so it crosses to a worker as is. */
export interface WarpRig {
  /** Mouth corners (image-left, image-right) and the inner-lip seam's height at its middle. */
  left: Pt;
  right: Pt;
  seamMid: number;
  mouthCentre: Pt;
  upperLipTop: number;
  lowerLipBottom: number;
  noseY: number;
  chin: Pt;
  /** Half the jaw's width at the mouth's height. */
  jawHalf: number;
  faceWidth: number;
  faceHeight: number;
  faceCentre: Pt;
  /** Pivot of head motion, at the neck. */
  pivot: Pt;
  /** How far the lips part at open = 1. */
  openPx: number;
  eyes: { x: number; halfWidth: number; upper: number; lower: number; brow: number }[];
  /** Colour of the lips' inside edge, sampled from the photo, for the cavity's rim. */
  lipColour: [number, number, number];
}

/** The rectangle of output a frame's warp can change, and where source pixels land in it. */
export interface PatchTarget {
  /** Source-pixel position of the patch's top-left corner (the patch is at source scale). */
  x: number;
  y: number;
  width: number;
  height: number;
}

interface FaceInput {
  box: { x: number; y: number; width: number; height: number };
  mouthOuter: Pt[];
  mouthInner: Pt[];
  jaw: Pt[];
  leftEye: Pt[];
  rightEye: Pt[];
  leftBrow: Pt[];
  rightBrow: Pt[];
  noseTip: Pt;
}

const minBy = (points: Pt[], key: (p: Pt) => number) => points.reduce((a, b) => (key(b) < key(a) ? b : a));
const maxBy = (points: Pt[], key: (p: Pt) => number) => points.reduce((a, b) => (key(b) > key(a) ? b : a));

/** Inner-lip seam height at x: mean of the inner contour's points nearest x above and below. */
function seamAt(inner: Pt[], x: number, centreY: number): number {
  const upper = inner.filter((p) => p.y <= centreY);
  const lower = inner.filter((p) => p.y > centreY);
  const near = (points: Pt[]) => (points.length ? minBy(points, (p) => Math.abs(p.x - x)).y : centreY);
  return (near(upper) + near(lower)) / 2;
}

/** Measure once, at preparation, what the per-frame warp needs. */
export function buildRig(face: FaceInput, image: { width: number; height: number; data: Uint8Array }): WarpRig {
  const left = minBy(face.mouthOuter, (p) => p.x);
  const right = maxBy(face.mouthOuter, (p) => p.x);
  const mouthCentre = { x: (left.x + right.x) / 2, y: face.mouthInner.reduce((s, p) => s + p.y, 0) / face.mouthInner.length };
  const seamMid = seamAt(face.mouthInner, mouthCentre.x, mouthCentre.y);
  const chin = maxBy(face.jaw, (p) => p.y);
  const nearMouth = face.jaw.filter((p) => Math.abs(p.y - mouthCentre.y) < (chin.y - mouthCentre.y) * 0.8);
  const jawHalf = nearMouth.length
    ? (Math.max(...nearMouth.map((p) => p.x)) - Math.min(...nearMouth.map((p) => p.x))) / 2
    : face.box.width * 0.4;
  const brows = [...face.leftBrow, ...face.rightBrow];
  const browY = brows.length ? brows.reduce((s, p) => s + p.y, 0) / brows.length : face.box.y + face.box.height * 0.3;
  const faceHeight = chin.y - browY + (chin.y - browY) * 0.35;
  const eyes = [face.leftEye, face.rightEye].map((contour, i) => {
    const l = minBy(contour, (p) => p.x);
    const r = maxBy(contour, (p) => p.x);
    const brow = i === 0 ? face.leftBrow : face.rightBrow;
    const upper = Math.min(...contour.map((p) => p.y));
    return {
      x: (l.x + r.x) / 2,
      halfWidth: (r.x - l.x) / 2,
      upper,
      lower: Math.max(...contour.map((p) => p.y)),
      brow: brow.length ? Math.max(...brow.map((p) => p.y)) : upper - (r.x - l.x) * 0.5,
    };
  });
  const sample = (p: Pt): [number, number, number] => {
    const i = (Math.round(Math.min(image.height - 1, Math.max(0, p.y))) * image.width + Math.round(Math.min(image.width - 1, Math.max(0, p.x)))) * 3;
    return [image.data[i], image.data[i + 1], image.data[i + 2]];
  };
  const lowerLipBottom = Math.max(...face.mouthOuter.map((p) => p.y));
  const lipColour = sample({ x: mouthCentre.x, y: (seamMid + lowerLipBottom) / 2 });
  return {
    left,
    right,
    seamMid,
    mouthCentre,
    upperLipTop: Math.min(...face.mouthOuter.map((p) => p.y)),
    lowerLipBottom,
    noseY: face.noseTip.y,
    chin,
    jawHalf,
    faceWidth: face.box.width,
    faceHeight,
    faceCentre: { x: face.box.x + face.box.width / 2, y: face.box.y + face.box.height / 2 },
    pivot: { x: chin.x, y: chin.y + faceHeight * 0.25 },
    openPx: (right.x - left.x) * 0.38,
    eyes,
    lipColour,
  };
}

/** The rig of the same face in a copy of the photo scaled by (sx, sy). */
export function scaleRig(rig: WarpRig, sx: number, sy: number): WarpRig {
  const p = (q: Pt) => ({ x: q.x * sx, y: q.y * sy });
  return {
    ...rig,
    left: p(rig.left),
    right: p(rig.right),
    seamMid: rig.seamMid * sy,
    mouthCentre: p(rig.mouthCentre),
    upperLipTop: rig.upperLipTop * sy,
    lowerLipBottom: rig.lowerLipBottom * sy,
    noseY: rig.noseY * sy,
    chin: p(rig.chin),
    jawHalf: rig.jawHalf * sx,
    faceWidth: rig.faceWidth * sx,
    faceHeight: rig.faceHeight * sy,
    faceCentre: p(rig.faceCentre),
    pivot: p(rig.pivot),
    openPx: rig.openPx * sy,
    eyes: rig.eyes.map((e) => ({ x: e.x * sx, halfWidth: e.halfWidth * sx, upper: e.upper * sy, lower: e.lower * sy, brow: e.brow * sy })),
  };
}

/** The source rectangle every warp stays inside: head and hair to below the dropped chin. */
export function patchRect(rig: WarpRig, image: { width: number; height: number }): PatchTarget {
  const x0 = Math.max(0, Math.floor((rig.faceCentre.x - rig.faceWidth * 1.15) / 2) * 2);
  const y0 = Math.max(0, Math.floor((rig.faceCentre.y - rig.faceHeight * 1.05) / 2) * 2);
  const x1 = Math.min(image.width, Math.ceil((rig.faceCentre.x + rig.faceWidth * 1.15) / 2) * 2);
  const y1 = Math.min(image.height, Math.ceil((rig.pivot.y + rig.faceHeight * 0.55) / 2) * 2);
  return { x: x0, y: y0, width: Math.floor((x1 - x0) / 2) * 2, height: Math.floor((y1 - y0) / 2) * 2 };
}

/**
 * Warp one frame's patch of a still face: head motion about the neck, the jaw dropping and lips
 * parting, spreading or rounding along the mouth, the upper lids lowering over the eyes, and the
 * open mouth filled with a shaded cavity and a band of upper teeth. Backward mapping with bilinear
 * sampling, so every output pixel is written once; displacements fall to zero before the patch's
 * edge, so the patch sits on the untouched picture without a seam.
 *
 * Self-contained on purpose (no imports, no outer names): it is sent to a worker as source text.
 */
export function warpPatch(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  rig: WarpRig,
  patch: PatchTarget,
  pose: FramePose,
  out: Uint8Array,
): void {
  const smooth = (a: number, b: number, v: number) => {
    const t = v <= a ? 0 : v >= b ? 1 : (v - a) / (b - a);
    return t * t * (3 - 2 * t);
  };
  const rgb = [0, 0, 0];
  const sample = (x: number, y: number) => {
    const sx = x < 0 ? 0 : x > srcWidth - 1.001 ? srcWidth - 1.001 : x;
    const sy = y < 0 ? 0 : y > srcHeight - 1.001 ? srcHeight - 1.001 : y;
    const x0 = sx | 0;
    const y0 = sy | 0;
    const fx = sx - x0;
    const fy = sy - y0;
    const p = (y0 * srcWidth + x0) * 3;
    const q = p + srcWidth * 3;
    const w00 = (1 - fx) * (1 - fy);
    const w10 = fx * (1 - fy);
    const w01 = (1 - fx) * fy;
    const w11 = fx * fy;
    rgb[0] = src[p] * w00 + src[p + 3] * w10 + src[q] * w01 + src[q + 3] * w11;
    rgb[1] = src[p + 1] * w00 + src[p + 4] * w10 + src[q + 1] * w01 + src[q + 4] * w11;
    rgb[2] = src[p + 2] * w00 + src[p + 5] * w10 + src[q + 2] * w01 + src[q + 5] * w11;
  };
  const { left, right, mouthCentre: mc, chin, pivot } = rig;
  const mouthW = right.x - left.x;
  const gapMax = pose.open * rig.openPx;
  const upperUp = gapMax * 0.25;
  const lowerDown = gapMax * 0.75;
  const jawDrop = lowerDown * 0.7;
  const k = 0.12 * pose.wide - 0.18 * pose.round;
  const radX = mouthW * 0.95;
  const radY = (rig.lowerLipBottom - rig.upperLipTop) * 1.6 + mouthW * 0.2;
  const cos = Math.cos(-pose.headRoll);
  const sin = Math.sin(-pose.headRoll);
  const headRx = rig.faceWidth * 0.8;
  const headRy = rig.faceHeight * 0.75;
  const belowSeam = chin.y - rig.seamMid;
  const neckFade = rig.faceHeight * 0.3;
  const bulge = rig.seamMid - (left.y + right.y) / 2;
  // Bounds outside which the mouth and eyes leave pixels alone, so most pixels skip that work.
  const mouthX0 = mc.x - Math.max(rig.jawHalf * 1.7, radX * 1.25);
  const mouthX1 = mc.x + Math.max(rig.jawHalf * 1.7, radX * 1.25);
  const mouthY0 = Math.min(rig.noseY, mc.y - radY * 1.25);
  const mouthY1 = chin.y + neckFade;
  const moving = gapMax > 0.01 || k !== 0;
  const drop = (x: number, yy: number, seam: number, profile: number) => {
    if (yy <= seam) return 0;
    const s = smooth(0, belowSeam * 0.7, yy - seam);
    const jawW = 1 - smooth(rig.jawHalf * 0.3, rig.jawHalf * 1.5, Math.abs(x - mc.x));
    const neck = 1 - smooth(chin.y, chin.y + neckFade, yy);
    return ((1 - s) * lowerDown * profile + s * jawDrop * jawW) * neck;
  };
  let o = 0;
  for (let j = 0; j < patch.height; j++) {
    const py = patch.y + j;
    for (let i = 0; i < patch.width; i++, o += 3) {
      const px = patch.x + i;
      let x = px;
      let y = py;
      // Head motion: rigid about the neck, fading out beyond the head so the body stays put.
      const ex = (x - rig.faceCentre.x) / headRx;
      const ey = (y - rig.faceCentre.y) / headRy;
      const e2 = ex * ex + ey * ey;
      if (e2 < 2.1) {
        const hw = 1 - smooth(0.85, 1.45, Math.sqrt(e2));
        const rx = x - pivot.x - pose.headX;
        const ry = y - pivot.y - pose.headY;
        x += hw * (pivot.x + rx * cos - ry * sin - x);
        y += hw * (pivot.y + rx * sin + ry * cos - y);
      }
      let cavity = 0;
      let lid = 0;
      let t = 0;
      let top = 0;
      let bottom = 0;
      let seam = 0;
      if (moving && x > mouthX0 && x < mouthX1 && y > mouthY0 && y < mouthY1) {
        // Lips spreading or rounding: an inverse radial stretch about the mouth's centre.
        const dx = (x - mc.x) / radX;
        const dy = (y - mc.y) / radY;
        const rw = 1 - smooth(0.55, 1.2, Math.sqrt(dx * dx + dy * dy));
        if (rw > 0) x = mc.x + (x - mc.x) / (1 + k * rw);
        t = (x - left.x) / mouthW;
        const inMouth = t > 0 && t < 1;
        const profile = inMouth ? Math.pow(Math.sin(Math.PI * t), 0.7) : 0;
        seam = left.y + (right.y - left.y) * (t < 0 ? 0 : t > 1 ? 1 : t) + (inMouth ? bulge * 4 * t * (1 - t) : 0);
        top = seam - upperUp * profile;
        bottom = seam + lowerDown * profile;
        if (y < top) {
          y += upperUp * profile * (1 - smooth(0, seam - rig.noseY, seam - y));
        } else if (y > bottom || !inMouth) {
          // The lower lip moves with the gap; further down the jaw drops, fading over the neck.
          y -= drop(x, y - drop(x, y, seam, profile), seam, profile);
        } else {
          const gap = bottom - top;
          cavity = gap > 1.5 ? 1 : gap / 1.5;
        }
      }
      if (pose.blink > 0 && cavity === 0) {
        for (let e = 0; e < rig.eyes.length; e++) {
          const eye = rig.eyes[e];
          const ax = (x - eye.x) / eye.halfWidth;
          if (ax <= -1 || ax >= 1) continue;
          // The eye's opening as an ellipse; the upper lid comes down over its top part.
          const half = ((eye.lower - eye.upper) / 2) * Math.sqrt(1 - ax * ax);
          const mid = (eye.upper + eye.lower) / 2;
          const lidEdge = mid - half + pose.blink * (2 * half + 0.5);
          if (y < mid - half - 1 || y > lidEdge + 1) continue;
          lid = Math.min(1, lidEdge + 0.5 - y) * (1 - smooth(0.8, 1, Math.abs(ax)));
          if (lid > 0) {
            // Lid skin is the skin just above the eye, stretched down.
            const span = eye.lower - eye.upper;
            sample(x, mid - half - span * 0.3 - (lidEdge - y) * 0.25);
            const shade = 0.9 + 0.1 * (1 - (lidEdge - y) / (2 * half + 1));
            const lash = 1 - 0.55 * Math.max(0, 1 - Math.abs(lidEdge - y - 0.7) / 1.3) * pose.blink;
            const lr = rgb[0] * shade * lash;
            const lg = rgb[1] * shade * lash;
            const lb = rgb[2] * shade * lash;
            sample(x, y);
            out[o] = rgb[0] + (lr - rgb[0]) * lid;
            out[o + 1] = rgb[1] + (lg - rgb[1]) * lid;
            out[o + 2] = rgb[2] + (lb - rgb[2]) * lid;
          }
          break;
        }
        if (lid > 0) continue;
      }
      if (cavity > 0) {
        const u = (y - top) / (bottom - top);
        const across = Math.sin(Math.PI * t);
        const shade = 0.45 + 0.55 * across;
        const tongue = smooth(0.6, 1, u);
        let r = (30 + 62 * tongue) * shade;
        let g = (12 + 18 * tongue) * shade;
        let b = (14 + 20 * tongue) * shade;
        // Upper teeth: a band under the upper lip, narrower than the mouth, shaded at its edge.
        const teethDepth = Math.min(0.38, 3.5 / Math.max(1, bottom - top) + 0.18);
        const tw = (1 - smooth(0.22, 0.36, Math.abs(t - 0.5))) * (1 - smooth(teethDepth * 0.7, teethDepth, u)) * (0.55 + 0.45 * across);
        // The upper lip shades the top of the teeth; they are brightest just above their edge.
        const tShade = 0.62 + 0.3 * smooth(0, teethDepth * 0.6, u);
        r += (200 * tShade - r) * tw;
        g += (190 * tShade - g) * tw;
        b += (176 * tShade - b) * tw;
        // Blend into the lips over a pixel and a half, with the lip colour at the nearer edge.
        const upperEdge = y - top < bottom - y;
        sample(x, upperEdge ? seam - 0.5 : seam + 0.5);
        const a = cavity * smooth(0, 1.6, upperEdge ? y - top : bottom - y);
        out[o] = rgb[0] + (r - rgb[0]) * a;
        out[o + 1] = rgb[1] + (g - rgb[1]) * a;
        out[o + 2] = rgb[2] + (b - rgb[2]) * a;
        continue;
      }
      sample(x, y);
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
    }
  }
}
