import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Project } from '../../src-shared/project';
import type { Viseme } from '../../src-shared/visemes';
import { encodeWav } from '../voices/wav';
import type { PhonemeTiming, WordTiming } from '../voices/espeak';
import { synthesize, type VoiceRef } from '../voices/catalogue';
import { buildMouthTrack } from './mouthTrack';
import { renderPresenterSprites, type EyeState, type PresenterSprites } from '../avatars/presenter';
import type { Stage } from './stage';

/** Silence before the first scene, between scenes and after the last one, in seconds. */
export const PADDING = { lead: 0.4, between: 0.6, tail: 0.6 };

export interface Timeline {
  duration: number;
  wavPath: string;
  words: WordTiming[];
  phonemes: PhonemeTiming[];
  scenes: { start: number; end: number }[];
}

/** Write then rename, so a crash never leaves a half-written file under the final name. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

/** Speech: synthesise each scene and lay them on one timeline with padding; WAV out. */
export const speechStage: Stage<{ project: Project; voice: VoiceRef; workDir: string }, Timeline> = async (
  { project, voice, workDir },
  { signal, report },
) => {
  const parts: Float32Array[] = [];
  let sampleRate = 0;
  let cursor = PADDING.lead;
  const words: WordTiming[] = [];
  const phonemes: PhonemeTiming[] = [];
  const scenes: Timeline['scenes'] = [];
  for (const [index, scene] of project.scenes.entries()) {
    const speech = await synthesize(voice, scene.text, signal);
    sampleRate = speech.sampleRate;
    if (index > 0) cursor += PADDING.between;
    parts.push(speech.samples);
    for (const w of speech.words) words.push({ ...w, start: w.start + cursor, end: w.end + cursor });
    for (const p of speech.phonemes) phonemes.push({ ...p, start: p.start + cursor, end: p.end + cursor });
    scenes.push({ start: cursor, end: cursor + speech.duration });
    cursor += speech.duration;
    report((index + 1) / project.scenes.length);
  }
  const duration = cursor + PADDING.tail;
  const samples = new Float32Array(Math.round(duration * sampleRate));
  for (const [index, part] of parts.entries()) samples.set(part, Math.round(scenes[index].start * sampleRate));
  const wavPath = join(workDir, 'speech.wav');
  await writeAtomic(wavPath, encodeWav(samples, sampleRate));
  return { duration: samples.length / sampleRate, wavPath, words, phonemes, scenes };
};

export interface AvatarFrame {
  mouth: Viseme;
  eyes: EyeState;
}

/** A small deterministic generator, so the same project always blinks the same way. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** Blinks every 2.5 to 6 s: half-closed, closed, closed, half-closed (a 130 ms blink at 30 fps). */
export function blinkTrack(frames: number, fps: number, seed = 7): EyeState[] {
  const eyes: EyeState[] = new Array(frames).fill('open');
  const random = seededRandom(seed);
  const shape: EyeState[] = ['half', 'closed', 'closed', 'half'];
  for (let t = 1.2 + random() * 2; t * fps < frames; t += 2.5 + random() * 3.5) {
    const first = Math.round(t * fps);
    shape.forEach((state, i) => {
      if (first + i < frames) eyes[first + i] = state;
    });
  }
  return eyes;
}

/** Mouth track: one mouth shape and eye state per output frame. */
export const mouthStage: Stage<{ timeline: Timeline; fps: number }, AvatarFrame[]> = async ({ timeline, fps }) => {
  const frames = Math.ceil(timeline.duration * fps);
  const mouths = buildMouthTrack(timeline.phonemes, { fps, frames });
  const eyes = blinkTrack(frames, fps);
  return mouths.map((mouth, i) => ({ mouth, eyes: eyes[i] }));
};

export interface AvatarStream {
  /** ffconcat list of sprite images with durations: ffmpeg decodes each change once. */
  listPath: string;
  sprites: PresenterSprites;
}

/** Built-in presenter frames: pre-rendered sprites, listed run by run for ffmpeg's concat demuxer. */
export const presenterStage: Stage<
  { frames: AvatarFrame[]; fps: number; spriteHeight: number; cacheDir: string; workDir: string },
  AvatarStream
> = async ({ frames, fps, spriteHeight, cacheDir, workDir }, { report }) => {
  const sprites = await renderPresenterSprites(cacheDir, spriteHeight);
  report(0.8);
  const lines = ['ffconcat version 1.0'];
  let last = '';
  for (let i = 0; i < frames.length; ) {
    const key = `${frames[i].mouth}-${frames[i].eyes}` as const;
    let run = 1;
    while (i + run < frames.length && frames[i + run].mouth === frames[i].mouth && frames[i + run].eyes === frames[i].eyes) run++;
    last = `file '${sprites.files[key].replace(/'/g, "'\\''")}'`;
    lines.push(last, `duration ${(run / fps).toFixed(6)}`);
    i += run;
  }
  // The concat demuxer ignores the last entry's duration unless the file is listed once more.
  lines.push(last);
  const listPath = join(workDir, 'avatar.ffconcat');
  await writeAtomic(listPath, lines.join('\n') + '\n');
  return { listPath, sprites };
};

