/**
 * npx tsx tests/bench/wordTiming.ts: how far the word times loadRecording estimates from a
 * transcript are from the truth. No recording of ours comes with word times, so the truth is made:
 * each phrase is spoken by espeak-ng (whose word times are known), its tempo changed with ffmpeg's
 * atempo (0.85 and 1.2: times scale by 1/tempo), and the phrases are joined with silences of known
 * length, at commas and full stops and once in mid-sentence (a hesitation). The aligner always
 * synthesises the transcript with en-us at its own pace; the recordings are spoken by
 *   en-us          the aligner's own voice, the whole recording at tempo 0.85, then at 1.2
 *   en-us+f3       a female variant (other pitch and formants), tempo 0.85 and 1.2 by turns
 *   en-gb-scotland another accent at 140 words a minute, tempo 1.2 and 0.85 by turns
 * Every recording is still espeak-ng's, so these figures are a floor: a person's recording differs
 * from espeak far more than another espeak voice does.
 * Figures: the mean and largest absolute error of word starts, in ms, for loadRecording as it
 * ships, for its first step alone (pauses and durations, no sound matching), and for a baseline
 * that spreads the words evenly over the speech. Then the mouth made from the sound alone (no
 * transcript) against the one espeak's phonemes give for the same speech.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resampleTo16k } from '../../src-main/lipsync/mel';
import { runFfmpeg } from '../../src-main/media/ffmpeg';
import { VISEME_OPENNESS } from '../../src-shared/visemes';
import { synthesizeEspeak, type WordTiming } from '../../src-main/voices/espeak';
import { buildMouthTrack } from '../../src-main/render/mouthTrack';
import { estimateWordTiming, loadRecording, mouthFromSound } from '../../src-main/voices/recording';
import { detectSpeech } from '../../src-main/voices/vad';
import { decodeWav, encodeWav } from '../../src-main/voices/wav';
import { SHARED_DIR } from '../support/shared';

export interface Phrase {
  text: string;
  /** atempo factor: above 1 speaks faster. */
  tempo: number;
  /** Seconds of silence after the phrase. */
  pauseAfter: number;
}

export interface TimingCase {
  label: string;
  /** The espeak-ng voice that speaks the recording. */
  voice: string;
  rate?: number;
  phrases: Phrase[];
  /** Seconds of silence before the first phrase. */
  lead: number;
}

const PHRASES = (tempos: number[]): Phrase[] => [
  { text: 'Every morning the baker opens his little shop on the corner of the square,', tempo: tempos[0], pauseAfter: 0.45 },
  { text: 'and the smell of warm bread drifts down the quiet street.', tempo: tempos[1], pauseAfter: 0.9 },
  { text: 'Children on their way to school', tempo: tempos[2], pauseAfter: 0.5 },
  { text: 'stop to look at the cakes in the window.', tempo: tempos[3], pauseAfter: 0.7 },
  { text: 'Some days he gives them a piece of honey cake for free.', tempo: tempos[4], pauseAfter: 0.6 },
];

export const TIMING_CASES: TimingCase[] = [
  { label: 'same voice (en-us), tempo 0.85', voice: 'en-us', phrases: PHRASES([0.85, 0.85, 0.85, 0.85, 0.85]), lead: 0.8 },
  { label: 'same voice (en-us), tempo 1.2', voice: 'en-us', phrases: PHRASES([1.2, 1.2, 1.2, 1.2, 1.2]), lead: 0.3 },
  { label: 'female variant (en-us+f3), tempo 0.85 / 1.2 by phrase', voice: 'en-us+f3', phrases: PHRASES([0.85, 1.2, 0.85, 1.2, 0.85]), lead: 0.8 },
  { label: 'Scottish (en-gb-scotland, 140 wpm), tempo 1.2 / 0.85 by phrase', voice: 'en-gb-scotland', rate: 140, phrases: PHRASES([1.2, 0.85, 1.2, 0.85, 1.2]), lead: 0.5 },
];

export interface TimedRecording {
  path: string;
  transcript: string;
  /** The true times of the transcript's words in the file. */
  truth: WordTiming[];
  duration: number;
}

/** A WAV of the case's phrases, tempo-changed and joined with silences, and its true word times. */
export async function makeTimedRecording(dir: string, c: TimingCase): Promise<TimedRecording> {
  const parts: Float32Array[] = [];
  const truth: WordTiming[] = [];
  let sampleRate = 0;
  let at = 0;
  const silence = (seconds: number) => {
    const n = Math.round(seconds * sampleRate);
    parts.push(new Float32Array(n));
    at += n;
  };
  for (const [index, phrase] of c.phrases.entries()) {
    const spoken = await synthesizeEspeak(phrase.text, { voice: c.voice, rate: c.rate });
    if (index === 0) {
      sampleRate = spoken.sampleRate;
      silence(c.lead);
    }
    const plain = join(dir, `phrase${index}.wav`);
    const faster = join(dir, `phrase${index}-tempo.wav`);
    writeFileSync(plain, encodeWav(spoken.samples, spoken.sampleRate));
    await runFfmpeg({ args: ['-i', plain, '-filter:a', `atempo=${phrase.tempo}`, '-c:a', 'pcm_s16le', faster] });
    const changed = decodeWav(await readFile(faster)).samples;
    for (const w of spoken.words) truth.push({ text: w.text, start: at / sampleRate + w.start / phrase.tempo, end: at / sampleRate + w.end / phrase.tempo });
    parts.push(changed);
    at += changed.length;
    silence(phrase.pauseAfter);
  }
  const samples = new Float32Array(at);
  let offset = 0;
  for (const part of parts) {
    samples.set(part, offset);
    offset += part.length;
  }
  const path = join(dir, `${c.voice}-recording.wav`);
  writeFileSync(path, encodeWav(samples, sampleRate));
  return { path, transcript: c.phrases.map((p) => p.text).join(' '), truth, duration: at / sampleRate };
}

export interface TimingError {
  /** Absolute error of word starts, ms: loadRecording as it ships. */
  aligned: { meanMs: number; maxMs: number };
  /** The same without the sound-matching refinement (pauses and durations only). */
  coarse: { meanMs: number; maxMs: number };
  /** The words spread evenly over one stretch from the first speech to the last. */
  baseline: { meanMs: number; maxMs: number };
  words: number;
}

function errors(estimated: WordTiming[], truth: WordTiming[]): { meanMs: number; maxMs: number } {
  if (estimated.length !== truth.length || estimated.some((w, i) => w.text !== truth[i].text)) {
    throw new Error(`the estimate has words ${estimated.map((w) => w.text).join(' ')}; the truth ${truth.map((w) => w.text).join(' ')}`);
  }
  const off = estimated.map((w, i) => Math.abs(w.start - truth[i].start) * 1000);
  return { meanMs: off.reduce((a, b) => a + b, 0) / off.length, maxMs: Math.max(...off) };
}

/** Word-start error of loadRecording on the case's recording (made under `dir`), with the coarse step alone and a baseline. */
export async function measureWordTiming(dir: string, c: TimingCase): Promise<TimingError> {
  const recording = await makeTimedRecording(dir, c);
  const loaded = await loadRecording(recording.path, { transcript: recording.transcript, language: 'en-us' });

  const { samples, sampleRate } = decodeWav(await readFile(recording.path));
  const samples16k = resampleTo16k(samples, sampleRate);
  const speech = await detectSpeech(samples16k);
  const reference = await synthesizeEspeak(recording.transcript, { voice: 'en-us' });
  const whole = [{ start: speech[0].start, end: speech[speech.length - 1].end }];
  return {
    aligned: errors(loaded.words, recording.truth),
    coarse: errors(estimateWordTiming(reference, { samples16k, speech }, { refine: false }).words, recording.truth),
    baseline: errors(estimateWordTiming(reference, { samples16k, speech: whole }, { refine: false }).words, recording.truth),
    words: recording.truth.length,
  };
}

export async function benchWordTiming(): Promise<void> {
  process.env.MOUTHPIECE_MODELS ??= join(SHARED_DIR, 'models');
  const dir = mkdtempSync(join(tmpdir(), 'mp-wordtiming-'));
  try {
    console.log('word timing from a transcript (word starts, absolute error)');
    for (const c of TIMING_CASES) {
      const e = await measureWordTiming(dir, c);
      console.log(`  ${c.label}, ${e.words} words`);
      const line = (name: string, f: { meanMs: number; maxMs: number }) => console.log(`    ${name.padEnd(40)} mean ${f.meanMs.toFixed(0).padStart(4)} ms, max ${f.maxMs.toFixed(0).padStart(4)} ms`);
      line('loadRecording (pauses, then sounds)', e.aligned);
      line('pauses and durations only', e.coarse);
      line('baseline: even spread over all speech', e.baseline);
    }
    const mouth = await measureMouthFromSound();
    console.log('mouth from the sound alone (no transcript), against espeak\'s own phonemes, 30 fps frames');
    console.log(`  open or closed alike ${(mouth.restAgreement * 100).toFixed(0)}%, same shape ${(mouth.sameShape * 100).toFixed(0)}%, openness correlation ${mouth.opennessCorrelation.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How the mouth made from the sound alone compares with the one espeak's phonemes give, on espeak
 * speech: the share of video frames where both are at rest or both are not, where both show the
 * same shape, and the correlation of how open the mouth is (VISEME_OPENNESS).
 */
export async function measureMouthFromSound(): Promise<{ restAgreement: number; sameShape: number; opennessCorrelation: number }> {
  const text = PHRASES([1, 1, 1, 1, 1]).map((p) => p.text).join(' ');
  const spoken = await synthesizeEspeak(text, { voice: 'en-us' });
  const samples16k = resampleTo16k(spoken.samples, spoken.sampleRate);
  const fromSound = mouthFromSound(samples16k, await detectSpeech(samples16k));
  const frames = Math.floor(spoken.duration * 30);
  const truth = buildMouthTrack(spoken.phonemes, { fps: 30, frames });
  const ours = buildMouthTrack(fromSound, { fps: 30, frames });
  const a = truth.map((v) => VISEME_OPENNESS[v]);
  const b = ours.map((v) => VISEME_OPENNESS[v]);
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let covariance = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < frames; i++) {
    covariance += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return {
    restAgreement: truth.filter((v, i) => (v === 'rest') === (ours[i] === 'rest')).length / frames,
    sameShape: truth.filter((v, i) => v === ours[i]).length / frames,
    opennessCorrelation: covariance / Math.sqrt(va * vb),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchWordTiming().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
