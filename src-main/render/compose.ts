import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { Background } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { runFfmpeg } from '../media/ffmpeg';
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
async function renderBackground(background: Background, width: number, height: number, path: string, signal: AbortSignal): Promise<void> {
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

export interface ComposeInput {
  timeline: Timeline;
  template: Template;
  backgrounds: Background[];
  avatarList: string;
  placement: Placement;
  size: { width: number; height: number };
  fps: number;
  workDir: string;
  outputPath: string;
}

/** Overlay x as a function of time: each scene's position from its start, with a slow sway. */
function swayX(placement: Placement, timeline: Timeline): string {
  let expr = String(placement.x[placement.x.length - 1]);
  for (let i = timeline.scenes.length - 2; i >= 0; i--) {
    expr = `if(lt(t,${timeline.scenes[i + 1].start.toFixed(3)}),${placement.x[i]},${expr})`;
  }
  return `${expr}+3*sin(2*PI*t/7.3)`;
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

  const y = `${input.placement.y}+2*sin(2*PI*t/4.1)`;
  const filter = [
    `[0:v]fps=${fps},format=yuv420p[bg]`,
    `[bg][1:v]overlay=x='${swayX(input.placement, timeline)}':y='${y}':format=yuv420:eof_action=repeat,` +
      `subtitles=filename=${filterPath(join(workDir, 'captions.ass'))}:fontsdir=${filterPath(join(resourcesDir(), 'fonts'))}[v]`,
  ].join(';');
  await runFfmpeg({
    args: [
      ...['-f', 'concat', '-safe', '0', '-i', join(workDir, 'background.ffconcat')],
      ...['-f', 'concat', '-safe', '0', '-i', input.avatarList],
      ...['-i', timeline.wavPath],
      ...['-filter_complex', filter, '-map', '[v]', '-map', '2:a', '-r', String(fps)],
      ...VIDEO_CODEC_ARGS,
      ...AUDIO_CODEC_ARGS,
      ...['-t', timeline.duration.toFixed(3), '-movflags', '+faststart', '-f', 'mp4', input.outputPath],
    ],
    signal,
    onProgress: (seconds) => report(0.02 + 0.98 * Math.min(1, seconds / timeline.duration)),
    what: 'composing the video',
  });
};
