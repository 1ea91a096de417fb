import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Viseme } from '../../src-shared/visemes';
import { resampleTo16k } from '../lipsync/mel';
import { ffmpegPath, ffprobe } from '../media/ffmpeg';
import { synthesizeEspeak, type PhonemeTiming, type Speech, type WordTiming } from './espeak';
import { detectSpeech, VAD_SAMPLE_RATE, type SpeechSpan } from './vad';

/**
 * The rate recordings are decoded to. It keeps speech up to 12 kHz (sibilants stay crisp, which
 * 16 kHz would dull), sits next to the 22.05 kHz of espeak-ng and Piper so a project mixing a
 * recording with synthetic scenes is not blown up to 44.1 or 48 kHz, and is half the memory of 48 kHz.
 */
export const RECORDING_SAMPLE_RATE = 24000;

/** Silence kept before the first and after the last speech when trimming, in seconds. */
export const TRIM_MARGIN = 0.15;

/**
 * A recording of the user's own voice, decoded with ffmpeg (WAV, MP3, OGG, M4A, or the sound of a
 * video) to mono at 24 kHz, ready to speak a scene. With `trim`, silence before and after the
 * speech is cut to TRIM_MARGIN. With a `transcript`, each of its words gets the time it is
 * probably spoken (see estimateWordTiming) and the mouth follows its phonemes; without one there
 * are no captions and the mouth follows the loudness and colour of the sound.
 */
export async function loadRecording(
  path: string,
  options: { transcript?: string; trim?: boolean; language?: string; signal?: AbortSignal } = {},
): Promise<Speech> {
  const { signal } = options;
  const name = basename(path);
  let samples = await decodeRecording(path, signal);
  if (samples.length === 0) {
    throw new AppError(ErrorCode.BadInput, `${name}: the recording is empty; record some speech, or choose another file`);
  }
  let samples16k = resampleTo16k(samples, RECORDING_SAMPLE_RATE);
  let speech = await detectSpeech(samples16k, { signal });
  if (speech.length === 0) {
    throw new AppError(
      ErrorCode.BadInput,
      `${name}: no speech found in the recording (it is silent or only noise); check that the right microphone was on, or choose another file`,
    );
  }
  if (options.trim) {
    const from = Math.round(Math.max(0, speech[0].start - TRIM_MARGIN) * RECORDING_SAMPLE_RATE);
    const to = Math.round((speech[speech.length - 1].end + TRIM_MARGIN) * RECORDING_SAMPLE_RATE);
    samples = samples.slice(from, Math.min(samples.length, to));
    samples16k = samples16k.slice(Math.round((from * VAD_SAMPLE_RATE) / RECORDING_SAMPLE_RATE), Math.round((to * VAD_SAMPLE_RATE) / RECORDING_SAMPLE_RATE));
    speech = speech.map((s) => ({ start: s.start - from / RECORDING_SAMPLE_RATE, end: s.end - from / RECORDING_SAMPLE_RATE }));
  }
  const duration = samples.length / RECORDING_SAMPLE_RATE;

  const transcript = options.transcript?.trim() ?? '';
  const reference = transcript === '' ? undefined : await synthesizeEspeak(transcript, { voice: options.language ?? 'en-us', signal });
  // A transcript espeak finds no words in ("...") times nothing: the sound moves the mouth.
  if (!reference || reference.words.length === 0) {
    return { sampleRate: RECORDING_SAMPLE_RATE, samples, words: [], phonemes: mouthFromSound(samples16k, speech), duration };
  }
  const { words, phonemes } = estimateWordTiming(reference, { samples16k, speech });
  return { sampleRate: RECORDING_SAMPLE_RATE, samples, words: clampTimes(words, duration), phonemes: clampTimes(phonemes, duration), duration };
}

function clampTimes<T extends { start: number; end: number }>(items: T[], duration: number): T[] {
  return items.map((item) => {
    const start = Math.min(duration, Math.max(0, item.start));
    return { ...item, start, end: Math.min(duration, Math.max(start, item.end)) };
  });
}

const unreadable = (name: string) =>
  new AppError(ErrorCode.BadInput, `${name}: not an audio file we can read, or it is damaged; use WAV, MP3, OGG or M4A`);

/**
 * The first audio stream of any file ffmpeg reads, as mono float samples at RECORDING_SAMPLE_RATE.
 * A file ffmpeg cannot decode is the user's to fix (BadInput); only when ffmpeg itself cannot run is it ours.
 */
async function decodeRecording(path: string, signal: AbortSignal | undefined): Promise<Float32Array> {
  const name = basename(path);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new AppError(ErrorCode.BadInput, `${name}: no such file; check the path of the recording`);
  if (!info.isFile()) throw new AppError(ErrorCode.BadInput, `${name}: is a folder, not a recording; choose an audio file (WAV, MP3, OGG or M4A)`);
  if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');

  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', path, '-map', '0:a:0', '-ac', '1', '-ar', String(RECORDING_SAMPLE_RATE), '-f', 'f32le', 'pipe:1'];
  const { code, stdout } = await new Promise<{ code: number | null; stdout: Buffer[] }>((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Why it failed is asked of ffprobe below, not parsed from ffmpeg's wording; drain it.
    child.stderr.resume();
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new AppError(ErrorCode.Ffmpeg, `${name}: could not start ${ffmpegPath()}: ${error.message}`));
    });
    child.on('close', (exit) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ code: exit, stdout: chunks });
    });
  });
  if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
  if (code !== 0) {
    const probe = await ffprobe(path).catch(() => undefined);
    if (probe && probe.streams.length > 0 && !probe.streams.some((s) => s.codec_type === 'audio')) {
      throw new AppError(ErrorCode.BadInput, `${name}: not an audio file we can read: it has no sound track; use WAV, MP3, OGG or M4A`);
    }
    throw unreadable(name);
  }
  const bytes = stdout.reduce((n, c) => n + c.length, 0);
  const samples = new Float32Array(Math.floor(bytes / 4));
  const view = new Uint8Array(samples.buffer);
  let offset = 0;
  for (const chunk of stdout) {
    const take = Math.min(chunk.length, view.length - offset);
    view.set(chunk.subarray(0, take), offset);
    offset += take;
  }
  return samples;
}

/**
 * How the words of a transcript are laid on a recording, chosen with tests/bench/wordTiming.ts
 * (espeak speech with changed tempo and added pauses, where the true word times are known).
 */
const TIMING = {
  /** Seconds the VAD widens each stretch of speech by (its speechPad): the sound starts this much later. */
  vadPad: 0.03,
  /**
   * Spread of a stretch's speaking rate around the recording's, as a log ratio: a phrase's own
   * pace, plus a word's own length that averages out over longer stretches.
   */
  phraseRateSpread: 0.2,
  wordRateSpread: 0.35,
  /** Cost of a pause in the recording where espeak makes none (mid-phrase hesitation). */
  unexpectedPause: 2,
  /** An espeak pause this long (seconds) or longer is a place where a speaker is expected to pause. */
  expectedPause: 0.2,
  /** Cost of a stretch of "speech" that gets no words (a cough, a click): fixed plus per second. */
  emptyBase: 1,
  emptyPerSecond: 10,
  /** Share of espeak's pauses inside one stretch that the speaker is taken to keep. */
  pauseWeight: 0.5,
};

/** The reference a transcript's timing is estimated from: espeak-ng speaking it. */
export type TimingReference = Pick<Speech, 'samples' | 'sampleRate' | 'words' | 'phonemes'>;

/** A recording as estimateWordTiming reads it. */
export interface TimingTarget {
  samples16k: Float32Array;
  /** Its stretches of speech, from the VAD. */
  speech: SpeechSpan[];
}

/**
 * When each word of a transcript is spoken in a recording, from the transcript spoken by espeak-ng
 * (`reference`) and the recording with its stretches of speech.
 *
 * First, coarsely: each stretch of recorded speech gets a run of consecutive words (or none, for
 * a cough), chosen by dynamic programming to minimise, for each run, the squared log ratio of its
 * recorded length to its espeak length times the recording's overall rate (speakers keep a
 * roughly steady pace), plus a cost for each gap in the recording that falls where espeak makes
 * no pause (speakers pause at commas and full stops). The overall rate is re-estimated from the
 * chosen runs until they stop changing. Inside a stretch, espeak's timing is stretched linearly,
 * with its pauses there kept at half their length.
 * Then, unless `refine` is false, the sounds themselves: dynamic time warping of the speech in
 * the two recordings (see refineMapping), kept within REFINE_BAND seconds of the coarse mapping.
 * Last, a pause falls between words, never inside one: each word keeps to the stretch of speech
 * that holds most of it, and its phonemes with it.
 * tests/bench/wordTiming.ts measures it, on espeak speech of other voices and tempi only: word
 * starts 6 to 25 ms off on average, against 25 to 86 ms for the coarse step alone.
 */
export function estimateWordTiming(
  reference: TimingReference,
  recording: TimingTarget,
  options: { refine?: boolean } = {},
): { words: WordTiming[]; phonemes: PhonemeTiming[] } {
  const n = reference.words.length;
  if (n === 0 || recording.speech.length === 0) return { words: [], phonemes: [] };
  const units = soundOfWords(reference);
  const coarse = coarseMapping(units, recording.speech);
  let map = coarse.map;
  let onset = coarse.map;
  if (options.refine !== false) {
    const refined = refineMapping(resampleTo16k(reference.samples, reference.sampleRate), recording.samples16k, coarse.map, units, recording.speech);
    if (refined) ({ map, onset } = refined);
  }
  // A pause falls between words, never inside one: each word keeps to the stretch of speech that
  // holds most of it, and its phonemes with it.
  const { speech } = recording;
  const homes = units.map((u) => speech[homeOf(onset(u.start), map(u.end), speech)]);
  const words = reference.words.map((w, q) => {
    const home = homes[q];
    const sound = Math.min(home.end, Math.max(home.start, onset(units[q].start)));
    return {
      text: w.text,
      // espeak's word event comes a little before the word's first sound; keep that lead, scaled.
      start: sound - Math.max(0, units[q].start - w.start) * coarse.scaleOfWord[q],
      end: Math.min(home.end, Math.max(sound, map(Math.min(w.end, units[q].end)))),
    };
  });
  for (let q = 1; q < n; q++) words[q].start = Math.max(words[q].start, words[q - 1].start);
  for (let q = 0; q + 1 < n; q++) words[q].end = Math.max(words[q].start, Math.min(words[q].end, words[q + 1].start));
  const phonemes: PhonemeTiming[] = [];
  let q = 0;
  for (const p of reference.phonemes) {
    while (q + 1 < n && p.start >= units[q + 1].start - 1e-6) q++;
    const home = homes[q];
    const start = Math.min(home.end, Math.max(home.start, onset(p.start)));
    const end = Math.min(home.end, Math.max(home.start, map(p.end)));
    if (end > start) phonemes.push({ ...p, start, end });
  }
  return { words, phonemes };
}

/** The stretch of speech that overlaps [start, end] most; where none does, the nearest. */
function homeOf(start: number, end: number, speech: SpeechSpan[]): number {
  const away = (s: SpeechSpan, t: number) => (t < s.start ? s.start - t : t > s.end ? t - s.end : 0);
  let best = 0;
  let bestOverlap = -Infinity;
  for (const [j, s] of speech.entries()) {
    // Overlap when positive; otherwise minus the distance, so the nearest wins.
    const overlap = Math.min(end, s.end) - Math.max(start, s.start);
    const score = overlap > 0 ? overlap : -away(s, (start + end) / 2);
    if (score > bestOverlap) {
      best = j;
      bestOverlap = score;
    }
  }
  return best;
}

/** The coarse mapping from espeak time to recording time, and how much each word was stretched. */
function coarseMapping(units: { start: number; end: number }[], speech: SpeechSpan[]): { map: (t: number) => number; scaleOfWord: Float64Array } {
  const n = units.length;
  const pauses = units.map((u, q) => (q + 1 < n ? Math.max(0, units[q + 1].start - u.end) : 0));
  // pausesBefore[q]: the pauses between word 0 and word q.
  const pausesBefore = new Float64Array(n + 1);
  for (let q = 0; q < n; q++) pausesBefore[q + 1] = pausesBefore[q] + pauses[q];
  const kept = TIMING.pauseWeight;
  /** Espeak length of words [k, i), with the pauses between them counted at `kept`. */
  const lengthOf = (k: number, i: number) => Math.max(0.02, units[i - 1].end - units[k].start - (1 - kept) * (pausesBefore[i - 1] - pausesBefore[k]));

  const targets = speech.map((s) => {
    const inner = s.end - s.start > 2 * TIMING.vadPad + 0.02;
    return inner ? { start: s.start + TIMING.vadPad, end: s.end - TIMING.vadPad } : { start: s.start, end: s.end };
  });
  const lengths = targets.map((t) => Math.max(0.02, t.end - t.start));
  const totalRecorded = lengths.reduce((a, b) => a + b, 0);
  let longPauses = 0;
  for (const p of pauses) if (p >= TIMING.expectedPause) longPauses += kept * p;
  const rate = totalRecorded / Math.max(0.02, lengthOf(0, n) - longPauses);

  let runs = assignWords(n, lengths, lengthOf, pauses, rate);
  for (let round = 0; round < 4; round++) {
    let recorded = 0;
    let spoken = 0;
    for (const [j, run] of runs.entries()) {
      if (run.to > run.from) {
        recorded += lengths[j];
        spoken += lengthOf(run.from, run.to);
      }
    }
    const next = assignWords(n, lengths, lengthOf, pauses, recorded / spoken);
    const same = next.every((r, j) => r.from === runs[j].from && r.to === runs[j].to);
    runs = next;
    if (same) break;
  }

  // Knots at the ends of words: a piecewise-linear map.
  const knots: { x: number; y: number }[] = [];
  const scaleOfWord = new Float64Array(n).fill(1);
  const addKnot = (x: number, y: number) => {
    const last = knots[knots.length - 1];
    if (last && x <= last.x + 1e-9) {
      last.y = Math.max(last.y, y);
      return;
    }
    knots.push({ x, y });
  };
  for (const [j, run] of runs.entries()) {
    if (run.to === run.from) continue;
    const scale = (targets[j].end - targets[j].start) / lengthOf(run.from, run.to);
    let at = targets[j].start;
    addKnot(units[run.from].start, at);
    for (let q = run.from; q < run.to; q++) {
      scaleOfWord[q] = scale;
      at += (units[q].end - units[q].start) * scale;
      addKnot(units[q].end, at);
      if (q + 1 < run.to) {
        at += kept * pauses[q] * scale;
        addKnot(units[q + 1].start, at);
      }
    }
  }
  return { map: (t) => interpolate(knots, t), scaleOfWord };
}

/** Seconds of speech either side of the coarse mapping that the sound-matching refinement may move a sound. */
const REFINE_BAND = 0.5;
/** Spectral frames for the refinement: 25 ms windows every 10 ms. */
const CEPSTRUM_HOP = 160;
const CEPSTRUM_WINDOW = 400;
const CEPSTRUM_FFT = 512;
const MEL_FILTERS = 26;
const CEPSTRA = 13;
/** How many espeak frames after a sound's start the first recording frame that is not quiet is looked for in. */
const ONSET_SEARCH = 30;
/** Largest warping table the refinement builds (cells); beyond it (hours of audio) the coarse timing stands. */
const MAX_WARP_CELLS = 60_000_000;

/**
 * The coarse mapping refined by dynamic time warping of the two recordings' mel cepstra. Only
 * speech is warped: espeak's frames inside its words against the recording's inside its stretches
 * of speech (less quiet frames at their edges), so where either pauses does not matter and a word
 * the coarse step put on the wrong side of a pause is only that word's length away. The path stays
 * within REFINE_BAND of the coarse mapping (a Sakoe-Chiba band around it, not around the
 * diagonal) and runs from where the coarse mapping puts espeak's first frame to where it puts its
 * last. Steps are symmetric (a diagonal step counts its distance twice), so neither recording's
 * pace is favoured.
 * `map` puts an espeak frame at the middle of the recording frames the path matched it with;
 * `onset`, for the start of a sound, at the first of them that is not quiet.
 */
function refineMapping(
  reference16k: Float32Array,
  recording16k: Float32Array,
  coarse: (t: number) => number,
  units: { start: number; end: number }[],
  speech: SpeechSpan[],
): { map: (t: number) => number; onset: (t: number) => number } | undefined {
  const { features: a } = cepstra(reference16k);
  const { features: b, levels } = cepstra(recording16k);
  const quiet = quietFrames(levels);
  const frameTime = (f: number) => (f * CEPSTRUM_HOP + CEPSTRUM_WINDOW / 2) / VAD_SAMPLE_RATE;

  const rowFrames: number[] = [];
  for (let f = 0, u = 0; f < a.length / CEPSTRA && u < units.length; f++) {
    const t = frameTime(f);
    while (u < units.length && units[u].end <= t) u++;
    if (u < units.length && t >= units[u].start) rowFrames.push(f);
  }
  const columnFrames: number[] = [];
  for (const span of speech) {
    let from = Math.max(0, Math.ceil((span.start * VAD_SAMPLE_RATE - CEPSTRUM_WINDOW / 2) / CEPSTRUM_HOP));
    let to = Math.min(b.length / CEPSTRA, Math.ceil((span.end * VAD_SAMPLE_RATE - CEPSTRUM_WINDOW / 2) / CEPSTRUM_HOP));
    while (from < to && quiet[from]) from++;
    while (to > from && quiet[to - 1]) to--;
    for (let q = from; q < to; q++) if (columnFrames.length === 0 || q > columnFrames[columnFrames.length - 1]) columnFrames.push(q);
  }
  const rows = rowFrames.length;
  const columns = columnFrames.length;
  const band = Math.round((REFINE_BAND * VAD_SAMPLE_RATE) / CEPSTRUM_HOP);
  const width = 2 * band + 1;
  if (rows < 2 || columns < 2 || rows * width > MAX_WARP_CELLS) return undefined;

  const columnAt = (t: number) => Math.min(columns - 1, firstAtOrAfter(columnFrames, frameTime, t));
  // Row r covers columns low[r] .. low[r] + width - 1, following the coarse mapping.
  const low = Int32Array.from(rowFrames, (f) => columnAt(coarse(frameTime(f))) - band);
  const cost = new Float32Array(rows * width).fill(Infinity);
  const step = new Uint8Array(rows * width); // 0 diagonal, 1 from the row before, 2 from the column before
  const distance = (r: number, q: number) => {
    const x = rowFrames[r] * CEPSTRA;
    const y = columnFrames[q] * CEPSTRA;
    let sum = 0;
    for (let k = 0; k < CEPSTRA; k++) sum += (a[x + k] - b[y + k]) ** 2;
    return Math.sqrt(sum);
  };
  const at = (r: number, q: number) => {
    const c = q - low[r];
    return c >= 0 && c < width ? cost[r * width + c] : Infinity;
  };
  const first = low[0] + band;
  const last = low[rows - 1] + band;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const q = low[r] + c;
      if (q < 0 || q >= columns || (r === 0 && q < first)) continue;
      const d = distance(r, q);
      if (r === 0 && q === first) {
        cost[c] = d;
        continue;
      }
      const diagonal = r > 0 ? at(r - 1, q - 1) + 2 * d : Infinity;
      const down = r > 0 ? at(r - 1, q) + d : Infinity;
      const across = c > 0 ? cost[r * width + c - 1] + d : Infinity;
      const best = Math.min(diagonal, down, across);
      cost[r * width + c] = best;
      step[r * width + c] = best === diagonal ? 0 : best === down ? 1 : 2;
    }
  }
  if (!(at(rows - 1, last) < Infinity)) return undefined;

  // Back along the path: each row's first and last column.
  const from = new Int32Array(rows);
  const to = new Int32Array(rows);
  let r = rows - 1;
  let q = last;
  to[r] = q;
  for (;;) {
    from[r] = q;
    if (r === 0 && q === first) break;
    const s = step[r * width + (q - low[r])];
    if (s !== 1) q--;
    if (s !== 2) {
      r--;
      to[r] = q;
    }
  }
  // A reference frame that took several recording frames sits at their middle.
  const knots = Array.from({ length: rows }, (_, row) => ({
    x: frameTime(rowFrames[row]),
    y: (frameTime(columnFrames[from[row]]) + frameTime(columnFrames[to[row]])) / 2,
  }));
  const map = (t: number) => interpolate(knots, t);
  const hop = CEPSTRUM_HOP / VAD_SAMPLE_RATE;
  const onset = (t: number) => {
    const row = Math.min(rows - 1, firstAtOrAfter(rowFrames, frameTime, t - hop / 2));
    const offset = Math.max(-hop / 2, Math.min(hop / 2, t - frameTime(rowFrames[row])));
    for (let g = row; g < Math.min(rows, row + ONSET_SEARCH); g++) {
      for (let c = from[g]; c <= to[g]; c++) if (!quiet[columnFrames[c]]) return frameTime(columnFrames[c]) + offset;
    }
    return map(t);
  };
  return { map, onset };
}

/** The index of the first of the sorted `frames` whose time is `t` or later (frames.length if none). */
function firstAtOrAfter(frames: number[], time: (f: number) => number, t: number): number {
  let lo = 0;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (time(frames[mid]) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Which frames are quiet: under the loud frames by 45 dB, or by less where the room is noisy
 * (8 dB over the quietest tenth), but never closer than 25 dB to the loud frames.
 */
function quietFrames(levels: Float64Array): Uint8Array {
  const loud = percentile(levels, 0.95);
  const threshold = Math.min(loud - 25, Math.max(loud - 45, percentile(levels, 0.1) + 8));
  return Uint8Array.from(levels, (l) => (l < threshold ? 1 : 0));
}

/**
 * Mel cepstra of 16 kHz audio (`features`, CEPSTRA per frame) and each frame's level in dB. Each
 * coefficient is normalised to zero mean and unit variance over the recording (cepstral mean and
 * variance normalisation: a constant difference of voice or microphone is an offset, which this
 * removes). Band energies have a floor 50 dB under the loud frames, so digital silence and a quiet
 * room both read as quiet.
 */
function cepstra(samples16k: Float32Array): { features: Float32Array; levels: Float64Array } {
  const frames = samples16k.length < CEPSTRUM_WINDOW ? 0 : Math.floor((samples16k.length - CEPSTRUM_WINDOW) / CEPSTRUM_HOP) + 1;
  const filters = melFilters();
  const fft = createFft(CEPSTRUM_FFT);
  const re = new Float64Array(CEPSTRUM_FFT);
  const im = new Float64Array(CEPSTRUM_FFT);
  const hann = Float64Array.from({ length: CEPSTRUM_WINDOW }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / CEPSTRUM_WINDOW));
  const energies = new Float64Array(frames * MEL_FILTERS);
  const totals = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < CEPSTRUM_WINDOW; i++) re[i] = samples16k[f * CEPSTRUM_HOP + i] * hann[i];
    fft(re, im);
    for (let m = 0; m < MEL_FILTERS; m++) {
      const { first, weights } = filters[m];
      let e = 0;
      for (let j = 0; j < weights.length; j++) e += weights[j] * (re[first + j] ** 2 + im[first + j] ** 2);
      energies[f * MEL_FILTERS + m] = e;
      totals[f] += e;
    }
  }
  const floor = (percentile(totals, 0.95) * 1e-5) / MEL_FILTERS + 1e-12;
  const out = new Float32Array(frames * CEPSTRA);
  const logs = new Float64Array(MEL_FILTERS);
  for (let f = 0; f < frames; f++) {
    for (let m = 0; m < MEL_FILTERS; m++) logs[m] = Math.log(energies[f * MEL_FILTERS + m] + floor);
    for (let k = 0; k < CEPSTRA; k++) {
      let sum = 0;
      for (let m = 0; m < MEL_FILTERS; m++) sum += logs[m] * Math.cos((Math.PI * k * (m + 0.5)) / MEL_FILTERS);
      out[f * CEPSTRA + k] = sum;
    }
  }
  for (let k = 0; k < CEPSTRA; k++) {
    let mean = 0;
    for (let f = 0; f < frames; f++) mean += out[f * CEPSTRA + k];
    mean /= Math.max(1, frames);
    let variance = 0;
    for (let f = 0; f < frames; f++) variance += (out[f * CEPSTRA + k] - mean) ** 2;
    const std = Math.sqrt(variance / Math.max(1, frames)) || 1;
    for (let f = 0; f < frames; f++) out[f * CEPSTRA + k] = (out[f * CEPSTRA + k] - mean) / std;
  }
  return { features: out, levels: Float64Array.from(totals, (e) => 10 * Math.log10(e + 1e-12)) };
}

let melFilterBank: { first: number; weights: Float64Array }[] | undefined;

/** Triangular filters evenly spaced on the mel scale from 100 Hz to 7 kHz, over CEPSTRUM_FFT bins at 16 kHz. */
function melFilters(): { first: number; weights: Float64Array }[] {
  if (melFilterBank) return melFilterBank;
  const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const hz = (m: number) => 700 * (10 ** (m / 2595) - 1);
  const edges = Array.from({ length: MEL_FILTERS + 2 }, (_, i) => hz(mel(100) + ((mel(7000) - mel(100)) * i) / (MEL_FILTERS + 1)));
  const binHz = VAD_SAMPLE_RATE / CEPSTRUM_FFT;
  melFilterBank = Array.from({ length: MEL_FILTERS }, (_, m) => {
    const [left, centre, right] = [edges[m], edges[m + 1], edges[m + 2]];
    const first = Math.ceil(left / binHz);
    const last = Math.floor(right / binHz);
    const weights = Float64Array.from({ length: Math.max(0, last - first + 1) }, (_, j) => {
      const f = (first + j) * binHz;
      return f <= centre ? (f - left) / (centre - left) : (right - f) / (right - centre);
    });
    return { first, weights };
  });
  return melFilterBank;
}

/** Each word's sound in the reference: from its first phoneme's start to its last one's end, never overlapping the next. */
function soundOfWords(reference: TimingReference): { start: number; end: number }[] {
  const { words, phonemes } = reference;
  const units = words.map((w) => ({ start: Infinity, end: -Infinity, word: w }));
  let q = 0;
  for (const p of phonemes) {
    while (q + 1 < words.length && p.start >= words[q + 1].start) q++;
    if (p.start < words[q].start - 1e-6) continue;
    units[q].start = Math.min(units[q].start, p.start);
    units[q].end = Math.max(units[q].end, p.end);
  }
  const out = units.map((u) => (u.start <= u.end ? { start: u.start, end: u.end } : { start: u.word.start, end: Math.max(u.word.start, u.word.end) }));
  for (let k = 0; k < out.length; k++) {
    if (k > 0) out[k].start = Math.max(out[k].start, out[k - 1].end);
    if (k + 1 < out.length) out[k].end = Math.max(out[k].start, Math.min(out[k].end, out[k + 1].start));
  }
  return out;
}

/**
 * Which words each stretch of recorded speech gets: runs [from, to) of consecutive words, in
 * order, covering every word; a run may be empty. Dynamic programming over (stretch, words so far).
 */
function assignWords(
  n: number,
  lengths: number[],
  lengthOf: (k: number, i: number) => number,
  pauses: number[],
  rate: number,
): { from: number; to: number }[] {
  const m = lengths.length;
  const fit = (j: number, k: number, i: number) => {
    const r = Math.log(lengths[j] / (rate * lengthOf(k, i)));
    const variance = TIMING.phraseRateSpread ** 2 + TIMING.wordRateSpread ** 2 / (i - k);
    return (r * r) / (2 * variance);
  };
  const boundary = (k: number) => (k === 0 ? 0 : TIMING.unexpectedPause * Math.max(0, 1 - pauses[k - 1] / TIMING.expectedPause));
  const solve = (bounded: boolean) => {
    const cost = new Float64Array((m + 1) * (n + 1)).fill(Infinity);
    const from = new Int32Array((m + 1) * (n + 1)).fill(-1);
    cost[0] = 0;
    for (let j = 1; j <= m; j++) {
      const row = j * (n + 1);
      const prev = (j - 1) * (n + 1);
      const empty = TIMING.emptyBase + TIMING.emptyPerSecond * lengths[j - 1];
      for (let i = 0; i <= n; i++) {
        let best = cost[prev + i] + empty;
        let bestK = i;
        for (let k = i - 1; k >= 0; k--) {
          // Runs far longer than the stretch cannot win; stop looking once they get there.
          if (bounded && i - k > 1 && rate * lengthOf(k, i) > 8 * lengths[j - 1] + 2) break;
          if (cost[prev + k] === Infinity) continue;
          const c = cost[prev + k] + fit(j - 1, k, i) + boundary(k);
          if (c < best) {
            best = c;
            bestK = k;
          }
        }
        cost[row + i] = best;
        from[row + i] = bestK;
      }
    }
    return { cost, from };
  };
  let { cost, from } = solve(true);
  if (cost[m * (n + 1) + n] === Infinity) ({ cost, from } = solve(false));
  const runs: { from: number; to: number }[] = new Array(m);
  let i = n;
  for (let j = m; j >= 1; j--) {
    const k = from[j * (n + 1) + i];
    runs[j - 1] = { from: k, to: i };
    i = k;
  }
  return runs;
}

/** Piecewise-linear through the knots (x increasing), slope 1 beyond them. */
function interpolate(knots: { x: number; y: number }[], x: number): number {
  if (knots.length === 0) return x;
  if (x <= knots[0].x) return knots[0].y + (x - knots[0].x);
  const last = knots[knots.length - 1];
  if (x >= last.x) return last.y + (x - last.x);
  let lo = 0;
  let hi = knots.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (knots[mid].x <= x) lo = mid;
    else hi = mid;
  }
  const a = knots[lo];
  const b = knots[hi];
  return a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
}

/** Mouth windows: 512 samples at 16 kHz, 32 ms, the VAD's own window. */
const MOUTH_WINDOW = 512;

/**
 * A mouth track from the sound alone, for a recording without a transcript: one shape per 32 ms
 * window, as PhonemeTiming entries with no phoneme name (only windows that are not at rest).
 *   rest  outside the VAD's speech, or 40 dB or more below the speech's loud level
 *   CDG   hiss (most energy above 3.5 kHz: s, sh, f) or weak (18 dB below the loud level)
 *   then by brightness, the energy at 1-3.5 kHz (the second formant of front vowels) against
 *   150 Hz-1 kHz, ranked within this recording so any voice and microphone use every shape:
 *   E     the brightest third (ee, eh)
 *   AI    the middle third, when loud (ah, the open vowels are the loudest)
 *   O/U   the darkest third (oh, oo: both formants low), O when loud, U when softer
 */
export function mouthFromSound(samples16k: Float32Array, speech: SpeechSpan[]): PhonemeTiming[] {
  const windows = Math.floor(samples16k.length / MOUTH_WINDOW);
  const seconds = MOUTH_WINDOW / VAD_SAMPLE_RATE;
  const level = new Float64Array(windows);
  const brightness = new Float64Array(windows);
  const hiss = new Float64Array(windows);
  const inSpeech = new Uint8Array(windows);
  const fft = createFft(MOUTH_WINDOW);
  const re = new Float64Array(MOUTH_WINDOW);
  const im = new Float64Array(MOUTH_WINDOW);
  const hann = Float64Array.from({ length: MOUTH_WINDOW }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / MOUTH_WINDOW));
  const bin = (hz: number) => Math.round((hz * MOUTH_WINDOW) / VAD_SAMPLE_RATE);
  const [b150, b1k, b3k5] = [bin(150), bin(1000), bin(3500)];
  let span = 0;
  for (let w = 0; w < windows; w++) {
    const middle = (w + 0.5) * seconds;
    while (span < speech.length && speech[span].end <= middle) span++;
    inSpeech[w] = span < speech.length && speech[span].start <= middle ? 1 : 0;
    let energy = 0;
    for (let i = 0; i < MOUTH_WINDOW; i++) {
      const x = samples16k[w * MOUTH_WINDOW + i];
      energy += x * x;
      re[i] = x * hann[i];
      im[i] = 0;
    }
    fft(re, im);
    let low = 1e-12;
    let mid = 1e-12;
    let high = 1e-12;
    for (let k = b150; k <= MOUTH_WINDOW / 2; k++) {
      const power = re[k] * re[k] + im[k] * im[k];
      if (k < b1k) low += power;
      else if (k < b3k5) mid += power;
      else high += power;
    }
    level[w] = 10 * Math.log10(energy / MOUTH_WINDOW + 1e-12);
    brightness[w] = 10 * Math.log10(mid / low);
    hiss[w] = high / (low + mid + high);
  }

  const loud = percentile(level.filter((_, w) => inSpeech[w] === 1), 0.9);
  const visemes: Viseme[] = new Array<Viseme>(windows).fill('rest');
  const voiced: number[] = [];
  for (let w = 0; w < windows; w++) {
    if (!inSpeech[w] || level[w] < loud - 40) continue;
    if (hiss[w] > 0.5 || level[w] < loud - 18) visemes[w] = 'CDG';
    else voiced.push(w);
  }
  const ranked = Float64Array.from(voiced, (w) => brightness[w]);
  const dark = percentile(ranked, 1 / 3);
  const bright = percentile(ranked, 2 / 3);
  for (const w of voiced) {
    const strong = level[w] >= loud - 8;
    if (brightness[w] >= bright) visemes[w] = 'E';
    else if (brightness[w] <= dark) visemes[w] = strong ? 'O' : 'U';
    else visemes[w] = strong ? 'AI' : 'E';
  }

  const phonemes: PhonemeTiming[] = [];
  for (let w = 0; w < windows; w++) {
    if (visemes[w] === 'rest') continue;
    const last = phonemes[phonemes.length - 1];
    if (last && last.viseme === visemes[w] && Math.abs(last.end - w * seconds) < 1e-9) last.end = (w + 1) * seconds;
    else phonemes.push({ phoneme: '', viseme: visemes[w], start: w * seconds, end: (w + 1) * seconds });
  }
  return phonemes;
}

function percentile(values: Float64Array, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** An in-place radix-2 complex FFT of length n (a power of two). */
function createFft(n: number): (re: Float64Array, im: Float64Array) => void {
  const cos = Float64Array.from({ length: n / 2 }, (_, k) => Math.cos((-2 * Math.PI * k) / n));
  const sin = Float64Array.from({ length: n / 2 }, (_, k) => Math.sin((-2 * Math.PI * k) / n));
  return (re, im) => {
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        [re[i], re[j]] = [re[j], re[i]];
        [im[i], im[j]] = [im[j], im[i]];
      }
    }
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const a = start + k;
          const b = a + half;
          const tr = re[b] * cos[k * step] - im[b] * sin[k * step];
          const ti = re[b] * sin[k * step] + im[b] * cos[k * step];
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  };
}
