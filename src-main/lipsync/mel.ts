/**
 * The audio features of the Wav2Lip family, computed as Rudrabha/Wav2Lip's audio.py does with
 * its hparams.py and the librosa 0.7 it pins: 16 kHz mono, pre-emphasis 0.97, STFT with n_fft 800,
 * hop 200, a periodic Hann window of 800 and librosa's centred reflect padding, magnitude through
 * 80 Slaney mel filters (55-7600 Hz, area-normalised, float32 weights), amplitude to dB with a
 * -100 dB floor, minus the 20 dB reference, scaled symmetrically to [-4, 4] and clipped.
 * The networks were trained on exactly these numbers, so each step follows the original even
 * where a modern front end would differ (librosa >= 0.10 pads with zeros, not reflection).
 */

export const MEL_SAMPLE_RATE = 16000;
export const MEL_BANDS = 80;
/** Mel frames per video frame's window (Wav2Lip's mel_step_size). */
export const MEL_WINDOW = 16;
/** Mel frames per second: the sample rate over the hop. */
export const MEL_FRAMES_PER_SECOND = 80;
/** The value silence maps to. */
export const MEL_FLOOR = -4;

const N_FFT = 800;
const HOP = 200;
const BINS = N_FFT / 2 + 1;
const PREEMPHASIS = 0.97;
const FMIN = 55;
const FMAX = 7600;
const MIN_LEVEL_DB = -100;
const REF_LEVEL_DB = 20;
const MAX_ABS = 4;

/**
 * A complex FFT for lengths 4^a * 5^b (the 400 that an 800-point real transform needs): Stockham
 * autosort, one pass per factor, so no bit reversal. Returns a transform that reads and
 * overwrites (re, im) and keeps its own scratch.
 */
function createFft(n: number): (re: Float64Array, im: Float64Array) => void {
  const radices: number[] = [];
  for (let rest = n; rest > 1; ) {
    const p = rest % 4 === 0 ? 4 : rest % 5 === 0 ? 5 : 0;
    if (!p) throw new RangeError(`FFT length ${n} is not 4^a * 5^b`);
    radices.push(p);
    rest /= p;
  }
  const passes = radices.map((p, i) => {
    const len = n / radices.slice(0, i).reduce((a, b) => a * b, 1);
    const m = len / p;
    const twRe = new Float64Array(m * p);
    const twIm = new Float64Array(m * p);
    for (let j = 0; j < m; j++) {
      for (let r = 0; r < p; r++) {
        twRe[j * p + r] = Math.cos((-2 * Math.PI * j * r) / len);
        twIm[j * p + r] = Math.sin((-2 * Math.PI * j * r) / len);
      }
    }
    return { p, m, stride: n / len, twRe, twIm };
  });
  const c1 = Math.cos((2 * Math.PI) / 5);
  const c2 = Math.cos((4 * Math.PI) / 5);
  const s1 = Math.sin((2 * Math.PI) / 5);
  const s2 = Math.sin((4 * Math.PI) / 5);
  const scratchRe = new Float64Array(n);
  const scratchIm = new Float64Array(n);
  const aRe = new Float64Array(Math.max(...radices));
  const aIm = new Float64Array(Math.max(...radices));

  return (re, im) => {
    let xRe: Float64Array = re;
    let xIm: Float64Array = im;
    let yRe: Float64Array = scratchRe;
    let yIm: Float64Array = scratchIm;
    for (const { p, m, stride: s, twRe, twIm } of passes) {
      for (let j = 0; j < m; j++) {
        for (let q = 0; q < s; q++) {
          for (let k = 0; k < p; k++) {
            aRe[k] = xRe[q + s * (j + k * m)];
            aIm[k] = xIm[q + s * (j + k * m)];
          }
          // y_r = sum_k a_k W_p^(k*r), written back into a.
          if (p === 4) {
            const t0r = aRe[0] + aRe[2], t0i = aIm[0] + aIm[2];
            const t1r = aRe[0] - aRe[2], t1i = aIm[0] - aIm[2];
            const t2r = aRe[1] + aRe[3], t2i = aIm[1] + aIm[3];
            // (a1 - a3) * -i
            const t3r = aIm[1] - aIm[3], t3i = aRe[3] - aRe[1];
            aRe[0] = t0r + t2r; aIm[0] = t0i + t2i;
            aRe[1] = t1r + t3r; aIm[1] = t1i + t3i;
            aRe[2] = t0r - t2r; aIm[2] = t0i - t2i;
            aRe[3] = t1r - t3r; aIm[3] = t1i - t3i;
          } else {
            const b1r = aRe[1] + aRe[4], b1i = aIm[1] + aIm[4];
            const b2r = aRe[2] + aRe[3], b2i = aIm[2] + aIm[3];
            const d1r = aRe[1] - aRe[4], d1i = aIm[1] - aIm[4];
            const d2r = aRe[2] - aRe[3], d2i = aIm[2] - aIm[3];
            const e1r = aRe[0] + c1 * b1r + c2 * b2r, e1i = aIm[0] + c1 * b1i + c2 * b2i;
            const e2r = aRe[0] + c2 * b1r + c1 * b2r, e2i = aIm[0] + c2 * b1i + c1 * b2i;
            // -i * (s1 d1 + s2 d2) and -i * (s2 d1 - s1 d2)
            const f1r = s1 * d1i + s2 * d2i, f1i = -(s1 * d1r + s2 * d2r);
            const f2r = s2 * d1i - s1 * d2i, f2i = -(s2 * d1r - s1 * d2r);
            aRe[0] += b1r + b2r; aIm[0] += b1i + b2i;
            aRe[1] = e1r + f1r; aIm[1] = e1i + f1i;
            aRe[4] = e1r - f1r; aIm[4] = e1i - f1i;
            aRe[2] = e2r + f2r; aIm[2] = e2i + f2i;
            aRe[3] = e2r - f2r; aIm[3] = e2i - f2i;
          }
          for (let r = 0; r < p; r++) {
            const wr = twRe[j * p + r];
            const wi = twIm[j * p + r];
            const at = q + s * (p * j + r);
            yRe[at] = aRe[r] * wr - aIm[r] * wi;
            yIm[at] = aRe[r] * wi + aIm[r] * wr;
          }
        }
      }
      [xRe, yRe] = [yRe, xRe];
      [xIm, yIm] = [yIm, xIm];
    }
    if (xRe !== re) {
      re.set(xRe);
      im.set(xIm);
    }
  };
}

/**
 * Magnitudes of the first n/2 + 1 bins of a real signal's DFT, from one complex FFT of half the
 * length over the even (real part) and odd (imaginary part) samples.
 */
function createRealMagnitudes(n: number): (x: Float64Array, magnitude: Float64Array) => void {
  const half = n / 2;
  const fft = createFft(half);
  const zRe = new Float64Array(half);
  const zIm = new Float64Array(half);
  const wRe = Float64Array.from({ length: half + 1 }, (_, k) => Math.cos((-2 * Math.PI * k) / n));
  const wIm = Float64Array.from({ length: half + 1 }, (_, k) => Math.sin((-2 * Math.PI * k) / n));
  return (x, magnitude) => {
    for (let i = 0; i < half; i++) {
      zRe[i] = x[2 * i];
      zIm[i] = x[2 * i + 1];
    }
    fft(zRe, zIm);
    for (let k = 0; k <= half; k++) {
      // Even part E = (Z[k] + conj Z[-k]) / 2, odd part O = (Z[k] - conj Z[-k]) / 2i, X = E + W^k O.
      const a = k % half;
      const b = (half - k) % half;
      const eRe = (zRe[a] + zRe[b]) / 2;
      const eIm = (zIm[a] - zIm[b]) / 2;
      const oRe = (zIm[a] + zIm[b]) / 2;
      const oIm = -(zRe[a] - zRe[b]) / 2;
      const re = eRe + wRe[k] * oRe - wIm[k] * oIm;
      const im = eIm + wRe[k] * oIm + wIm[k] * oRe;
      magnitude[k] = Math.sqrt(re * re + im * im);
    }
  };
}

// librosa's Slaney mel scale: linear below 1 kHz, logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;
const hzToMel = (hz: number) => (hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP);
const melToHz = (mel: number) => (mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel);

interface Filter {
  first: number;
  weights: Float32Array;
}

/** librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600), kept sparse. */
function slaneyFilters(): Filter[] {
  const lo = hzToMel(FMIN);
  const hi = hzToMel(FMAX);
  // numpy.linspace: start + i * step, with the last point set to stop.
  const step = (hi - lo) / (MEL_BANDS + 1);
  const edges = Array.from({ length: MEL_BANDS + 2 }, (_, i) => melToHz(i === MEL_BANDS + 1 ? hi : lo + i * step));
  return Array.from({ length: MEL_BANDS }, (_, b) => {
    const [left, centre, right] = [edges[b], edges[b + 1], edges[b + 2]];
    const norm = 2 / (right - left);
    const row: number[] = [];
    let first = -1;
    for (let k = 0; k < BINS; k++) {
      const f = (k * MEL_SAMPLE_RATE) / N_FFT;
      // librosa stores the triangle in float32 before scaling it in place.
      const w = Math.fround(Math.fround(Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre)))) * norm);
      if (w > 0) {
        if (first < 0) first = k;
        row[k - first] = w;
      }
    }
    return { first: Math.max(first, 0), weights: Float32Array.from(row) };
  });
}

let plan: { magnitudes: (x: Float64Array, magnitude: Float64Array) => void; window: Float64Array; filters: Filter[] } | undefined;

function getPlan() {
  plan ??= {
    magnitudes: createRealMagnitudes(N_FFT),
    // scipy.signal.get_window('hann', 800, fftbins=True): periodic, as librosa asks for.
    window: Float64Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT)),
    filters: slaneyFilters(),
  };
  return plan;
}

/** numpy.pad(mode='reflect'): mirror about the end samples without repeating them. */
function reflect(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  const j = ((i % period) + period) % period;
  return j < length ? j : period - j;
}

/**
 * The Wav2Lip mel spectrogram of 16 kHz mono samples. `mel` is band-major, [80][frames]
 * (mel[band * frames + t]), as librosa returns it; there are 1 + floor(length / 200) frames,
 * frame t centred on sample t * 200. Empty input has no frames.
 */
export function melSpectrogram(samples16k: Float32Array): { mel: Float32Array; frames: number } {
  const length = samples16k.length;
  if (length === 0) return { mel: new Float32Array(0), frames: 0 };
  const { magnitudes, window, filters } = getPlan();
  const frames = 1 + Math.floor(length / HOP);

  // scipy.signal.lfilter([1, -k], [1], x): the sample before the first is zero.
  const emphasised = new Float64Array(length);
  emphasised[0] = samples16k[0];
  for (let i = 1; i < length; i++) emphasised[i] = samples16k[i] - PREEMPHASIS * samples16k[i - 1];

  const mel = new Float32Array(MEL_BANDS * frames);
  const frame = new Float64Array(N_FFT);
  const magnitude = new Float64Array(BINS);
  const minLevel = Math.pow(10, MIN_LEVEL_DB / 20);
  const pad = N_FFT / 2;
  for (let t = 0; t < frames; t++) {
    const start = t * HOP - pad;
    const inside = start >= 0 && start + N_FFT <= length;
    for (let i = 0; i < N_FFT; i++) {
      frame[i] = window[i] * emphasised[inside ? start + i : reflect(start + i, length)];
    }
    magnitudes(frame, magnitude);
    for (let b = 0; b < MEL_BANDS; b++) {
      const { first, weights } = filters[b];
      let sum = 0;
      for (let j = 0; j < weights.length; j++) sum += weights[j] * magnitude[first + j];
      const db = 20 * Math.log10(Math.max(minLevel, sum)) - REF_LEVEL_DB;
      const scaled = 2 * MAX_ABS * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS;
      mel[b * frames + t] = Math.min(MAX_ABS, Math.max(-MAX_ABS, scaled));
    }
  }
  return { mel, frames };
}

/**
 * Each video frame's 80x16 mel window, band-major ([80][16]) like the model's [1, 80, 16] input.
 * Frame i starts at mel frame int(i * 80 / fps), the way Wav2Lip's inference.py indexes; where
 * the original stops producing frames near the end of the audio, the window is clamped to the
 * last 16 mel frames so every video frame gets one, and audio shorter than a window is padded
 * with silence.
 */
export function melWindows(mel: Float32Array, frames: number, fps: number, videoFrames: number): Float32Array[] {
  if (!(fps > 0)) throw new RangeError(`fps must be positive, got ${fps}`);
  const step = MEL_FRAMES_PER_SECOND / fps;
  const lastStart = Math.max(0, frames - MEL_WINDOW);
  return Array.from({ length: videoFrames }, (_, i) => {
    const start = Math.min(Math.floor(i * step), lastStart);
    const window = new Float32Array(MEL_BANDS * MEL_WINDOW).fill(MEL_FLOOR);
    const count = Math.min(MEL_WINDOW, frames - start);
    for (let b = 0; b < MEL_BANDS; b++) {
      window.set(mel.subarray(b * frames + start, b * frames + start + count), b * MEL_WINDOW);
    }
    return window;
  });
}

// Kaiser-windowed sinc, close to the resampy filter librosa 0.7 loads audio with.
const SINC_ZEROS = 32;
const KAISER_BETA = 9;
const ROLLOFF = 0.945;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; term > 1e-12 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Resample mono audio to 16 kHz with a band-limited (Kaiser-windowed sinc) polyphase filter.
 * Done here rather than by ffmpeg because the narration is already decoded in memory when the
 * lip-sync stage needs it: a pure function needs no process, no temp file and no pipe, and gives
 * the same numbers on every platform. Output length is ceil(length * 16000 / sampleRate).
 */
export function resampleTo16k(samples: Float32Array, sampleRate: number): Float32Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sample rate must be a positive integer, got ${sampleRate}`);
  if (sampleRate === MEL_SAMPLE_RATE) return Float32Array.from(samples);
  const g = gcd(MEL_SAMPLE_RATE, sampleRate);
  const up = MEL_SAMPLE_RATE / g;
  const down = sampleRate / g;
  // Below the lower of the two Nyquist frequencies, a little under it to leave a transition band.
  const scale = Math.min(1, MEL_SAMPLE_RATE / sampleRate) * ROLLOFF;
  const half = Math.ceil(SINC_ZEROS / scale);
  const taps = 2 * half;
  const i0Beta = besselI0(KAISER_BETA);
  const kernel = (u: number) => {
    const x = u / SINC_ZEROS;
    if (Math.abs(x) >= 1) return 0;
    const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    return sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - x * x)) / i0Beta);
  };
  // Output sample n sits at input position base + phase / up; each phase has its own taps.
  const phases: (Float64Array | undefined)[] = new Array(up);
  const phaseTaps = (phase: number) => {
    let h = phases[phase];
    if (!h) {
      h = new Float64Array(taps);
      for (let j = 0; j < taps; j++) h[j] = scale * kernel(scale * (phase / up - (j - half + 1)));
      phases[phase] = h;
    }
    return h;
  };
  const outLength = Math.ceil((samples.length * up) / down);
  const out = new Float32Array(outLength);
  for (let n = 0; n < outLength; n++) {
    const position = n * down;
    const base = Math.floor(position / up);
    const h = phaseTaps(position - base * up);
    const from = Math.max(0, half - 1 - base);
    const to = Math.min(taps, samples.length - base + half - 1);
    let sum = 0;
    for (let j = from; j < to; j++) sum += h[j] * samples[base + j - half + 1];
    out[n] = sum;
  }
  return out;
}
