import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../../src-main/voices/wav';

const ffmpeg = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const dir = mkdtempSync(join(tmpdir(), 'mouthpiece-wav-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 0.5 s of a 440 Hz tone at 22050 Hz. */
function tone(): Float32Array {
  return Float32Array.from({ length: 11025 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 22050));
}

describe('wav', () => {
  it('reads back what it writes, to 16-bit precision', () => {
    const samples = tone();
    const decoded = decodeWav(encodeWav(samples, 22050));
    expect(decoded.sampleRate).toBe(22050);
    expect(decoded.samples).toHaveLength(samples.length);
    for (let i = 0; i < samples.length; i += 97) expect(Math.abs(decoded.samples[i] - samples[i])).toBeLessThan(1 / 30000);
  });

  it('clips samples outside -1..1 instead of wrapping', () => {
    const decoded = decodeWav(encodeWav(Float32Array.from([2, -2]), 8000));
    expect(decoded.samples[0]).toBeCloseTo(1, 3);
    expect(decoded.samples[1]).toBe(-1);
  });

  it('writes a file ffmpeg reads as 16-bit mono at its rate, and reads ffmpeg float stereo back', () => {
    const input = join(dir, 'tone.wav');
    writeFileSync(input, encodeWav(tone(), 22050));
    // Without an output ffmpeg just describes its input (on stderr).
    const probe = spawnSync(ffmpeg, ['-hide_banner', '-i', input], { encoding: 'utf8' }).stderr;
    expect(probe).toMatch(/pcm_s16le .*, 22050 Hz, mono, s16/);
    expect(probe).toMatch(/Duration: 00:00:00\.50/);

    // pan copies the channel as is; a plain -ac 2 would lower it by 3 dB.
    const output = join(dir, 'stereo.wav');
    execFileSync(ffmpeg, ['-hide_banner', '-y', '-i', input, '-af', 'pan=stereo|c0=c0|c1=c0', '-ar', '44100', '-c:a', 'pcm_f32le', output], {
      stdio: 'pipe',
    });
    const decoded = decodeWav(readFileSync(output));
    expect(decoded.sampleRate).toBe(44100);
    expect(decoded.samples.length).toBeGreaterThan(22000);
    expect(decoded.samples.length).toBeLessThan(22100);
    const peak = decoded.samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(0.45);
    expect(peak).toBeLessThan(0.55);
  });
});
