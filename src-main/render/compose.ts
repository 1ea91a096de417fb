import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { Background, LogoPosition, Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { ffmpegPath, openFfmpegSink, runFfmpeg, type FfmpegRun } from '../media/ffmpeg';
import { countTsVideoFrames } from '../media/frames';
import { resourcesDir } from '../paths';
import { captionStyleFor, toAss, type Cue } from './captions';
import { writeAtomic, type Timeline } from './stages';
import { SOFTWARE_ENCODER, encodeWithFallback, encoderArgs, type EncoderChoice } from '../media/encoders';
import { fileDigest, type Stage } from './stage';
import { fileIdentity, type SharedWork } from './shared';

export const AUDIO_CODEC_ARGS = ['-c:a', 'aac', '-b:a', '160k', '-ar', '48000'];

/** Quote a path for an ffmpeg filter argument (Windows drive colons and quotes included). */
export function filterPath(path: string): string {
  return `'${path.replace(/\\/g, '/').replace(/'/g, "'\\\\''").replace(/:/g, '\\:')}'`;
}

/** Each scene's time on screen: from the middle of the pause before it to the middle of the pause after it. */
export function sceneWindows(timeline: Timeline): { from: number; to: number }[] {
  const { scenes } = timeline;
  return scenes.map((scene, i) => ({
    from: i === 0 ? 0 : (scenes[i - 1].end + scene.start) / 2,
    to: i === scenes.length - 1 ? timeline.duration : (scene.end + scenes[i + 1].start) / 2,
  }));
}

/** An ffmpeg `enable` expression true during the given scenes' windows. */
export function enableDuring(sceneIndexes: number[], timeline: Timeline): string {
  const windows = sceneWindows(timeline);
  return sceneIndexes.map((i) => `between(t,${windows[i].from.toFixed(3)},${windows[i].to.toFixed(3)})`).join('+') || '0';
}

function backgroundSvg(background: Background, width: number, height: number): string {
  if (background.type === 'colour') {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${background.colour}"/></svg>`;
  }
  if (background.type === 'gradient') {
    const radians = ((background.angle - 90) * Math.PI) / 180;
    const [dx, dy] = [Math.cos(radians) / 2, Math.sin(radians) / 2];
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>
<linearGradient id="g" x1="${0.5 - dx}" y1="${0.5 - dy}" x2="${0.5 + dx}" y2="${0.5 + dy}"><stop offset="0" stop-color="${background.from}"/><stop offset="1" stop-color="${background.to}"/></linearGradient>
<radialGradient id="v" cx="0.5" cy="0.42" r="0.75"><stop offset="0.55" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.35"/></radialGradient>
</defs><rect width="100%" height="100%" fill="url(#g)"/><rect width="100%" height="100%" fill="url(#v)"/></svg>`;
  }
  throw new Error('image and video backgrounds are scaled by ffmpeg');
}

/**
 * Every still of the base track is RGBA like the ones resvg draws: a change of pixel format midway
 * through ffmpeg's concat input re-initialises the whole filter graph, which breaks the overlays'
 * timing (frozen frames, scenes out of place).
 */
const STILL_FORMAT = ['-frames:v', '1', '-pix_fmt', 'rgba', '-f', 'image2', '-c:v', 'png'];

/** One still per distinct background, at the output size. */
export async function renderBackground(background: Background, width: number, height: number, path: string, signal: AbortSignal): Promise<void> {
  if (background.type === 'video' || background.type === 'image') {
    // A video's first frame stands for it under its overlay while it fades in.
    await runFfmpeg({
      args: ['-i', background.path, '-vf', `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height}`, ...STILL_FORMAT, path],
      signal,
      what: `background ${background.type} ${background.path}`,
    });
    return;
  }
  await writeAtomic(path, new Resvg(backgroundSvg(background, width, height)).render().asPng());
}

/**
 * A still that is the same for every row of a batch (a background, a card, the watermark): from
 * the batch's shared work when there is one, else drawn here. `key` holds everything it is drawn from.
 */
async function stillOnce(shared: SharedWork | undefined, label: string, key: unknown, path: string, draw: (path: string) => Promise<void>): Promise<void> {
  if (shared) await shared.file(label, 'still', key, path, draw);
  else await draw(path);
}

/** What decides a background's still: its own data, with a picture's or video's bytes rather than its path. */
async function backgroundKey(background: Background, size: { width: number; height: number }): Promise<unknown> {
  const source = background.type === 'image' || background.type === 'video' ? { type: background.type, file: await fileIdentity(background.path) } : background;
  return { source, size, ffmpeg: ffmpegPath(), format: STILL_FORMAT };
}

/** What decides an SVG drawn with our font. */
const svgKey = async (svg: string) => ({ svg, font: await fileIdentity(FONT_FILE()) });

/** The avatar's frames as ffmpeg inputs, and the filters that lay them over the background. */
export interface AvatarOverlay {
  inputArgs: string[];
  /**
   * Filter graph text that lays the avatar over the stream labelled `base` and labels the result
   * `out`; `inputs` are the input indexes of inputArgs' `-i`s, in order.
   */
  overlay(inputs: number[], base: string, out: string): string;
  /**
   * For an input read from `pipe:0`: writes its raw frames from frame `fromFrame` on (0 when
   * absent; later when a compose resumes) while ffmpeg composes, so making the avatar's frames and
   * encoding the video share the machine instead of taking turns. The pipe's rate goes in
   * `-framerate`: with `-r` ffmpeg restamps an input from zero, and a resumed compose's frames
   * would land too early.
   */
  feed?: (write: (frame: Uint8Array) => Promise<void>, fromFrame?: number) => Promise<void>;
  /** What decides the fed frames (a digest of the poses, the picture, the engine), so a resume never mixes two avatars. */
  fingerprint?: string;
}

/** An expression of t that takes each scene's value from the scene's start. */
export function perScene(values: number[], timeline: Timeline): string {
  let expr = String(values[values.length - 1]);
  for (let i = timeline.scenes.length - 2; i >= 0; i--) {
    expr = values[i] === values[i + 1] ? expr : `if(lt(t,${timeline.scenes[i + 1].start.toFixed(3)}),${values[i]},${expr})`;
  }
  return expr;
}

/** Diameter of the round bubble as a fraction of the frame height, when the template is not built around it. */
export const BUBBLE_SCALE = 0.34;

/** Where a bubble sits: the bottom-right corner, clear of the edge. */
export function bubbleGeometry(template: Template, size: { width: number; height: number }) {
  const wanted = (template.avatar.layout === 'bubble' ? template.avatar.scale : BUBBLE_SCALE) * size.height;
  // A corner bubble, not a centrepiece: in portrait the height would make it wider than half the frame.
  const diameter = 2 * Math.round(Math.min(wanted, 0.45 * Math.min(size.width, size.height)) / 2);
  const margin = Math.round(Math.min(size.width, size.height) * 0.04);
  return { diameter, x: size.width - margin - diameter, y: size.height - margin - diameter };
}

/** The bubble's disc: the brand's colour with a light ring, transparent outside the circle. */
export function bubbleDiscSvg(diameter: number, colour: string): string {
  const r = diameter / 2;
  const ring = Math.max(2, Math.round(diameter * 0.025));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${diameter}" height="${diameter}"><circle cx="${r}" cy="${r}" r="${r - 0.5}" fill="#ffffff"/><circle cx="${r}" cy="${r}" r="${r - ring}" fill="${colour}"/></svg>`;
}

/**
 * The built-in presenter's overlay: its sprites with a slow idle sway, standing where each scene's
 * layout says, or head and shoulders in a round bubble in the corner.
 */
export async function presenterOverlay(options: {
  listPath: string;
  sprite: { width: number; height: number };
  template: Template;
  project: Project;
  size: { width: number; height: number };
  fps: number;
  timeline: Timeline;
  workDir: string;
  shared?: SharedWork;
}): Promise<AvatarOverlay> {
  const { sprite, template, project, size, timeline } = options;
  const layouts = project.scenes.map((scene) => scene.avatarLayout ?? template.avatar.layout);
  const standing = layouts.flatMap((l, i) => (l === 'bubble' ? [] : [i]));
  const bubbled = layouts.flatMap((l, i) => (l === 'bubble' ? [i] : []));
  const x = layouts.map((layout) => {
    const centre = layout === 'left' ? 0.3 : layout === 'right' ? 0.7 : 0.5;
    return Math.round(Math.min(size.width - sprite.width * 0.75, Math.max(-sprite.width * 0.25, size.width * centre - sprite.width / 2)));
  });
  // A little below the frame's edge, so the idle sway never shows the bottom of the sprite.
  const y = size.height - sprite.height + Math.round(size.height * 0.01) + 3;
  const bubble = bubbleGeometry(template, size);
  const discPath = join(options.workDir, 'bubble-disc.png');
  if (bubbled.length) {
    const svg = bubbleDiscSvg(bubble.diameter, project.brand.primary ?? template.brand.primary);
    await stillOnce(options.shared, 'compose:bubble', await svgKey(svg), discPath, (path) => writeAtomic(path, renderSvg(svg)));
  }
  return {
    inputArgs: [
      ...['-f', 'concat', '-safe', '0', '-i', options.listPath],
      ...(bubbled.length ? ['-loop', '1', '-framerate', String(options.fps), '-i', discPath] : []),
    ],
    overlay: ([sprites, disc], base, out) => {
      const both = standing.length > 0 && bubbled.length > 0;
      const parts = [both ? `[${sprites}:v]split[pfull][phead]` : `[${sprites}:v]null[${standing.length ? 'pfull' : 'phead'}]`];
      let at = base;
      if (standing.length) {
        parts.push(
          `[${at}][pfull]overlay=x='${perScene(x, timeline)}+3*sin(2*PI*t/7.3)':y='${y}+2*sin(2*PI*t/4.1)':format=yuv420:eof_action=repeat:shortest=0:enable='${enableDuring(standing, timeline)}'[pstand]`,
        );
        at = 'pstand';
      }
      if (bubbled.length) {
        // Head and shoulders, framed square, on the disc, clipped to the circle.
        const side = Math.round(sprite.width * 0.7);
        const inner = 2 * Math.round((bubble.diameter * 0.94) / 2);
        parts.push(
          `[phead]crop=${side}:${side}:${Math.round((sprite.width - side) / 2)}:${Math.round(sprite.height * 0.07)},scale=${inner}:${inner}[headshot]`,
          `[${disc}:v]format=rgba,split[disc][discmask]`,
          `[discmask]alphaextract[circle]`,
          `[disc][headshot]overlay=x=${(bubble.diameter - inner) / 2}:y=${Math.round((bubble.diameter - inner) * 0.75)}:format=rgb:eof_action=repeat[headdisc]`,
          `[headdisc][circle]alphamerge[bubble]`,
          `[${at}][bubble]overlay=x=${bubble.x}:y=${bubble.y}:format=yuv420:enable='${enableDuring(bubbled, timeline)}'[pbubble]`,
        );
        at = 'pbubble';
      }
      parts.push(`[${at}]null[${out}]`);
      return parts.join(';');
    },
  };
}

export interface ComposeInput {
  timeline: Timeline;
  project: Project;
  template: Template;
  /** Each scene's background (the photo itself for a full-frame photo avatar that keeps its own). */
  backgrounds: Background[];
  avatar: AvatarOverlay;
  cues: Cue[];
  size: { width: number; height: number };
  fps: number;
  workDir: string;
  outputPath: string;
  encoder: EncoderChoice;
  /** The free tier's "Made with Mouthpiece" mark. */
  watermark: boolean;
  /** Length of the checkpointed segments; SEGMENT_SECONDS unless a test wants short ones. */
  segmentSeconds?: number;
  /** The batch's shared work, when the render is one row of a batch. */
  shared?: SharedWork;
}

export interface ComposeOutput {
  /** The encoder that wrote the file: the chosen one, or libx264 after a hardware encoder failed. */
  encoder: string;
  note?: string;
  /** Seconds of video an earlier, interrupted compose had already finished and this one kept. */
  resumedFrom?: number;
}

/** How long a crossfade between scenes takes; it happens inside the pause between them. */
export const FADE_SECONDS = 0.5;
const CARD_FADE = 0.4;

const FONT_FILE = () => join(resourcesDir(), 'fonts', 'Inter-Bold.ttf');

function renderSvg(svg: string): Buffer {
  return new Resvg(svg, { font: { fontFiles: [FONT_FILE()], loadSystemFonts: false, defaultFontFamily: 'Inter' } }).render().asPng();
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Greedy word wrap for card titles. */
function wrap(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= maxChars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.slice(0, 4);
}

/** An intro or outro card: the brand's gradient with the title in large type. */
export function cardSvg(text: string, colours: { primary: string; secondary: string }, size: { width: number; height: number }): string {
  const fontSize = Math.round(Math.min(size.width, size.height) * 0.085);
  const lines = wrap(text, Math.max(12, Math.floor((size.width * 0.8) / (fontSize * 0.56))));
  const lineHeight = fontSize * 1.2;
  const top = size.height / 2 - ((lines.length - 1) * lineHeight) / 2;
  const tspans = lines
    .map((line, i) => `<text x="50%" y="${(top + i * lineHeight).toFixed(1)}" text-anchor="middle" dominant-baseline="central" font-family="Inter" font-weight="700" font-size="${fontSize}" fill="#ffffff">${escapeXml(line)}</text>`)
    .join('');
  const bar = `<rect x="${(size.width / 2 - fontSize * 1.2).toFixed(1)}" y="${(top + (lines.length - 0.5) * lineHeight + fontSize * 0.3).toFixed(1)}" width="${(fontSize * 2.4).toFixed(1)}" height="${Math.max(4, Math.round(fontSize * 0.12))}" rx="3" fill="#ffffff" fill-opacity="0.7"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${colours.primary}"/><stop offset="1" stop-color="${colours.secondary}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${tspans}${bar}</svg>`;
}

/** The free tier's mark: small white type on a soft dark pill. */
export function watermarkSvg(size: { width: number; height: number }): { svg: string; width: number; height: number } {
  const fontSize = Math.max(14, Math.round(Math.min(size.width, size.height) * 0.028));
  const text = 'Made with Mouthpiece';
  const width = Math.round(fontSize * 0.6 * text.length + fontSize * 1.4);
  const height = Math.round(fontSize * 2);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" rx="${height / 2}" fill="#000000" fill-opacity="0.45"/><text x="50%" y="50%" text-anchor="middle" dominant-baseline="central" font-family="Inter" font-weight="700" font-size="${fontSize}" fill="#ffffff" fill-opacity="0.92">${text}</text></svg>`;
  return { svg, width, height };
}

/** Overlay coordinates of a corner, with a margin. */
function corner(position: LogoPosition, margin: number): { x: string; y: string } {
  return {
    x: position.endsWith('left') ? String(margin) : `main_w-overlay_w-${margin}`,
    y: position.startsWith('top') ? String(margin) : `main_h-overlay_h-${margin}`,
  };
}

/** ffmpeg's input arguments, counted so filters can name each input by its index. */
class Inputs {
  readonly args: string[] = [];
  private count = 0;

  /** Adds the arguments of one or more inputs; returns the index of the first. */
  add(...args: string[]): number {
    const first = this.count;
    this.args.push(...args);
    this.count += args.filter((a) => a === '-i').length;
    return first;
  }
}

/**
 * Compose and encode in one ffmpeg run: per-scene backgrounds (stills, or looping videos) with
 * cuts or crossfades, the avatar, burned-in captions through libass, cards, logo and watermark.
 * Pixels never enter JavaScript here: the filter graph does it all. The video is written in
 * segments of SEGMENT_SECONDS, each checkpointed in the work folder when finished, then joined
 * with the speech into an MP4 with faststart. Run again on the same work folder after a crash or
 * a cancel, it keeps the finished segments of the same video and encodes only the rest.
 */
export const composeStage: Stage<ComposeInput, ComposeOutput> = async (input, { signal, report }) => {
  const { timeline, template, project, size, fps, workDir } = input;
  const windows = sceneWindows(timeline);
  const transitions = project.scenes.map((scene, i) => (i === 0 ? 'cut' : (scene.transition ?? template.transition)));
  const colours = { primary: project.brand.primary ?? template.brand.primary, secondary: project.brand.secondary ?? template.brand.secondary };

  // One still per distinct background (a video's first frame stands in for it in the base track).
  const distinct = [...new Set(input.backgrounds.map((b) => JSON.stringify(b)))];
  const stillOf = (i: number) => join(workDir, `background-${distinct.indexOf(JSON.stringify(input.backgrounds[i]))}.png`);
  for (const [i, key] of distinct.entries()) {
    const background = JSON.parse(key) as Background;
    await stillOnce(input.shared, `compose:background-${i}`, await backgroundKey(background, size), join(workDir, `background-${i}.png`), (path) =>
      renderBackground(background, size.width, size.height, path, signal),
    );
  }
  // The base track switches scene at each window's start, or at the end of the crossfade into it.
  const switchAt = windows.map((w, i) => (i === 0 ? 0 : transitions[i] === 'fade' ? w.from + FADE_SECONDS / 2 : w.from));
  const bgLines = ['ffconcat version 1.0'];
  windows.forEach((_, i) => {
    const to = i === windows.length - 1 ? timeline.duration : switchAt[i + 1];
    bgLines.push(`file ${stillOf(i).split(/[\\/]/).pop()}`, `duration ${(to - switchAt[i]).toFixed(6)}`);
  });
  bgLines.push(bgLines[bgLines.length - 2]);
  await writeAtomic(join(workDir, 'background.ffconcat'), bgLines.join('\n') + '\n');

  const style = captionStyleFor(template, project);
  const burnCaptions = style.style !== 'none' && input.cues.length > 0;
  if (burnCaptions) await writeAtomic(join(workDir, 'captions.ass'), toAss(input.cues, style, size));

  const inputs = new Inputs();
  const graph: string[] = [];
  let last = 'bg';
  const step = (filter: string, label: string) => {
    graph.push(filter.replace('{in}', `[${last}]`) + `[${label}]`);
    last = label;
  };
  inputs.add('-f', 'concat', '-safe', '0', '-i', join(workDir, 'background.ffconcat'));
  // Converted to YUV once per still, before fps repeats it, rather than once per output frame.
  graph.push(`[0:v]format=yuv420p,fps=${fps}[bg]`);

  // Looping video backgrounds and crossfades: each lies over the base track during its own window.
  const fit = `scale=${size.width}:${size.height}:force_original_aspect_ratio=increase,crop=${size.width}:${size.height},fps=${fps}`;
  for (let i = 0; i < windows.length; i++) {
    const background = input.backgrounds[i];
    const fadeIn = transitions[i] === 'fade';
    const start = fadeIn ? windows[i].from - FADE_SECONDS / 2 : windows[i].from;
    if (background.type === 'video') {
      const end = i === windows.length - 1 ? timeline.duration : transitions[i + 1] === 'fade' ? windows[i].to + FADE_SECONDS / 2 : windows[i].to;
      const at = inputs.add('-stream_loop', '-1', '-t', (end - start).toFixed(3), '-i', background.path);
      graph.push(
        `[${at}:v]${fit},format=yuva420p${fadeIn ? `,fade=t=in:st=0:d=${FADE_SECONDS}:alpha=1` : ''},setpts=PTS-STARTPTS+${start.toFixed(3)}/TB[scene${i}]`,
      );
      step(`{in}[scene${i}]overlay=eof_action=pass:format=yuv420`, `bg${i}`);
    } else if (fadeIn) {
      const at = inputs.add('-loop', '1', '-framerate', String(fps), '-t', FADE_SECONDS.toFixed(3), '-i', stillOf(i));
      graph.push(`[${at}:v]format=yuva420p,fade=t=in:st=0:d=${FADE_SECONDS}:alpha=1,setpts=PTS-STARTPTS+${start.toFixed(3)}/TB[scene${i}]`);
      step(`{in}[scene${i}]overlay=eof_action=pass:format=yuv420`, `bg${i}`);
    }
  }

  const avatarFirst = inputs.add(...input.avatar.inputArgs);
  const avatarCount = input.avatar.inputArgs.filter((a) => a === '-i').length;
  graph.push(input.avatar.overlay(Array.from({ length: avatarCount }, (_, k) => avatarFirst + k), last, 'avatar'));
  last = 'avatar';

  if (burnCaptions) {
    step(`{in}subtitles=filename=${filterPath(join(workDir, 'captions.ass'))}:fontsdir=${filterPath(join(resourcesDir(), 'fonts'))}`, 'captioned');
  }

  for (const kind of ['intro', 'outro'] as const) {
    const card = timeline.cards?.[kind];
    if (!card) continue;
    const text = project[kind]?.text || (kind === 'intro' ? project.title : 'Thanks for watching');
    const path = join(workDir, `${kind}.png`);
    const svg = cardSvg(text, colours, size);
    await stillOnce(input.shared, `compose:${kind}`, await svgKey(svg), path, (to) => writeAtomic(to, renderSvg(svg)));
    const length = card.end - card.start;
    const at = inputs.add('-loop', '1', '-framerate', String(fps), '-t', length.toFixed(3), '-i', path);
    const fade = kind === 'intro' ? `fade=t=out:st=${(length - CARD_FADE).toFixed(3)}:d=${CARD_FADE}:alpha=1` : `fade=t=in:st=0:d=${CARD_FADE}:alpha=1`;
    graph.push(`[${at}:v]format=yuva420p,${fade},setpts=PTS-STARTPTS+${card.start.toFixed(3)}/TB[${kind}]`);
    step(`{in}[${kind}]overlay=eof_action=pass:format=yuv420`, `with${kind}`);
  }

  const margin = Math.round(Math.min(size.width, size.height) * 0.04);
  const logo = project.brand.logo;
  if (logo) {
    const at = inputs.add('-i', logo.path);
    const width = 2 * Math.round((logo.size * size.width) / 2);
    const { x, y } = corner(logo.position ?? template.brand.logoPosition, margin);
    // Scaled and decoded once, then repeated in memory.
    graph.push(`[${at}:v]scale=${width}:-2:flags=lanczos,format=rgba,loop=loop=-1:size=1:start=0[logo]`);
    step(`{in}[logo]overlay=x=${x}:y=${y}:format=yuv420:shortest=0`, 'withlogo');
  }
  if (input.watermark) {
    const mark = watermarkSvg(size);
    const path = join(workDir, 'watermark.png');
    await stillOnce(input.shared, 'compose:watermark', await svgKey(mark.svg), path, (to) => writeAtomic(to, renderSvg(mark.svg)));
    const at = inputs.add('-i', path);
    // Out of the logo's way.
    const position: LogoPosition = logo && (logo.position ?? template.brand.logoPosition) === 'bottom-right' ? 'bottom-left' : 'bottom-right';
    const { x, y } = corner(position, margin);
    graph.push(`[${at}:v]format=rgba,loop=loop=-1:size=1:start=0[mark]`);
    step(`{in}[mark]overlay=x=${x}:y=${y}:format=yuv420:shortest=0`, 'withmark');
  }
  report(0.02);

  const dir = join(workDir, SEGMENTS_DIR);
  await mkdir(dir, { recursive: true });
  // The speech is encoded beside the video, as one ffmpeg run used to do, so the join only copies.
  const audioPath = join(workDir, 'speech.m4a');
  const audio = runFfmpeg({
    args: ['-i', timeline.wavPath, '-map', '0:a', ...AUDIO_CODEC_ARGS, '-t', timeline.duration.toFixed(3), '-f', 'mp4', audioPath],
    signal,
    what: 'encoding the speech',
  });
  audio.catch(() => undefined);
  const segmentFrames = Math.max(1, Math.round((input.segmentSeconds ?? SEGMENT_SECONDS) * fps));
  // Everything the encode reads, so a resume never mixes segments of two different videos.
  const files = [timeline.wavPath, ...(burnCaptions ? [join(workDir, 'captions.ass')] : [])];
  for (const [i, arg] of inputs.args.entries()) {
    if (arg !== '-i' || inputs.args[i + 1] === 'pipe:0') continue;
    const path = inputs.args[i + 1];
    files.push(path, ...(await listedFiles(path)));
  }
  const filesDigest = await digestFiles(files);
  const plan = (choice: EncoderChoice) => {
    const codec = encoderArgs(choice.encoder, { ...size, fps });
    // A tag is the MP4's business; the segments are MPEG-TS.
    const tagAt = codec.codecArgs.indexOf('-tag:v');
    const tag = tagAt < 0 ? [] : codec.codecArgs.slice(tagAt, tagAt + 2);
    const codecArgs = tagAt < 0 ? codec.codecArgs : [...codec.codecArgs.slice(0, tagAt), ...codec.codecArgs.slice(tagAt + 2)];
    const filter = [...graph, `[${last}]format=yuv420p${codec.filterTail}[v]`].join(';');
    const args = [...codec.inputArgs, ...inputs.args, '-filter_complex', filter, '-map', '[v]', '-r', String(fps), ...codecArgs];
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ format: CHECKPOINT_FORMAT, binary: choice.binary, encoder: choice.encoder, args, segmentFrames, duration: timeline.duration, feed: input.avatar.fingerprint, files: filesDigest }))
      .digest('hex');
    return { args, tag, fingerprint };
  };

  let resumedFrom: number | undefined;
  const encode = async (choice: EncoderChoice) => {
    const { args, tag, fingerprint } = plan(choice);
    const done = await trustedSegments(dir, fingerprint);
    const fromFrame = done.segments.reduce((n, s) => n + s.frames, 0);
    const from = fromFrame / fps;
    if (fromFrame > 0) resumedFrom = from;
    const checkpoint: Checkpoint = { format: CHECKPOINT_FORMAT, fingerprint, fps, encoder: choice.encoder, segments: done.segments, complete: done.complete };
    const joined = done.segments.map((s) => s.file);
    if (!done.complete) {
      joined.push(...(await encodeSegments({ args, choice, from: fromFrame, checkpoint, dir, segmentFrames, input, signal, report })));
    }
    report(0.97);
    const list = join(dir, 'join.ffconcat');
    await writeAtomic(list, ['ffconcat version 1.0', ...joined.map((file) => `file ${file}`)].join('\n') + '\n');
    await audio;
    await runFfmpeg({
      args: [
        ...['-f', 'concat', '-safe', '0', '-i', list, '-i', audioPath, '-map', '0:v', '-map', '1:a', '-c', 'copy', ...tag],
        ...['-t', timeline.duration.toFixed(3), '-movflags', '+faststart', '-f', 'mp4', input.outputPath],
      ],
      signal,
      what: 'joining the composed video',
    });
  };

  const software: EncoderChoice = { binary: ffmpegPath(), encoder: SOFTWARE_ENCODER };
  try {
    if (input.encoder.encoder !== SOFTWARE_ENCODER && (await readCheckpoint(dir))?.fingerprint === plan(software).fingerprint) {
      // The hardware encoder failed earlier in this render and software took over: keep its segments.
      await encode(software);
      const note = `The hardware encoder ${input.encoder.encoder} failed earlier in this render, so this video was encoded in software (${SOFTWARE_ENCODER}).`;
      return { encoder: SOFTWARE_ENCODER, note, resumedFrom };
    }
    const outcome = await encodeWithFallback(encode, input.encoder);
    return { encoder: outcome.encoder, note: outcome.note, resumedFrom };
  } catch (error) {
    // No ffmpeg of this stage outlives it: the caller may remove the work folder next.
    await audio.catch(() => undefined);
    throw error;
  }
};

/** Seconds of video per checkpointed segment: a compose killed midway loses at most this much encoding. */
export const SEGMENT_SECONDS = 10;
/** The compose stage's folder in the work folder: its segments, their list and its checkpoint. */
export const SEGMENTS_DIR = 'compose';
const CHECKPOINT_FILE = 'checkpoint.json';
const CHECKPOINT_FORMAT = 1;

interface SegmentRecord {
  file: string;
  frames: number;
  /** Bytes on disk when it was finished: a file of another size is never trusted. */
  size: number;
}

interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  fingerprint: string;
  fps: number;
  encoder: string;
  /** Finished segments in order from the first, each synced to disk before it was listed here. */
  segments: SegmentRecord[];
  /** Every segment is finished: only the join is left. */
  complete: boolean;
}

const segmentName = (index: number) => `segment-${String(index).padStart(5, '0')}.ts`;

async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')) as Checkpoint;
    return parsed.format === CHECKPOINT_FORMAT && Array.isArray(parsed.segments) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The segments of a checkpoint still whole on disk, from the first to the first that is not. */
async function wholeSegments(dir: string, checkpoint: Checkpoint): Promise<SegmentRecord[]> {
  const whole: SegmentRecord[] = [];
  for (const [index, segment] of checkpoint.segments.entries()) {
    if (segment.file !== segmentName(index)) break;
    const found = await stat(join(dir, segment.file)).catch(() => undefined);
    if (!found?.isFile() || found.size !== segment.size) break;
    whole.push(segment);
  }
  return whole;
}

/**
 * What an earlier compose of the same video left in the folder that can be trusted; anything else
 * there (another video's segments, a half-written one) is removed so it cannot be mixed in.
 */
async function trustedSegments(dir: string, fingerprint: string): Promise<{ segments: SegmentRecord[]; complete: boolean }> {
  const checkpoint = await readCheckpoint(dir);
  if (checkpoint?.fingerprint !== fingerprint) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return { segments: [], complete: false };
  }
  const segments = await wholeSegments(dir, checkpoint);
  const complete = checkpoint.complete && segments.length === checkpoint.segments.length;
  if (!complete) {
    // Nothing after the trusted ones may pass for finished later, however its size turns out.
    await writeAtomic(join(dir, CHECKPOINT_FILE), JSON.stringify({ ...checkpoint, segments, complete }));
    for (const name of await readdir(dir)) {
      const index = /^segment-(\d+)\.ts$/.exec(name)?.[1];
      if (index !== undefined && Number(index) >= segments.length) await rm(join(dir, name), { force: true });
    }
  }
  return { segments, complete };
}

/**
 * How far a compose in this work folder got: the seconds of video in its finished segments (whole
 * on disk, though not checked against the inputs), or undefined when there are none.
 */
export async function composeCheckpoint(workDir: string): Promise<{ seconds: number; segments: number; complete: boolean } | undefined> {
  const dir = join(workDir, SEGMENTS_DIR);
  const checkpoint = await readCheckpoint(dir);
  if (!checkpoint) return undefined;
  const segments = await wholeSegments(dir, checkpoint);
  if (segments.length === 0) return undefined;
  const seconds = segments.reduce((n, s) => n + s.frames, 0) / checkpoint.fps;
  return { seconds, segments: segments.length, complete: checkpoint.complete && segments.length === checkpoint.segments.length };
}

async function digestFiles(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(`\n${path}\n${await fileDigest(path)}`);
  return hash.digest('hex');
}

/** The files an ffconcat list names (none for any other file). */
async function listedFiles(path: string): Promise<string[]> {
  if (!path.endsWith('.ffconcat')) return [];
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    const match = /^file\s+(.+)$/.exec(line.trim());
    if (!match) return [];
    const value = match[1].startsWith("'") ? match[1].slice(1, -1).replace(/'\\''/g, "'") : match[1];
    return [isAbsolute(value) ? value : join(dirname(path), value)];
  });
}

/** ffmpeg's input arguments with the pipe's frames starting at `seconds` instead of zero. */
function offsetPipe(args: string[], seconds: number): string[] {
  if (seconds === 0) return args;
  return args.flatMap((arg, i) => (arg === '-i' && args[i + 1] === 'pipe:0' ? ['-itsoffset', seconds.toFixed(6), arg] : [arg]));
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The segmented encode from frame `from` on: ffmpeg cuts a segment every `segmentFrames` frames,
 * each starting on a forced keyframe, and lists it when it is finished; each listed segment with
 * the frame count asked for is synced and added to the checkpoint. The graph keeps its absolute
 * timestamps: the frames before `from` are filtered, not encoded. Returns this run's segment files.
 */
async function encodeSegments(options: {
  args: string[];
  choice: EncoderChoice;
  from: number;
  checkpoint: Checkpoint;
  dir: string;
  segmentFrames: number;
  input: ComposeInput;
  signal: AbortSignal;
  report: (fraction: number) => void;
}): Promise<string[]> {
  const { choice, from, checkpoint, dir, segmentFrames, input, signal, report } = options;
  const { fps, timeline } = input;
  const start = from / fps;
  const first = checkpoint.segments.length;
  const csv = join(dir, 'segments.csv');
  await rm(csv, { force: true });
  const remaining = Math.ceil(timeline.duration * fps) - from;
  const cuts = Array.from({ length: Math.max(0, Math.ceil(remaining / segmentFrames) - 1) }, (_, i) => (i + 1) * segmentFrames);
  const args = [
    ...offsetPipe(options.args, start),
    ...['-force_key_frames', `expr:gte(n,n_forced*${segmentFrames})`],
    ...(from > 0 ? ['-ss', start.toFixed(6)] : []),
    ...['-to', timeline.duration.toFixed(6)],
    ...['-f', 'segment', '-segment_format', 'mpegts', '-segment_list', csv, '-segment_list_type', 'csv', '-reset_timestamps', '1'],
    ...(cuts.length ? ['-segment_frames', cuts.join(',')] : []),
    ...['-segment_start_number', String(first), join(dir, 'segment-%05d.ts')],
  ];

  const listed: string[] = [];
  // Once one segment is cut elsewhere than asked (an encoder that ignores forced keyframes), no later one is trusted.
  let regular = true;
  let failure: unknown;
  let collecting = Promise.resolve();
  let queued = false;
  const collectOnce = async (final: boolean) => {
    const lines = (await readFile(csv, 'utf8').catch(() => '')).split('\n').slice(0, -1);
    let changed = false;
    for (const [n, line] of lines.entries()) {
      if (n < listed.length) continue;
      const file = line.split(',')[0];
      listed.push(file);
      if (!regular) continue;
      const path = join(dir, file);
      const frames = await countTsVideoFrames(path);
      const last = final && n === lines.length - 1;
      if (file !== segmentName(checkpoint.segments.length) || frames === undefined || (last ? frames < 1 || frames > segmentFrames : frames !== segmentFrames)) {
        regular = false;
        continue;
      }
      await syncFile(path);
      checkpoint.segments.push({ file, frames, size: (await stat(path)).size });
      changed = true;
    }
    if (final && regular) checkpoint.complete = true;
    if (changed || checkpoint.complete) await writeAtomic(join(dir, CHECKPOINT_FILE), JSON.stringify(checkpoint));
  };
  const collect = (final: boolean) => {
    if (queued && !final) return collecting;
    queued = true;
    collecting = collecting
      .then(() => ((queued = false), collectOnce(final)))
      .catch((error: unknown) => void (failure ??= error));
    return collecting;
  };

  const run: FfmpegRun = {
    binary: choice.binary,
    args,
    signal,
    onProgress: (seconds) => {
      report(0.02 + 0.95 * Math.min(1, (start + seconds) / timeline.duration));
      void collect(false);
    },
    what: `composing the video (${choice.encoder})`,
  };
  report(0.02 + 0.95 * Math.min(1, start / timeline.duration));
  try {
    if (!input.avatar.feed) {
      await runFfmpeg(run);
    } else {
      const sink = openFfmpegSink(run);
      try {
        await input.avatar.feed((frame) => sink.write(frame), from);
      } catch (error) {
        await sink.finish().catch(() => undefined);
        throw error;
      }
      await sink.finish();
    }
  } catch (error) {
    // What ffmpeg finished before it stopped stays for a resume.
    await collect(false);
    throw error;
  }
  await collect(true);
  if (failure) throw failure;
  return listed;
}
