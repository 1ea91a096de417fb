import { Tensor } from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { ModelSessions } from '../models/sessions';

/** A stretch of speech, in seconds from the start of the audio. */
export interface SpeechSpan {
  start: number;
  end: number;
}

export interface SpeechOptions {
  /** Probability at which speech starts (upstream's `threshold`). */
  threshold?: number;
  /** Seconds of non-speech that end a stretch of speech. */
  minSilence?: number;
  /** Stretches shorter than this many seconds are dropped (clicks, breaths). */
  minSpeech?: number;
  /** Seconds added to each side of a stretch. */
  speechPad?: number;
  signal?: AbortSignal;
}

/** The only rate this module feeds the model; it also takes 8 kHz, which nothing here needs. */
export const VAD_SAMPLE_RATE = 16000;
/** New samples per model call at 16 kHz: one probability per 32 ms. */
export const VAD_WINDOW = 512;
/** Samples of the previous window put in front of each new one (silero-vad's MODEL.md). */
const CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

/**
 * Upstream's get_speech_timestamps defaults, except minSpeech: upstream drops stretches under
 * 250 ms, which throws away a lone short word ("Hi.", "So,") that trimming and word timing need.
 * 100 ms still drops single-window blips.
 */
const DEFAULTS = { threshold: 0.5, minSilence: 0.1, minSpeech: 0.1, speechPad: 0.03 };

/**
 * On the CPU: the model is called once per 32 ms window with a state carried from the last, so a
 * GPU would spend its time on transfers (0.2 ms a call on a CPU core). The active voice-activity
 * model of the registry, else Silero from the catalogue.
 */
const sessions = new ModelSessions(['cpu']);
const vadSession = () => sessions.open('voice-activity');

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Speech detection was cancelled.');
}

/**
 * Silero VAD v6.2's speech probability for each 512-sample window of 16 kHz mono audio, window
 * i covering samples [512 i, 512 i + 512); the last window is padded with zeros. As upstream's
 * OnnxWrapper does, each call gets the last 64 samples of the window before (zeros at the start)
 * followed by the 512 new ones, and the recurrent state the previous call returned.
 */
export async function speechProbabilities(samples16k: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
  throwIfCancelled(signal);
  const { session: model } = await vadSession();
  const windows = Math.ceil(samples16k.length / VAD_WINDOW);
  const probabilities = new Float32Array(windows);
  const sr = new Tensor('int64', BigInt64Array.of(BigInt(VAD_SAMPLE_RATE)), []);
  let state: Tensor = new Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]);
  const input = new Float32Array(CONTEXT + VAD_WINDOW);
  for (let w = 0; w < windows; w++) {
    // The context is the tail of the previous input, which is the tail of the previous window.
    input.copyWithin(0, input.length - CONTEXT);
    const from = w * VAD_WINDOW;
    const chunk = samples16k.subarray(from, Math.min(samples16k.length, from + VAD_WINDOW));
    input.set(chunk, CONTEXT);
    input.fill(0, CONTEXT + chunk.length);
    // The run is awaited before `input` changes again, so the tensor can share its buffer.
    const out = await model.run({ input: new Tensor('float32', input, [1, CONTEXT + VAD_WINDOW]), state, sr });
    probabilities[w] = (out.output.data as Float32Array)[0];
    state = out.stateN;
    if (w % 256 === 255) throwIfCancelled(signal);
  }
  return probabilities;
}

/**
 * Stretches of speech from per-window probabilities, as upstream's get_speech_timestamps decides
 * them: speech starts at a window at or above `threshold`; it ends where the probability falls
 * below threshold - 0.15 and stays under `threshold` for at least `minSilence`; stretches shorter
 * than `minSpeech` are dropped; each is widened by `speechPad` on both sides, or by half the gap
 * where two are closer than twice that.
 */
export function findSpeech(
  probabilities: Float32Array,
  sampleCount: number,
  options: Omit<SpeechOptions, 'signal'> = {},
): SpeechSpan[] {
  const threshold = options.threshold ?? DEFAULTS.threshold;
  const negThreshold = Math.max(threshold - 0.15, 0.01);
  const minSilence = (options.minSilence ?? DEFAULTS.minSilence) * VAD_SAMPLE_RATE;
  const minSpeech = (options.minSpeech ?? DEFAULTS.minSpeech) * VAD_SAMPLE_RATE;
  const pad = (options.speechPad ?? DEFAULTS.speechPad) * VAD_SAMPLE_RATE;

  const spans: { start: number; end: number }[] = [];
  let start: number | undefined;
  let silenceFrom: number | undefined;
  for (let w = 0; w < probabilities.length; w++) {
    const p = probabilities[w];
    const at = w * VAD_WINDOW;
    if (p >= threshold) {
      silenceFrom = undefined;
      start ??= at;
      continue;
    }
    if (start === undefined || p >= negThreshold) continue;
    silenceFrom ??= at;
    if (at - silenceFrom < minSilence) continue;
    if (silenceFrom - start > minSpeech) spans.push({ start, end: silenceFrom });
    start = undefined;
    silenceFrom = undefined;
  }
  if (start !== undefined && sampleCount - start > minSpeech) spans.push({ start, end: sampleCount });

  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (i === 0) span.start = Math.max(0, span.start - pad);
    const next = spans[i + 1];
    if (!next) {
      span.end = Math.min(sampleCount, span.end + pad);
      continue;
    }
    const gap = next.start - span.end;
    const widen = gap < 2 * pad ? Math.floor(gap / 2) : pad;
    span.end += widen;
    next.start = Math.max(0, next.start - widen);
  }
  return spans.map((s) => ({ start: s.start / VAD_SAMPLE_RATE, end: s.end / VAD_SAMPLE_RATE }));
}

/**
 * Where speech is in 16 kHz mono audio (-1..1), in seconds, found with Silero VAD v6.2 (the
 * registry's active voice-activity model, else the catalogue's 'silero-vad', from
 * MOUTHPIECE_MODELS or downloaded).
 */
export async function detectSpeech(samples16k: Float32Array, options: SpeechOptions = {}): Promise<SpeechSpan[]> {
  const probabilities = await speechProbabilities(samples16k, options.signal);
  return findSpeech(probabilities, samples16k.length, options);
}
