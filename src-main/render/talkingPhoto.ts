import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AvatarLayout, Background, Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { decodeImage, encodePng, type RgbImage } from '../media/image';
import { FrameWarper } from '../avatars/warpWorker';
import { melSpectrogram, melWindows, resampleTo16k } from '../lipsync/mel';
import { cropRgb, openWav2Lip, pasteBack, prepareFaceInput } from '../lipsync/wav2lip';
import { decodeWav } from '../voices/wav';
import { NEUTRAL_POSE, VISEME_POSE, patchRect, scaleRig, type FramePose, type WarpRig } from '../avatars/warp';
import { PHOTO_FILE, type PhotoAvatarData } from '../avatars/prepare';
import { bubbleGeometry, sceneWindows, type AvatarOverlay } from './compose';
import { personCrop, personMask, SEGMENT_MODEL } from '../avatars/segment';
import { resolveModel } from '../models/catalogue';
import { copyOut, fileIdentity, type SharedWork } from './shared';
import type { AvatarFrame, Timeline } from './stages';
import { fileDigest, type Stage } from './stage';

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

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One way the avatar is laid out, and the scenes that use it. */
export interface AvatarGeometry {
  layout: AvatarLayout;
  /** Cut out of its own background, standing on the scene's. */
  cutout: boolean;
  /** Scale from the avatar's source pixels to the output. */
  scale: number;
  /** The region of the scaled source that is shown. */
  view: Rect;
  /** Where the view's top-left lands in the frame. */
  at: { x: number; y: number };
  /** Indexes of the scenes laid out this way. */
  scenes: number[];
}

const even = (v: number) => Math.round(v / 2) * 2;

/** The template's brand colour, unless the project has its own. */
export function brandPrimary(template: Template, project: Project): string {
  return project.brand?.primary ?? template.brand.primary;
}

/**
 * Where the avatar goes in each scene: 'full' fills the frame, cropped around the face; 'left' and
 * 'right' show head and shoulders beside the background (a card, or the cut-out person standing on
 * the frame's bottom edge); 'bubble' is a circle of head and shoulders in the bottom-right corner.
 * Scenes laid out alike share one geometry.
 */
export function layoutAvatar(source: { width: number; height: number; rig: WarpRig }, template: Template, project: Project, size: { width: number; height: number }): AvatarGeometry[] {
  const { rig } = source;
  const cutoutTemplate = template.avatar.background === 'cutout';
  const geometries = new Map<AvatarLayout, AvatarGeometry>();
  project.scenes.forEach((scene, index) => {
    const layout = scene.avatarLayout ?? template.avatar.layout;
    const known = geometries.get(layout);
    if (known) return void known.scenes.push(index);
    const cutout = cutoutTemplate && layout !== 'bubble';
    geometries.set(layout, { layout, cutout, scenes: [index], ...place(layout, cutout) });
  });
  return [...geometries.values()];

  function place(layout: AvatarLayout, cutout: boolean): Pick<AvatarGeometry, 'scale' | 'view' | 'at'> {
    if (layout === 'full') {
      const scale = Math.max(size.width / source.width, size.height / source.height);
      const sw = Math.round(source.width * scale);
      const sh = Math.round(source.height * scale);
      const x = Math.min(sw - size.width, Math.max(0, even(rig.faceCentre.x * scale - size.width / 2)));
      const y = Math.min(sh - size.height, Math.max(0, even(rig.faceCentre.y * scale - size.height * 0.42)));
      return { scale, view: { x, y, ...size }, at: { x: 0, y: 0 } };
    }
    if (layout === 'bubble') {
      // The same circle as the presenter's, so a template looks alike with either avatar.
      const bubble = bubbleGeometry(template, size);
      const diameter = bubble.diameter;
      // Head and shoulders: a square of about two and a half face heights, a little below the face's centre.
      const side = Math.min(source.width, source.height, rig.faceHeight * 2.5);
      const scale = diameter / side;
      const sw = Math.round(source.width * scale);
      const sh = Math.round(source.height * scale);
      const view = {
        x: Math.min(Math.max(0, sw - diameter), Math.max(0, Math.round(rig.faceCentre.x * scale - diameter / 2))),
        y: Math.min(Math.max(0, sh - diameter), Math.max(0, Math.round((rig.faceCentre.y + rig.faceHeight * 0.3) * scale - diameter / 2))),
        width: Math.min(diameter, sw),
        height: Math.min(diameter, sh),
      };
      return { scale, view, at: { x: bubble.x, y: bubble.y } };
    }
    const patch = patchRect(rig, source);
    const height = even(Math.min(0.9, template.avatar.scale) * size.height);
    const width = even(height * 0.75);
    const regionH = Math.min(source.height, Math.max(patch.height * 1.25, (patch.width * 1.25) / 0.75));
    const scale = height / regionH;
    const sw = Math.round(source.width * scale);
    const sh = Math.round(source.height * scale);
    const cx = (patch.x + patch.width / 2) * scale;
    const cy = (patch.y + patch.height / 2) * scale;
    const view = {
      x: Math.min(Math.max(0, sw - width), Math.max(0, even(cx - width / 2))),
      y: Math.min(Math.max(0, sh - height), Math.max(0, even(cy - height / 2))),
      width: Math.min(width, sw),
      height: Math.min(height, sh),
    };
    const margin = even(size.width * 0.06);
    const x = layout === 'left' ? margin : size.width - margin - view.width;
    const top = even((size.height - view.height) / 2);
    if (!cutout) return { scale, view, at: { x, y: top } };
    // A cut-out person is not cut off in mid-air: the view runs down to the photo's bottom or
    // the frame's, whichever comes first, and stands on the frame's bottom edge; it is as wide as
    // it is high, so the shoulders are not cut straight where a card's edge would be.
    view.height = Math.floor(Math.min(sh - view.y, size.height - top) / 2) * 2;
    const wide = Math.min(sw, even(Math.max(width, view.height)), size.width - margin * 2);
    view.x = Math.min(Math.max(0, sw - wide), Math.max(0, even(cx - wide / 2)));
    view.width = Math.floor(Math.min(wide, sw - view.x) / 2) * 2;
    const side = layout === 'left' ? margin - (view.width - width) / 2 : size.width - margin - view.width + (view.width - width) / 2;
    return { scale, view, at: { x: even(Math.min(size.width - view.width, Math.max(0, side))), y: size.height - view.height } };
  }
}

/**
 * An ffmpeg expression of t that is true during the given scenes' windows (scenes switch at the
 * middle of the pause between them). Undefined when the scenes are all of them.
 */
export function sceneEnable(scenes: number[], timeline: Timeline): string | undefined {
  if (scenes.length === timeline.scenes.length) return undefined;
  const windows = sceneWindows(timeline);
  const last = windows.length - 1;
  // Half-open windows, so at a switch exactly one layout shows; the last one runs past the end.
  return scenes.map((i) => `gte(t,${windows[i].from.toFixed(3)})*lt(t,${i === last ? '1e9' : windows[i].to.toFixed(3)})`).join('+');
}

/** The overlay filter's enable option for a geometry ('' when it is on throughout). */
export function enableOption(scenes: number[], timeline: Timeline): string {
  const expr = sceneEnable(scenes, timeline);
  return expr ? `:enable='${expr}'` : '';
}

/** A single-channel picture as the grey RGB image encodePng writes. */
export function greyImage(width: number, height: number, alpha: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = Math.round(255 * Math.min(1, Math.max(0, alpha(x, y))));
      const o = (y * width + x) * 3;
      data[o] = a;
      data[o + 1] = a;
      data[o + 2] = a;
    }
  }
  return { width, height, data };
}

/** Coverage (0..1) of a rounded rectangle at pixel (x, y), grown by `grow` pixels. */
function roundedCoverage(width: number, height: number, radius: number, x: number, y: number, grow = 0): number {
  const dx = Math.max(radius - x - grow, 0, x - (width - 1 - radius) - grow);
  const dy = Math.max(radius - y - grow, 0, y - (height - 1 - radius) - grow);
  return radius + grow - Math.hypot(dx, dy);
}

/** The bubble's circle: its coverage with a soft edge, and how much of the ring covers it. */
export function bubbleShape(diameter: number) {
  const r = diameter / 2;
  const ring = Math.max(3, Math.round(diameter * 0.03));
  const soft = Math.max(1, diameter * 0.006);
  const dist = (x: number, y: number) => Math.hypot(x + 0.5 - r, y + 0.5 - r);
  return {
    ring,
    coverage: (x: number, y: number) => Math.min(1, Math.max(0, (r - dist(x, y)) / soft + 0.5)),
    ringAmount: (x: number, y: number) => Math.min(1, Math.max(0, dist(x, y) - (r - ring) + 0.5)),
  };
}

/** `#rrggbb` as [r, g, b]. */
export function parseColour(colour: string): [number, number, number] {
  const v = parseInt(colour.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

interface Layer {
  /** The layer's pixels and alpha, and where the view's top-left sits in it. */
  rgb: RgbImage;
  alpha: RgbImage;
  viewAt: { x: number; y: number };
  /** Where the moving patch may show, in view pixels (0..1). */
  inner: (x: number, y: number) => number;
}

/**
 * What stands still of one geometry, with its alpha: the card (rounded, with a soft shadow), the
 * cut-out person, or the bubble with its ring. 'full' with its own background has none: the
 * photo is the scene's background.
 */
function buildLayer(geometry: AvatarGeometry, photo: RgbImage, mask: ((x: number, y: number) => number) | undefined, brand: string): Layer | undefined {
  const { view } = geometry;
  const pixel = (x: number, y: number, c: number) => photo.data[((view.y + y) * photo.width + view.x + x) * 3 + c];
  if (geometry.cutout) {
    const rgb = cropImage(photo, view);
    const inner = (x: number, y: number) => mask!(view.x + x, view.y + y);
    return { rgb, alpha: greyImage(view.width, view.height, inner), viewAt: { x: 0, y: 0 }, inner };
  }
  if (geometry.layout === 'full') return undefined;
  if (geometry.layout === 'bubble') {
    const shape = bubbleShape(view.width);
    const colour = parseColour(brand);
    const rgb = cropImage(photo, view);
    for (let y = 0; y < view.height; y++) {
      for (let x = 0; x < view.width; x++) {
        const k = shape.ringAmount(x, y);
        if (k <= 0) continue;
        const o = (y * view.width + x) * 3;
        for (let c = 0; c < 3; c++) rgb.data[o + c] = Math.round(rgb.data[o + c] + (colour[c] - rgb.data[o + c]) * k);
      }
    }
    return {
      rgb,
      alpha: greyImage(view.width, view.height, shape.coverage),
      viewAt: { x: 0, y: 0 },
      inner: (x, y) => shape.coverage(x, y) * (1 - shape.ringAmount(x, y)),
    };
  }
  const radius = Math.round(view.height * 0.035);
  const shadow = Math.round(view.height * 0.03);
  const pad = shadow * 2;
  const width = view.width + pad * 2;
  const height = view.height + pad * 2;
  const rgb = new Uint8Array(width * height * 3);
  const alpha = greyImage(width, height, (lx, ly) => {
    const x = lx - pad;
    const y = ly - pad;
    const coverage = Math.min(1, Math.max(0, roundedCoverage(view.width, view.height, radius, x, y) + 0.5));
    const dark = 0.45 * Math.min(1, Math.max(0, roundedCoverage(view.width, view.height, radius, x, y - shadow * 0.5, shadow) / shadow));
    const a = coverage + (1 - coverage) * dark;
    // Straight (not premultiplied) colour: the photo's share of what this pixel shows.
    if (coverage > 0) for (let c = 0; c < 3; c++) rgb[(ly * width + lx) * 3 + c] = Math.round((pixel(x, y, c) * coverage) / a);
    return a;
  });
  return { rgb: { width, height, data: rgb }, alpha, viewAt: { x: pad, y: pad }, inner: () => 1 };
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
  /** The batch's shared work, when the render is one row of a batch. */
  shared?: SharedWork;
}

export interface TalkingPhotoOutput {
  /** Which engine animated the mouth, and the onnxruntime provider it ran on (the warp runs in JS workers). */
  engine: { name: 'warp' | 'wav2lip'; provider: string };
  /**
   * Per scene, what lies under the avatar: the scene's own background, except with the layout
   * 'full' and the avatar's own background kept, where the photo itself is the background.
   */
  backgrounds: Background[];
  /** The avatar over the backgrounds: per geometry, its still layer with alpha and the moving patch. */
  overlay: AvatarOverlay;
  /** What the overlay's feed warps: the picture at working scale, its rig, the patch and a pose per frame. */
  warp: { source: RgbImage; rig: WarpRig; patch: { x: number; y: number; width: number; height: number }; poses: FramePose[] };
  /** How the avatar is laid out, per distinct geometry. */
  geometries: AvatarGeometry[];
}

/**
 * Most pixels a frame's warp may touch. Above it the patch is warped at a lower scale and ffmpeg
 * enlarges it (feathered into the still, so no edge shows): a 2160p close-up must not cost 40x
 * a 720p one. At this size two workers keep the mouth-shape warp above 30 frames per second here.
 */
export const PATCH_PIXEL_BUDGET = 320_000;
const FEATHER = 0.08;

/** Opaque inside a width x height patch, fading to nothing over its outer edge. */
function feather(width: number, height: number): (x: number, y: number) => number {
  const band = Math.max(2, Math.round(Math.min(width, height) * FEATHER));
  return (x, y) => {
    const d = Math.min(x, y, width - 1 - x, height - 1 - y) / band;
    return d >= 1 ? 1 : d <= 0 ? 0 : d * d * (3 - 2 * d);
  };
}

/** A source-sized mask sampled bilinearly at pixel (x, y) of the picture scaled by `scale`, 0..1. */
function maskSampler(mask: Uint8Array, width: number, height: number, scale: number): (x: number, y: number) => number {
  return (x, y) => {
    const sx = Math.min(width - 1, Math.max(0, (x + 0.5) / scale - 0.5));
    const sy = Math.min(height - 1, Math.max(0, (y + 0.5) / scale - 0.5));
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const x1 = Math.min(width - 1, x0 + 1);
    const y1 = Math.min(height - 1, y0 + 1);
    const fx = sx - x0;
    const fy = sy - y0;
    const top = mask[y0 * width + x0] + (mask[y0 * width + x1] - mask[y0 * width + x0]) * fx;
    const bottom = mask[y1 * width + x0] + (mask[y1 * width + x1] - mask[y1 * width + x0]) * fx;
    return (top + (bottom - top) * fy) / 255;
  };
}

/** The parts of a talking photo that the speech does not change, named by their files' places. */
interface PhotoPreparation {
  geometries: AvatarGeometry[];
  /** Per geometry, where the view's top-left sits in its still layer (files avatar-layer-i.png, avatar-alpha-i.png), if it has one. */
  layers: ({ viewAt: { x: number; y: number } } | undefined)[];
  /** Per geometry without a layer: the photo itself is its scenes' background (photo-still-i.png). */
  stills: boolean[];
  /** Per geometry where the patch shows: the patch at its scale and the part shown (mask avatar-patch-mask-i.png). */
  placed: ({ scaledPatch: Rect; region: Rect } | undefined)[];
  /** The picture the patch is warped in (WORK_FILE), and the patch. */
  workSize: { width: number; height: number };
  patch: Rect;
}

const WORK_FILE = 'work.rgb';

/**
 * Lay the avatar out and make what stands still of it: the person's cut-out, each layout's still
 * layer with alpha, and the masks the moving patch is shown through. Writes its pictures into `dir`.
 */
async function preparePhotoLayers(input: TalkingPhotoInput, dir: string): Promise<{ preparation: PhotoPreparation; work: RgbImage }> {
  const { avatar, size, project, template } = input;
  const { data } = avatar;
  const geometries = layoutAvatar(data, template, project, size);
  const photoPath = join(avatar.dir, PHOTO_FILE);
  const scaled = (scale: number) => ({ width: Math.round(data.width * scale), height: Math.round(data.height * scale) });

  let person: Uint8Array | undefined;
  if (geometries.some((g) => g.cutout)) {
    const source = await decodeImage(photoPath);
    person = await personMask(source, { crop: personCrop(data.face, source) });
  }

  const layers: (Layer | undefined)[] = [];
  const photos = new Map<number, RgbImage>();
  for (const [i, geometry] of geometries.entries()) {
    const outSize = scaled(geometry.scale);
    const photo = photos.get(geometry.scale) ?? (await decodeImage(photoPath, { size: outSize }));
    photos.set(geometry.scale, photo);
    const mask = person && maskSampler(person, data.width, data.height, outSize.width / data.width);
    const layer = buildLayer(geometry, photo, mask, brandPrimary(template, project));
    layers.push(layer);
    if (layer) {
      await encodePng(layer.rgb, join(dir, `avatar-layer-${i}.png`));
      await encodePng(layer.alpha, join(dir, `avatar-alpha-${i}.png`));
    } else {
      await encodePng(cropImage(photo, geometry.view), join(dir, `photo-still-${i}.png`));
    }
  }

  // The patch is warped once, at the largest scale a geometry shows it (or lower, see the budget).
  // Only the part of the patch some geometry shows is warped.
  const shownX0 = Math.min(...geometries.map((g) => g.view.x / g.scale));
  const shownY0 = Math.min(...geometries.map((g) => g.view.y / g.scale));
  const shownX1 = Math.max(...geometries.map((g) => (g.view.x + g.view.width) / g.scale));
  const shownY1 = Math.max(...geometries.map((g) => (g.view.y + g.view.height) / g.scale));
  const top = Math.max(...geometries.map((g) => g.scale));
  const inTop = (size: { width: number; height: number }) => {
    const full = patchRect(scaleRig(data.rig, size.width / data.width, size.height / data.height), size);
    const k = size.width / data.width;
    const x0 = Math.max(full.x, shownX0 * k);
    const y0 = Math.max(full.y, shownY0 * k);
    const x1 = Math.min(full.x + full.width, shownX1 * k);
    const y1 = Math.min(full.y + full.height, shownY1 * k);
    return { x: Math.floor(x0 / 2) * 2, y: Math.floor(y0 / 2) * 2, width: Math.floor((x1 - Math.floor(x0 / 2) * 2) / 2) * 2, height: Math.floor((y1 - Math.floor(y0 / 2) * 2) / 2) * 2 };
  };
  const topPatch = inTop(scaled(top));
  const shrink = Math.min(1, Math.sqrt(PATCH_PIXEL_BUDGET / (topPatch.width * topPatch.height)));
  const workSize = scaled(top * shrink);
  const work = photos.get(top * shrink) ?? (await decodeImage(photoPath, { size: workSize }));
  const patch = inTop(workSize);

  // Per geometry: the patch enlarged to its scale, cut to what the view shows, and its mask there.
  const placed: PhotoPreparation['placed'] = [];
  for (const [i, geometry] of geometries.entries()) {
    const shown = scaled(geometry.scale);
    const kx = shown.width / workSize.width;
    const ky = shown.height / workSize.height;
    const scaledPatch = { x: Math.round(patch.x * kx), y: Math.round(patch.y * ky), width: Math.round(patch.width * kx), height: Math.round(patch.height * ky) };
    const { view } = geometry;
    const x0 = Math.max(scaledPatch.x, view.x);
    const y0 = Math.max(scaledPatch.y, view.y);
    const x1 = Math.min(scaledPatch.x + scaledPatch.width, view.x + view.width);
    const y1 = Math.min(scaledPatch.y + scaledPatch.height, view.y + view.height);
    if (x1 - x0 < 2 || y1 - y0 < 2) {
      placed.push(undefined);
      continue;
    }
    const region = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    const fade = feather(scaledPatch.width, scaledPatch.height);
    const layer = layers[i];
    await encodePng(
      greyImage(region.width, region.height, (x, y) => fade(x + x0 - scaledPatch.x, y + y0 - scaledPatch.y) * (layer ? layer.inner(x + x0 - view.x, y + y0 - view.y) : 1)),
      join(dir, `avatar-patch-mask-${i}.png`),
    );
    placed.push({ scaledPatch, region });
  }
  const preparation: PhotoPreparation = {
    geometries,
    layers: layers.map((layer) => layer && { viewAt: layer.viewAt }),
    stills: layers.map((layer) => !layer),
    placed,
    workSize,
    patch,
  };
  return { preparation, work };
}

/** The files preparePhotoLayers writes for a preparation. */
function preparedFiles(preparation: PhotoPreparation): string[] {
  return preparation.geometries.flatMap((_, i) => [
    ...(preparation.layers[i] ? [`avatar-layer-${i}.png`, `avatar-alpha-${i}.png`] : []),
    ...(preparation.stills[i] ? [`photo-still-${i}.png`] : []),
    ...(preparation.placed[i] ? [`avatar-patch-mask-${i}.png`] : []),
  ]);
}

/**
 * The photo's preparation from the batch's shared work when another row made it: it depends on
 * the photo, the layout of the scenes, the template, the size and the segmentation model, never
 * on the speech. Its files are copied into the work folder, where the compose reads them.
 */
async function sharedPhoto(input: TalkingPhotoInput, shared: SharedWork): Promise<{ preparation: PhotoPreparation; work: RgbImage }> {
  const { avatar, size, project, template, workDir } = input;
  const cutout = layoutAvatar(avatar.data, template, project, size).some((g) => g.cutout);
  const key = {
    avatar: avatar.data,
    photo: await fileIdentity(join(avatar.dir, PHOTO_FILE)),
    template,
    layouts: project.scenes.map((scene) => scene.avatarLayout ?? null),
    brand: brandPrimary(template, project),
    size,
    segmentation: cutout ? await fileIdentity(await resolveModel(SEGMENT_MODEL)) : null,
  };
  let made: RgbImage | undefined;
  const { value, dir } = await shared.entry('avatar:photo', 'photo', key, async (dir) => {
    const { preparation, work } = await preparePhotoLayers(input, dir);
    await writeFile(join(dir, WORK_FILE), work.data);
    made = work;
    return preparation;
  });
  for (const name of preparedFiles(value)) await copyOut(join(dir, name), join(workDir, name));
  const work = made ?? { ...value.workSize, data: new Uint8Array(await readFile(join(dir, WORK_FILE))) };
  return { preparation: value, work };
}

/**
 * The talking photo: per layout its scenes use, a still layer (the card, the cut-out person or the
 * bubble) with alpha, and over it the patch around the face, warped per frame in worker threads
 * and streamed raw into the compose run. The scene backgrounds stay compose's.
 */
export const talkingPhotoStage: Stage<TalkingPhotoInput, TalkingPhotoOutput> = async (input, { signal, report }) => {
  const { avatar, workDir, fps, project, template } = input;
  const { data } = avatar;
  const { preparation, work } = input.shared ? await sharedPhoto(input, input.shared) : await preparePhotoLayers(input, workDir);
  const { geometries, layers, patch } = preparation;
  report(0.1);
  const backgrounds: Background[] = project.scenes.map((scene) => scene.background ?? template.background);
  geometries.forEach((geometry, i) => {
    if (!preparation.stills[i]) return;
    for (const scene of geometry.scenes) backgrounds[scene] = { type: 'image', path: join(workDir, `photo-still-${i}.png`) };
  });
  const rig = scaleRig(data.rig, work.width / data.width, work.height / data.height);
  const placed = preparation.placed.map((p, i) => p && { ...p, maskPath: join(workDir, `avatar-patch-mask-${i}.png`) });

  const poses = posesFromFrames(input.frames, fps, rig);
  const lipSync = input.wav2lip
    ? await wav2lipFrames({ model: input.wav2lip, work, data, patch, frames: poses.length, fps, wavPath: input.timeline.wavPath, signal })
    : undefined;
  report(1);

  const inputArgs = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${patch.width}x${patch.height}`, '-framerate', String(fps), '-i', 'pipe:0'];
  geometries.forEach((_, i) => {
    if (layers[i]) inputArgs.push('-framerate', String(fps), '-i', join(workDir, `avatar-layer-${i}.png`), '-i', join(workDir, `avatar-alpha-${i}.png`));
    if (placed[i]) inputArgs.push('-i', placed[i]!.maskPath);
  });
  const shown = placed.filter(Boolean).length;
  return {
    backgrounds,
    geometries,
    overlay: {
      inputArgs,
      overlay: ([patchInput, ...rest], base, out) => {
        const parts: string[] = [];
        // Every input is consumed, even the patch of a geometry where it is not shown.
        parts.push(shown > 0 ? `[${patchInput}:v]split=${shown}${placed.flatMap((p, i) => (p ? [`[pa${i}]`] : [])).join('')}` : `[${patchInput}:v]nullsink`);
        let next = 0;
        let current = base;
        geometries.forEach((geometry, i) => {
          const layer = layers[i];
          const p = placed[i];
          const enable = enableOption(geometry.scenes, input.timeline);
          const label = i === geometries.length - 1 ? out : `avatar${i}`;
          const stillInput = layer ? rest[next++] : undefined;
          const alphaInput = layer ? rest[next++] : undefined;
          const maskInput = p ? rest[next++] : undefined;
          if (p) {
            parts.push(
              `[${maskInput}:v]format=gray,loop=loop=-1:size=1:start=0[pm${i}]`,
              `[pa${i}]scale=${p.scaledPatch.width}:${p.scaledPatch.height}:flags=bicubic,crop=${p.region.width}:${p.region.height}:${p.region.x - p.scaledPatch.x}:${p.region.y - p.scaledPatch.y}:exact=1,format=yuv420p[pc${i}]`,
              `[pc${i}][pm${i}]alphamerge[pt${i}]`,
            );
          }
          if (!layer) {
            const x = geometry.at.x + p!.region.x - geometry.view.x;
            const y = geometry.at.y + p!.region.y - geometry.view.y;
            parts.push(`[${current}][pt${i}]overlay=x=${x}:y=${y}:format=yuv420:eof_action=repeat:shortest=0${enable}[${label}]`);
            current = label;
            return;
          }
          parts.push(`[${stillInput}:v]loop=loop=-1:size=1:start=0,format=yuv420p[st${i}]`);
          if (p) {
            const x = layer.viewAt.x + p.region.x - geometry.view.x;
            const y = layer.viewAt.y + p.region.y - geometry.view.y;
            parts.push(`[st${i}][pt${i}]overlay=x=${x}:y=${y}:format=yuv420:eof_action=repeat:shortest=0[sc${i}]`);
          } else {
            parts.push(`[st${i}]null[sc${i}]`);
          }
          parts.push(
            `[${alphaInput}:v]format=gray,loop=loop=-1:size=1:start=0[sa${i}]`,
            `[sc${i}][sa${i}]alphamerge[layer${i}]`,
            `[${current}][layer${i}]overlay=x=${geometry.at.x - layer.viewAt.x}:y=${geometry.at.y - layer.viewAt.y}:format=yuv420:eof_action=repeat:shortest=0${enable}[${label}]`,
          );
          current = label;
        });
        return parts.join(';');
      },
      feed: lipSync
        ? (write, from = 0) => lipSync.feed(write, from)
        : async (write, from = 0) => {
            const warper = new FrameWarper(work, rig, patch);
            try {
              await warper.run(poses.slice(from), write, signal);
            } finally {
              await warper.close();
            }
          },
      fingerprint: createHash('sha256')
        .update(JSON.stringify({ rig, patch, poses, size: [work.width, work.height], wav2lip: input.wav2lip && { path: input.wav2lip, file: await fileDigest(input.wav2lip) } }))
        .update(work.data)
        .digest('hex'),
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
  // Opened now so a bad model fails the stage, not the compose; a second feed (a software retry of
  // the encode) opens its own, since each feed releases the one it used.
  let opened: Awaited<ReturnType<typeof openWav2Lip>> | undefined = await openWav2Lip(options.model);
  const provider = opened.provider;
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
    provider,
    /** Frames `from` to the last; each frame's mel window is its own, so a feed may start anywhere. */
    async feed(write: (frame: Uint8Array) => Promise<void>, from: number) {
      const model = opened ?? (await openWav2Lip(options.model));
      opened = undefined;
      try {
        for (let first = from; first < frames && !signal.aborted; first += WAV2LIP_BATCH) {
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
