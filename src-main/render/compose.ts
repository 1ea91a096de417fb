import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { Background } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { openFfmpegSink, runFfmpeg } from '../media/ffmpeg';
import { resourcesDir } from '../paths';
import { buildCues, toAss } from './captions';
import { writeAtomic, type Timeline } from './stages';
import type { Stage } from './stage';

/** Encoder settings of every render, and of the benchmark's floor, so the two compare fairly. */
export const VIDEO_CODEC_ARGS = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '21', '-pix_fmt', 'yuv420p'];
export const AUDIO_CODEC_ARGS = ['-c:a', 'aac', '-b:a', '160k', '-ar', '48000'];

export interface Placement {
  /** Scene-by-scene horizontal position of the presenter's left edge, in pixels. */
  x: number[];
  y: number;
}

/** Quote a path for an ffmpeg filter argument (Windows drive colons and quotes included). */
export function filterPath(path: string): string {
  return `'${path.replace(/\\/g, '/').replace(/'/g, "'\\\\''").replace(/:/g, '\\:')}'`;
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
  throw new Error('image backgrounds are scaled by ffmpeg');
}

/** One still per distinct background, at the output size. */
export async function renderBackground(background: Background, width: number, height: number, path: string, signal: AbortSignal): Promise<void> {
  if (background.type === 'image') {
    await runFfmpeg({
      args: ['-i', background.path, '-vf', `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height}`, '-frames:v', '1', path],
      signal,
      what: `background image ${background.path}`,
    });
    return;
  }
  await writeAtomic(path, new Resvg(backgroundSvg(background, width, height)).render().asPng());
}

/** The avatar's frames as ffmpeg inputs, and the filters that lay them over the background. */
export interface AvatarOverlay {
  inputArgs: string[];
  /**
   * Filter graph text that lays the avatar over the stream labelled `base` and labels the result
   * `out`; `inputs` are the input indexes of inputArgs' `-i`s, in order.
   */
  overlay(inputs: number[], base: string, out: string): string;
  /**
   * For an input read from `pipe:0`: writes its raw frames while ffmpeg composes, so making the
   * avatar's frames and encoding the video share the machine instead of taking turns.
   */
  feed?: (write: (frame: Uint8Array) => Promise<void>) => Promise<void>;
}

export interface ComposeInput {
  timeline: Timeline;
  template: Template;
  backgrounds: Background[];
  avatar: AvatarOverlay;
  size: { width: number; height: number };
  fps: number;
  workDir: string;
  outputPath: string;
}

/** An expression of t that takes each scene's value from the scene's start. */
export function perScene(values: number[], timeline: Timeline): string {
  let expr = String(values[values.length - 1]);
  for (let i = timeline.scenes.length - 2; i >= 0; i--) {
    expr = values[i] === values[i + 1] ? expr : `if(lt(t,${timeline.scenes[i + 1].start.toFixed(3)}),${values[i]},${expr})`;
  }
  return expr;
}

/** The presenter's overlay: its sprites, placed per scene, with a slow idle sway. */
export function presenterOverlay(listPath: string, placement: Placement, timeline: Timeline): AvatarOverlay {
  return {
    inputArgs: ['-f', 'concat', '-safe', '0', '-i', listPath],
    overlay: ([sprites], base, out) =>
      `[${base}][${sprites}:v]overlay=x='${perScene(placement.x, timeline)}+3*sin(2*PI*t/7.3)':y='${placement.y}+2*sin(2*PI*t/4.1)':format=yuv420:eof_action=repeat:shortest=0[${out}]`,
  };
}

/**
 * Compose and encode in one ffmpeg run: per-scene backgrounds, the presenter's frames with idle
 * motion, burned-in captions through libass, speech; H.264 + AAC in MP4 with faststart. Pixels
 * never enter JavaScript.
 */
export const composeStage: Stage<ComposeInput, void> = async (input, { signal, report }) => {
  const { timeline, template, size, fps, workDir } = input;
  const distinct = [...new Set(input.backgrounds.map((b) => JSON.stringify(b)))];
  for (const [i, key] of distinct.entries()) {
    await renderBackground(JSON.parse(key) as Background, size.width, size.height, join(workDir, `background-${i}.png`), signal);
  }
  const bgLines = ['ffconcat version 1.0'];
  timeline.scenes.forEach((scene, i) => {
    const from = i === 0 ? 0 : (timeline.scenes[i - 1].end + scene.start) / 2;
    const to = i === timeline.scenes.length - 1 ? timeline.duration : (scene.end + timeline.scenes[i + 1].start) / 2;
    bgLines.push(`file background-${distinct.indexOf(JSON.stringify(input.backgrounds[i]))}.png`, `duration ${(to - from).toFixed(6)}`);
  });
  bgLines.push(bgLines[bgLines.length - 2]);
  await writeAtomic(join(workDir, 'background.ffconcat'), bgLines.join('\n') + '\n');
  await writeAtomic(join(workDir, 'captions.ass'), toAss(buildCues(timeline.words), template.captions, size));
  report(0.02);

  const avatarInputs = input.avatar.inputArgs.filter((a) => a === '-i').length;
  const audioInput = 1 + avatarInputs;
  const filter = [
    `[0:v]fps=${fps},format=yuv420p[bg]`,
    input.avatar.overlay(Array.from({ length: avatarInputs }, (_, i) => 1 + i), 'bg', 'withavatar'),
    `[withavatar]subtitles=filename=${filterPath(join(workDir, 'captions.ass'))}:fontsdir=${filterPath(join(resourcesDir(), 'fonts'))}[v]`,
  ].join(';');
  const run = {
    args: [
      ...['-f', 'concat', '-safe', '0', '-i', join(workDir, 'background.ffconcat')],
      ...input.avatar.inputArgs,
      ...['-i', timeline.wavPath],
      ...['-filter_complex', filter, '-map', '[v]', '-map', `${audioInput}:a`, '-r', String(fps)],
      ...VIDEO_CODEC_ARGS,
      ...AUDIO_CODEC_ARGS,
      ...['-t', timeline.duration.toFixed(3), '-movflags', '+faststart', '-f', 'mp4', input.outputPath],
    ],
    signal,
    onProgress: (seconds: number) => report(0.02 + 0.98 * Math.min(1, seconds / timeline.duration)),
    what: 'composing the video',
  };
  if (!input.avatar.feed) return runFfmpeg(run);
  const sink = openFfmpegSink(run);
  try {
    await input.avatar.feed((frame) => sink.write(frame));
  } catch (error) {
    await sink.finish().catch(() => undefined);
    throw error;
  }
  await sink.finish();
};
