import { readFileSync } from 'node:fs';
import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { errorCode, ErrorCode } from '../../../src-shared/errors';
import { createSession } from '../../../src-main/inference/session';
import { detectSpeech, findSpeech, speechProbabilities, VAD_WINDOW } from '../../../src-main/voices/vad';
import { decodeWav } from '../../../src-main/voices/wav';
import { sharedFile, useSharedModels } from '../../support/shared';

useSharedModels();

/** The LibriSpeech fixture: 14.84 s of one man reading, 16 kHz mono. */
function fixture(): Float32Array {
  const { samples, sampleRate } = decodeWav(readFileSync(sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav')));
  expect(sampleRate).toBe(16000);
  return samples;
}

const total = (spans: { start: number; end: number }[]) => spans.reduce((sum, s) => sum + s.end - s.start, 0);

/** White noise from a fixed seed, at an RMS level in dBFS. */
function noise(seconds: number, dbfs: number): Float32Array {
  let state = 12345;
  const amplitude = 10 ** (dbfs / 20) * Math.sqrt(3);
  return Float32Array.from({ length: seconds * 16000 }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * amplitude;
  });
}

describe('detectSpeech', () => {
  it('finds the fixture reading as several stretches covering most of it, split at its pauses', async () => {
    const samples = fixture();
    const spans = await detectSpeech(samples);

    // The reader takes four breaths; each is a gap of at least 0.1 s between stretches.
    expect(spans.length).toBeGreaterThanOrEqual(3);
    expect(spans.length).toBeLessThanOrEqual(8);
    const duration = samples.length / 16000;
    expect(total(spans) / duration).toBeGreaterThan(0.8);
    expect(total(spans) / duration).toBeLessThan(0.99);
    expect(spans[0].start).toBeGreaterThan(0.1);
    expect(spans[0].start).toBeLessThan(0.6);
    expect(spans[spans.length - 1].end).toBeGreaterThan(duration - 0.3);
    for (let i = 1; i < spans.length; i++) expect(spans[i].start - spans[i - 1].end).toBeGreaterThan(0.1);
  });

  it('moves with the speech: two seconds of silence in front shift every stretch by two seconds', async () => {
    const samples = fixture();
    const padded = new Float32Array(samples.length + 32000 + 16000);
    padded.set(samples, 32000);
    const plain = await detectSpeech(samples);
    const shifted = await detectSpeech(padded);

    expect(shifted.length).toBe(plain.length);
    for (const [i, span] of shifted.entries()) {
      expect(Math.abs(span.start - 2 - plain[i].start)).toBeLessThan(0.1);
      expect(Math.abs(span.end - 2 - plain[i].end)).toBeLessThan(0.1);
    }
  });

  it('finds no speech in digital silence or in quiet hiss', async () => {
    expect(await detectSpeech(new Float32Array(3 * 16000))).toEqual([]);
    expect(await detectSpeech(noise(3, -45))).toEqual([]);
  });

  it('rates each 32 ms window, speech high and silence low', async () => {
    const samples = fixture();
    const probabilities = await speechProbabilities(samples);
    expect(probabilities.length).toBe(Math.ceil(samples.length / VAD_WINDOW));
    // The first 0.25 s is before the reader starts; 5 to 6 s is the middle of a sentence.
    const first = Array.from(probabilities.subarray(0, 7));
    const middle = Array.from(probabilities.subarray(Math.floor((5 * 16000) / VAD_WINDOW), Math.floor((6 * 16000) / VAD_WINDOW)));
    expect(Math.max(...first)).toBeLessThan(0.2);
    expect(middle.filter((p) => p > 0.5).length / middle.length).toBeGreaterThan(0.9);
  });

  it("feeds the model as upstream's OnnxWrapper does: the previous 64 samples, then 512 new ones, and the state it returned", async () => {
    const samples = fixture().subarray(0, 60 * VAD_WINDOW);
    const { session } = await createSession(sharedFile('models/silero-vad/silero_vad.onnx'), ['cpu']);
    // OnnxWrapper.__call__, step by step: x = cat(context, chunk); context = x[..., -64:].
    const upstream: number[] = [];
    let context = new Float32Array(64);
    let state: Tensor = new Tensor('float32', new Float32Array(256), [2, 1, 128]);
    for (let from = 0; from < samples.length; from += 512) {
      const x = new Float32Array(576);
      x.set(context, 0);
      x.set(samples.subarray(from, from + 512), 64);
      const out = await session.run({ input: new Tensor('float32', x, [1, 576]), state, sr: new Tensor('int64', BigInt64Array.of(16000n), []) });
      upstream.push((out.output.data as Float32Array)[0]);
      state = out.stateN;
      context = x.slice(512);
    }

    const ours = Array.from(await speechProbabilities(samples));
    expect(ours).toHaveLength(upstream.length);
    for (const [i, p] of ours.entries()) expect(p).toBeCloseTo(upstream[i], 5);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await detectSpeech(fixture(), { signal: controller.signal }).catch((e: unknown) => e);
    expect(errorCode(error)).toBe(ErrorCode.Cancelled);
  });
});

describe('findSpeech', () => {
  const window = VAD_WINDOW / 16000;
  const spansOf = (probabilities: number[], options = {}) => findSpeech(Float32Array.from(probabilities), probabilities.length * VAD_WINDOW, options);

  it('starts at 0.5 and ends below 0.35 once the quiet has lasted 100 ms, padded by 30 ms', () => {
    // 0.4 neither starts nor ends speech: hysteresis.
    const spans = spansOf([0.1, 0.4, 0.9, 0.9, 0.4, 0.4, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
    expect(spans).toHaveLength(1);
    expect(spans[0].start).toBeCloseTo(2 * window - 0.03, 6);
    expect(spans[0].end).toBeCloseTo(8 * window + 0.03, 6);
  });

  it('keeps a quiet of 96 ms inside speech and splits at one of 160 ms', () => {
    // Upstream counts the minimum silence from the start of the first quiet window.
    const speech = [0.9, 0.9, 0.9, 0.9];
    expect(spansOf([0, ...speech, 0.1, 0.1, 0.1, ...speech, 0, 0, 0, 0, 0])).toHaveLength(1);
    const split = spansOf([0, ...speech, 0.1, 0.1, 0.1, 0.1, 0.1, ...speech, 0, 0, 0, 0, 0]);
    expect(split).toHaveLength(2);
    expect(split[1].start - split[0].end).toBeGreaterThan(0.06);
  });

  it('drops a blip of one window and keeps speech that runs to the end', () => {
    expect(spansOf([0, 0, 0.9, 0, 0, 0, 0, 0, 0])).toEqual([]);
    const spans = spansOf([0, 0, 0, 0.9, 0.9, 0.9, 0.9]);
    expect(spans).toHaveLength(1);
    expect(spans[0].end).toBeCloseTo(7 * window, 6);
  });

  it('takes a threshold and a minimum silence', () => {
    const probabilities = [0, 0.45, 0.45, 0.45, 0.45, 0, 0, 0, 0, 0];
    expect(spansOf(probabilities)).toEqual([]);
    expect(spansOf(probabilities, { threshold: 0.4 })).toHaveLength(1);
    const gapped = [0, 0.9, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0, 0.9, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(spansOf(gapped)).toHaveLength(2);
    expect(spansOf(gapped, { minSilence: 0.2 })).toHaveLength(1);
  });
});
