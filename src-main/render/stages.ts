import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Project, Scene } from '../../src-shared/project';
import type { Viseme } from '../../src-shared/visemes';
import { encodeWav } from '../voices/wav';
import type { PhonemeTiming, Speech, WordTiming } from '../voices/espeak';
import { loadRecording } from '../voices/recording';
import { normalizeText, parseScript } from '../voices/text';
import { synthesize, type VoiceRef } from '../voices/catalogue';
import { buildMouthTrack } from './mouthTrack';
import { renderPresenterSprites, type EyeState, type PresenterSprites } from '../avatars/presenter';
import { fileIdentity, voiceIdentity, type SharedWork } from './shared';
import { resolveModel } from '../models/catalogue';
import type { Stage } from './stage';

/** Silence before the first scene, between scenes and after the last one, in seconds. */
export const PADDING = { lead: 0.4, between: 0.6, tail: 0.6 };

export interface Timeline {
  duration: number;
  wavPath: string;
  words: WordTiming[];
  phonemes: PhonemeTiming[];
  scenes: { start: number; end: number }[];
  /** The title cards' spans, when the project has them (the speech waits for the intro). */
  cards?: { intro?: { start: number; end: number }; outro?: { start: number; end: number } };
}

/** Write then rename, so a crash never leaves a half-written file under the final name. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

/** Speak one scene: its recording, or its text part by part (pauses as silence), normalised for the voice. */
async function speakScene(scene: Scene, voice: VoiceRef, speed: number, signal: AbortSignal): Promise<Speech> {
  if (scene.audio) {
    // Pause markup in a transcript is not spoken: the recording has its own pauses.
    const transcript = parseScript(scene.text).flatMap((part) => (part.kind === 'speech' ? [part.text] : [])).join(' ');
    return loadRecording(scene.audio.path, { transcript: transcript || undefined, trim: scene.audio.trim, language: voice.language, signal });
  }
  const parts: Speech[] = [];
  for (const part of parseScript(scene.text)) {
    if (part.kind === 'pause') {
      const sampleRate = parts[0]?.sampleRate ?? 22050;
      parts.push({ sampleRate, samples: new Float32Array(Math.round(part.seconds * sampleRate)), words: [], phonemes: [], duration: part.seconds });
    } else {
      parts.push(await synthesize(voice, normalizeText(part.text, voice.language), { signal, speed }));
    }
  }
  return joinSpeech(parts);
}

/** The registry kind of the model that times a recording's words (what voices/vad.ts opens). */
const VAD_MODEL = 'voice-activity';

/**
 * A scene's speech, from the batch's shared work when another row spoke the same scene with the
 * same voice at the same speed (the words and timings as data, the samples as raw float32).
 */
async function speakSceneShared(scene: Scene, index: number, voice: VoiceRef, speed: number, signal: AbortSignal, shared: SharedWork | undefined): Promise<Speech> {
  if (!shared) return speakScene(scene, voice, speed, signal);
  // A recording's words are timed with the voice-activity model: another model may time them otherwise.
  const audio = scene.audio && {
    ...scene.audio,
    file: await fileIdentity(scene.audio.path),
    vad: await resolveModel(VAD_MODEL).then(fileIdentity, () => null),
  };
  const key = { text: scene.text, audio, voice: await voiceIdentity(voice), speed };
  const { value, dir } = await shared.entry(`speech:scene-${index + 1}`, 'speech', key, async (dir) => {
    const { samples, ...rest } = await speakScene(scene, voice, speed, signal);
    await writeFile(join(dir, 'samples.f32'), new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    return rest;
  });
  const bytes = await readFile(join(dir, 'samples.f32'));
  const samples = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { ...value, samples };
}

/** One utterance from several, back to back (resampling pauses made before the voice's rate was known). */
function joinSpeech(parts: Speech[]): Speech {
  const sampleRate = parts.find((p) => p.words.length > 0)?.sampleRate ?? parts[0]?.sampleRate ?? 22050;
  const total = parts.reduce((n, p) => n + Math.round(p.duration * sampleRate), 0);
  const samples = new Float32Array(total);
  const words: WordTiming[] = [];
  const phonemes: PhonemeTiming[] = [];
  let at = 0;
  let offset = 0;
  for (const part of parts) {
    if (part.sampleRate === sampleRate) samples.set(part.samples, offset);
    for (const w of part.words) words.push({ ...w, start: w.start + at, end: w.end + at });
    for (const p of part.phonemes) phonemes.push({ ...p, start: p.start + at, end: p.end + at });
    offset += Math.round(part.duration * sampleRate);
    at = offset / sampleRate;
  }
  return { sampleRate, samples, words, phonemes, duration: total / sampleRate };
}

/** Linear resampling, for scenes whose voices or recordings differ in sample rate. */
function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const out = new Float32Array(Math.round((samples.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const f = x - i0;
    out[i] = (samples[i0] ?? 0) * (1 - f) + (samples[i0 + 1] ?? samples[i0] ?? 0) * f;
  }
  return out;
}

/** Speech: each scene spoken by its voice (or its recording), laid on one timeline with padding; WAV out. */
export const speechStage: Stage<{ project: Project; voices: Map<string, VoiceRef>; workDir: string; shared?: SharedWork }, Timeline> = async (
  { project, voices, workDir, shared },
  { signal, report },
) => {
  const spoken: Speech[] = [];
  for (const [index, scene] of project.scenes.entries()) {
    spoken.push(await speakSceneShared(scene, index, voices.get(scene.voice ?? project.voice)!, scene.speed ?? project.speed, signal, shared));
    report((index + 1) / project.scenes.length);
  }
  const sampleRate = Math.max(...spoken.map((s) => s.sampleRate));
  const intro = project.intro?.seconds ?? 0;
  const outro = project.outro?.seconds ?? 0;
  let cursor = intro + PADDING.lead;
  const words: WordTiming[] = [];
  const phonemes: PhonemeTiming[] = [];
  const scenes: Timeline['scenes'] = [];
  for (const [index, speech] of spoken.entries()) {
    if (index > 0) cursor += PADDING.between;
    for (const w of speech.words) words.push({ ...w, start: w.start + cursor, end: w.end + cursor });
    for (const p of speech.phonemes) phonemes.push({ ...p, start: p.start + cursor, end: p.end + cursor });
    scenes.push({ start: cursor, end: cursor + speech.duration });
    cursor += speech.duration;
  }
  const duration = cursor + PADDING.tail + outro;
  const samples = new Float32Array(Math.round(duration * sampleRate));
  for (const [index, speech] of spoken.entries()) {
    const part = resample(speech.samples, speech.sampleRate, sampleRate);
    samples.set(part.subarray(0, samples.length - Math.round(scenes[index].start * sampleRate)), Math.round(scenes[index].start * sampleRate));
  }
  const wavPath = join(workDir, 'speech.wav');
  await writeAtomic(wavPath, encodeWav(samples, sampleRate));
  const total = samples.length / sampleRate;
  const cards: Timeline['cards'] = {
    ...(intro ? { intro: { start: 0, end: intro } } : {}),
    ...(outro ? { outro: { start: total - outro, end: total } } : {}),
  };
  return { duration: total, wavPath, words, phonemes, scenes, cards };
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

