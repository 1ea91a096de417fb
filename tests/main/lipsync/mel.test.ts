import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MEL_BANDS, MEL_WINDOW, melSpectrogram, melWindows, resampleTo16k } from '../../../src-main/lipsync/mel';
import { decodeWav } from '../../../src-main/voices/wav';
import { sharedFile } from '../../support/shared';

// An independent reference, written from the formulas in Wav2Lip's audio.py/hparams.py and
// librosa 0.7 rather than from the code under test: explicit padding, an O(N^2) DFT and
// triangles drawn between Slaney mel points.
const SR = 16000;
const N = 800;
const HOP = 200;

function slaneyHzToMel(hz: number): number {
  if (hz < 1000) return (3 * hz) / 200;
  return 15 + (27 * Math.log(hz / 1000)) / Math.log(6.4);
}
function slaneyMelToHz(mel: number): number {
  if (mel < 15) return (200 * mel) / 3;
  return 1000 * Math.pow(6.4, (mel - 15) / 27);
}

/** filterbank[band][bin], 80 x 401, Slaney area normalisation. */
const filterbank: number[][] = (() => {
  const lo = slaneyHzToMel(55);
  const hi = slaneyHzToMel(7600);
  const points = Array.from({ length: 82 }, (_, i) => slaneyMelToHz(lo + ((hi - lo) * i) / 81));
  return Array.from({ length: 80 }, (_, b) => {
    const [l, c, r] = [points[b], points[b + 1], points[b + 2]];
    return Array.from({ length: N / 2 + 1 }, (_, k) => {
      const f = k * (SR / N);
      let tri = 0;
      if (f > l && f <= c) tri = (f - l) / (c - l);
      else if (f > c && f < r) tri = (r - f) / (r - c);
      return (tri * 2) / (r - l);
    });
  });
})();

function normalise(melMagnitude: number): number {
  const db = 20 * Math.log10(Math.max(1e-5, melMagnitude)) - 20;
  return Math.min(4, Math.max(-4, (8 * (db + 100)) / 100 - 4));
}

/** numpy.pad(x, pad, mode='reflect'), reflecting again while the pad is longer than x. */
function reflectPad(y: number[], pad: number): number[] {
  let out = y;
  while (out.length < y.length + 2 * pad) {
    const left = Math.min(pad - (out.length - y.length) / 2, out.length - 1);
    out = [...out.slice(1, left + 1).reverse(), ...out, ...out.slice(out.length - 1 - left, out.length - 1).reverse()];
  }
  return out;
}

function referenceMagnitudes(x: Float32Array, frame: number): number[] {
  const y = Array.from(x, (v, i) => v - 0.97 * (i > 0 ? x[i - 1] : 0));
  const padded = reflectPad(y, N / 2);
  const segment = padded.slice(frame * HOP, frame * HOP + N).map((v, i) => v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N)));
  return Array.from({ length: N / 2 + 1 }, (_, k) => {
    let re = 0;
    let im = 0;
    for (let n = 0; n < N; n++) {
      re += segment[n] * Math.cos((2 * Math.PI * k * n) / N);
      im -= segment[n] * Math.sin((2 * Math.PI * k * n) / N);
    }
    return Math.hypot(re, im);
  });
}

function referenceFrame(x: Float32Array, frame: number): number[] {
  const magnitude = referenceMagnitudes(x, frame);
  return filterbank.map((row) => normalise(row.reduce((sum, w, k) => sum + w * magnitude[k], 0)));
}

const column = (mel: Float32Array, frames: number, t: number) => Array.from({ length: MEL_BANDS }, (_, b) => mel[b * frames + t]);

function speech(): Float32Array {
  const { samples, sampleRate } = decodeWav(readFileSync(sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav')));
  expect(sampleRate).toBe(SR);
  return samples;
}

function tone(hz: number, seconds: number, amplitude: number, rate = SR): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe('melSpectrogram', () => {
  it('matches a plain DFT and Slaney filterbank on real speech, edge frames included', () => {
    const x = speech();
    const { mel, frames } = melSpectrogram(x);
    expect(frames).toBe(1 + Math.floor(x.length / HOP));
    expect(frames).toBe(1188);
    for (const t of [0, 1, 250, 400, 700, frames - 2, frames - 1]) {
      const expected = referenceFrame(x, t);
      const actual = column(mel, frames, t);
      for (let b = 0; b < MEL_BANDS; b++) expect(actual[b]).toBeCloseTo(expected[b], 4);
    }
    // The check above means something only if speech spans the range.
    expect(Math.max(...mel)).toBeGreaterThan(1);
    expect(Math.min(...mel)).toBe(-4);
    expect(mel.every((v) => v >= -4 && v <= 4)).toBe(true);
  });

  it('gives a 440 Hz tone the value its analytic spectrum predicts, peaking in the band around 440 Hz', () => {
    const amplitude = 0.5;
    const x = tone(440, 1, amplitude);
    const { mel, frames } = melSpectrogram(x);
    expect(frames).toBe(81);
    // 440 Hz is bin 22 exactly. After pre-emphasis (gain |1 - 0.97 e^-jw|) a periodic Hann
    // window puts N/4 of the amplitude in that bin and N/8 in each neighbour, nothing elsewhere.
    const w = (2 * Math.PI * 440) / SR;
    const gain = Math.hypot(1 - 0.97 * Math.cos(w), 0.97 * Math.sin(w));
    const spectrum = (k: number) => (k === 22 ? N / 4 : k === 21 || k === 23 ? N / 8 : 0) * amplitude * gain;
    const expected = filterbank.map((row) => normalise(row.reduce((sum, wt, k) => sum + wt * spectrum(k), 0)));
    const peakBand = expected.indexOf(Math.max(...expected));
    expect(filterbank[peakBand][22]).toBe(Math.max(...filterbank.map((row) => row[22])));
    for (const t of [3, 40, 77]) {
      const actual = column(mel, frames, t);
      for (let b = 0; b < MEL_BANDS; b++) expect(actual[b]).toBeCloseTo(expected[b], 4);
    }
    for (let t = 0; t < frames; t++) {
      const actual = column(mel, frames, t);
      expect(actual.indexOf(Math.max(...actual))).toBe(peakBand);
    }
  });

  it('maps silence to -4 everywhere', () => {
    const { mel, frames } = melSpectrogram(new Float32Array(4000));
    expect(frames).toBe(21);
    expect(mel.every((v) => v === -4)).toBe(true);
  });

  it('pads audio shorter than one window by reflecting it, as numpy does', () => {
    // np.pad([1, 2, 3], 5, mode='reflect'), printed by numpy 1.x and 2.x alike.
    expect(reflectPad([1, 2, 3], 5)).toEqual([2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
    const x = speech().slice(20000, 20300);
    const { mel, frames } = melSpectrogram(x);
    expect(frames).toBe(2);
    for (const t of [0, 1]) {
      const expected = referenceFrame(x, t);
      const actual = column(mel, frames, t);
      for (let b = 0; b < MEL_BANDS; b++) expect(actual[b]).toBeCloseTo(expected[b], 4);
    }
  });

  it('returns no frames for empty input', () => {
    expect(melSpectrogram(new Float32Array(0))).toEqual({ mel: new Float32Array(0), frames: 0 });
  });
});

describe('melWindows', () => {
  // mel[b][t] = b * 1000 + t, so each value says where it came from.
  const frames = 100;
  const mel = Float32Array.from({ length: MEL_BANDS * frames }, (_, i) => Math.floor(i / frames) * 1000 + (i % frames));
  const startOf = (w: Float32Array) => w[0];

  it('starts video frame i at int(i * 80 / fps), 16 mel frames per band', () => {
    const windows = melWindows(mel, frames, 25, 20);
    expect(windows).toHaveLength(20);
    expect(windows.slice(0, 7).map(startOf)).toEqual([0, 3, 6, 9, 12, 16, 19]);
    const w = windows[6];
    expect(w).toHaveLength(MEL_BANDS * MEL_WINDOW);
    for (let b = 0; b < MEL_BANDS; b++) for (let j = 0; j < MEL_WINDOW; j++) expect(w[b * MEL_WINDOW + j]).toBe(b * 1000 + 19 + j);
  });

  it('clamps windows past the end of the audio to the last 16 mel frames', () => {
    const windows = melWindows(mel, frames, 30, 60);
    expect(windows.map(startOf).slice(-3)).toEqual([84, 84, 84]);
    expect(startOf(windows[31])).toBe(Math.floor((31 * 80) / 30));
  });

  it('pads audio shorter than one window with silence', () => {
    const short = Float32Array.from({ length: MEL_BANDS * 5 }, (_, i) => i % 5);
    const [w] = melWindows(short, 5, 25, 1);
    expect(Array.from(w.subarray(0, 16))).toEqual([0, 1, 2, 3, 4, ...Array(11).fill(-4)]);
  });
});

describe('resampleTo16k', () => {
  const rms = (x: Float32Array, from: number, to: number) => Math.sqrt(x.slice(from, to).reduce((s, v) => s + v * v, 0) / (to - from));

  it('keeps a 1 kHz tone from 44.1 kHz, sample for sample', () => {
    const out = resampleTo16k(tone(1000, 1, 0.5, 44100), 44100);
    expect(out).toHaveLength(16000);
    const ideal = tone(1000, 1, 0.5);
    let worst = 0;
    for (let i = 200; i < 15800; i++) worst = Math.max(worst, Math.abs(out[i] - ideal[i]));
    expect(worst).toBeLessThan(1e-3);
  });

  it('keeps a 3 kHz tone from 22.05 kHz and 48 kHz', () => {
    for (const rate of [22050, 48000]) {
      const out = resampleTo16k(tone(3000, 0.5, 0.5, rate), rate);
      expect(out).toHaveLength(8000);
      const ideal = tone(3000, 0.5, 0.5);
      for (let i = 200; i < 7800; i += 37) expect(Math.abs(out[i] - ideal[i])).toBeLessThan(2e-3);
    }
  });

  it('removes a tone above 8 kHz instead of folding it into the speech band', () => {
    const out = resampleTo16k(tone(11000, 1, 0.5, 44100), 44100);
    expect(rms(out, 500, 15500)).toBeLessThan(0.5 * 1e-3);
  });

  it('returns 16 kHz input unchanged', () => {
    const x = tone(440, 0.1, 0.3);
    expect(resampleTo16k(x, 16000)).toEqual(x);
  });
});
