import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, ErrorCode } from '../../../src-shared/errors';
import { resampleTo16k } from '../../../src-main/lipsync/mel';
import { runFfmpeg } from '../../../src-main/media/ffmpeg';
import { buildMouthTrack } from '../../../src-main/render/mouthTrack';
import { loadRecording, RECORDING_SAMPLE_RATE, TRIM_MARGIN } from '../../../src-main/voices/recording';
import { detectSpeech } from '../../../src-main/voices/vad';
import { encodeWav } from '../../../src-main/voices/wav';
import { measureWordTiming, TIMING_CASES } from '../../bench/wordTiming';
import { sharedFile, useSharedModels } from '../../support/shared';

useSharedModels();

const WAV = sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav');
const OGG = sharedFile('fixtures/speech_librispeech_5703-47212-0000.ogg');
const CLIP = sharedFile('fixtures/talking_head_grid_bbaf2n.mp4');
const FIXTURE_SECONDS = 237440 / 16000;
/** Silence put before and after the fixture in padded.wav. */
const PAD_BEFORE = 1.5;
const PAD_AFTER = 2;

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mp-recording-'));
  // The fixture with silence added before and after, and a quiet room's hiss (pink noise, about
  // -50 dBFS) under all of it, so silence is not digital zero.
  await runFfmpeg({
    args: [
      '-i', WAV, '-f', 'lavfi', '-i', 'anoisesrc=a=0.02:c=pink:r=16000:d=30:seed=7',
      '-filter_complex', `[0:a]adelay=${PAD_BEFORE * 1000},apad=pad_len=${PAD_AFTER * 16000}[speech];[speech][1:a]amix=inputs=2:duration=first,volume=2`,
      '-c:a', 'pcm_s16le', file('padded.wav'),
    ],
  });
  await runFfmpeg({ args: ['-i', WAV, '-c:a', 'aac', '-b:a', '96k', file('copy.m4a')] });
  await runFfmpeg({ args: ['-i', WAV, '-c:a', 'libmp3lame', '-b:a', '96k', file('copy.mp3')] });
  await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '3', '-c:a', 'pcm_s16le', file('silent.wav')] });
  await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'color=c=blue:s=64x64:d=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file('no-sound.mp4')] });
  writeFileSync(file('notes.wav'), 'Remember to buy bread.\n');
  // Cut inside the Vorbis setup header: the stream cannot even start decoding.
  writeFileSync(file('cut.ogg'), readFileSync(OGG).subarray(0, 3000));
  writeFileSync(file('empty.wav'), encodeWav(new Float32Array(0), 16000));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

async function refusal(path: string): Promise<{ code: unknown; message: string }> {
  const error = await loadRecording(path).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, `${path} was accepted`).toBeDefined();
  return { code: errorCode(error), message: error!.message };
}

describe('loadRecording: decoding', () => {
  it('decodes the fixture WAV and OGG to the same 14.84 s of mono sound at 24 kHz', async () => {
    const wav = await loadRecording(WAV);
    const ogg = await loadRecording(OGG);
    for (const speech of [wav, ogg]) {
      expect(speech.sampleRate).toBe(RECORDING_SAMPLE_RATE);
      expect(speech.duration).toBeCloseTo(speech.samples.length / RECORDING_SAMPLE_RATE, 9);
      expect(Math.abs(speech.duration - FIXTURE_SECONDS)).toBeLessThan(0.01);
    }
    expect(correlation(wav.samples, ogg.samples)).toBeGreaterThan(0.99);
  });

  it('decodes M4A and MP3 copies made with ffmpeg to the same length, in step with the WAV', async () => {
    const wav = await loadRecording(WAV);
    for (const name of ['copy.m4a', 'copy.mp3']) {
      const copy = await loadRecording(file(name));
      expect(Math.abs(copy.duration - wav.duration), name).toBeLessThan(0.05);
      // Encoder delay removed: sample for sample the copies line up with the original.
      expect(correlation(copy.samples, wav.samples), name).toBeGreaterThan(0.9);
    }
  });

  it('takes the sound of a video', async () => {
    const speech = await loadRecording(CLIP);
    expect(Math.abs(speech.duration - 3)).toBeLessThan(0.05);
  });
});

describe('loadRecording: refusals', () => {
  it('refuses a text file named .wav, naming it', async () => {
    const { code, message } = await refusal(file('notes.wav'));
    expect(code).toBe(ErrorCode.BadInput);
    expect(message).toBe('notes.wav: not an audio file we can read, or it is damaged; use WAV, MP3, OGG or M4A');
  });

  it('refuses an OGG cut off in its headers as damaged', async () => {
    const { code, message } = await refusal(file('cut.ogg'));
    expect(code).toBe(ErrorCode.BadInput);
    expect(message).toMatch(/^cut\.ogg: not an audio file we can read, or it is damaged/);
  });

  it('refuses a video with no sound track, saying so', async () => {
    const { code, message } = await refusal(file('no-sound.mp4'));
    expect(code).toBe(ErrorCode.BadInput);
    expect(message).toMatch(/^no-sound\.mp4: .*no sound track.*WAV, MP3, OGG or M4A/);
  });

  it('refuses a silent recording: no speech found', async () => {
    const { code, message } = await refusal(file('silent.wav'));
    expect(code).toBe(ErrorCode.BadInput);
    expect(message).toMatch(/^silent\.wav: no speech found/);
  });

  it('refuses an empty recording and a missing file', async () => {
    const empty = await refusal(file('empty.wav'));
    expect(empty.code).toBe(ErrorCode.BadInput);
    expect(empty.message).toMatch(/^empty\.wav: the recording is empty/);
    const missing = await refusal(file('nowhere.wav'));
    expect(missing.code).toBe(ErrorCode.BadInput);
    expect(missing.message).toMatch(/^nowhere\.wav: no such file/);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await loadRecording(WAV, { signal: controller.signal }).catch((e: unknown) => e);
    expect(errorCode(error)).toBe(ErrorCode.Cancelled);
  });
});

describe('loadRecording: trimming', () => {
  it('keeps the silence around the speech unless asked to trim', async () => {
    const padded = await loadRecording(file('padded.wav'));
    expect(Math.abs(padded.duration - (PAD_BEFORE + FIXTURE_SECONDS + PAD_AFTER))).toBeLessThan(0.01);
  });

  it('trims added silence back to what trimming the original leaves, within 0.2 s', async () => {
    const original = await loadRecording(WAV, { trim: true });
    const padded = await loadRecording(file('padded.wav'), { trim: true });
    expect(Math.abs(padded.duration - original.duration)).toBeLessThan(0.2);
    expect(padded.duration).toBeLessThan(FIXTURE_SECONDS + 2 * TRIM_MARGIN);
    // The speech now starts about TRIM_MARGIN in.
    const spans = await detectSpeech(resampleTo16k(padded.samples, padded.sampleRate));
    expect(spans[0].start).toBeGreaterThan(0.05);
    expect(spans[0].start).toBeLessThan(TRIM_MARGIN + 0.1);
    expect(padded.duration - spans[spans.length - 1].end).toBeLessThan(TRIM_MARGIN + 0.1);
  });
});

describe('loadRecording: without a transcript', () => {
  it('has no words, and a mouth that moves during speech and rests in silence', async () => {
    const speech = await loadRecording(file('padded.wav'));
    expect(speech.words).toEqual([]);
    const fps = 30;
    const track = buildMouthTrack(speech.phonemes, { fps, frames: Math.floor(speech.duration * fps) });

    // The added silence, less a little for the VAD's padding.
    const silent = track.filter((_, f) => f / fps < PAD_BEFORE - 0.1 || f / fps > PAD_BEFORE + FIXTURE_SECONDS + 0.2);
    expect(silent.length).toBeGreaterThan(90);
    expect(silent.every((v) => v === 'rest')).toBe(true);

    const spans = await detectSpeech(resampleTo16k(speech.samples, speech.sampleRate));
    const speaking = track.filter((_, f) => spans.some((s) => f / fps >= s.start && f / fps < s.end));
    expect(speaking.filter((v) => v !== 'rest').length / speaking.length).toBeGreaterThan(0.75);
    // Not one shape held open: open vowels, spread, rounded and near-closed shapes all appear.
    expect(new Set(speaking).size).toBeGreaterThanOrEqual(5);
    expect(speech.phonemes.every((p) => p.phoneme === '' && p.end > p.start)).toBe(true);
  });
});

describe('loadRecording: with a transcript', () => {
  for (const c of TIMING_CASES) {
    it(`times the words of espeak speech with known word times: ${c.label}`, async () => {
      const error = await measureWordTiming(dir, c);
      expect(error.words).toBe(49);
      expect(error.aligned.meanMs).toBeLessThan(120);
      // Far better than spreading the words evenly over the speech.
      expect(error.aligned.meanMs).toBeLessThan(error.baseline.meanMs / 2);
    });
  }

  it('times every word of the same-voice recordings to within 200 ms', async () => {
    for (const c of TIMING_CASES.filter((t) => t.voice === 'en-us')) {
      const error = await measureWordTiming(dir, c);
      expect(error.aligned.maxMs, c.label).toBeLessThan(200);
    }
  });

  it("times a real speaker's words in order, inside the speech, with the mouth following the transcript", async () => {
    // GRID's file name spells its sentence: bin blue at F two now.
    const speech = await loadRecording(CLIP, { transcript: 'Bin blue at F two now.' });
    expect(speech.words.map((w) => w.text)).toEqual(['Bin', 'blue', 'at', 'F', 'two', 'now.']);
    const spans = await detectSpeech(resampleTo16k(speech.samples, speech.sampleRate));
    for (const [i, word] of speech.words.entries()) {
      expect(word.end).toBeGreaterThan(word.start);
      if (i > 0) expect(word.start).toBeGreaterThanOrEqual(speech.words[i - 1].end);
    }
    expect(speech.words[0].start).toBeGreaterThan(spans[0].start - 0.1);
    expect(speech.words[5].end).toBeLessThanOrEqual(spans[spans.length - 1].end + 0.01);
    expect(speech.phonemes.length).toBeGreaterThan(12);
    expect(speech.phonemes.every((p) => p.phoneme !== '' && p.viseme !== 'rest')).toBe(true);
    expect(speech.phonemes.every((p) => spans.some((s) => p.start >= s.start - 0.01 && p.end <= s.end + 0.01))).toBe(true);
  });
});
