import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../../src-main/media/ffmpeg';
import { pingPong, pingPongFrames, readFrames } from '../../../src-main/media/frames';

const run = promisify(execFile);

describe('clip frames', () => {
  const size = { width: 32, height: 24, fps: 25 };
  let clip: string;

  beforeAll(async () => {
    // Ten all-intra frames whose brightness says which frame they are: 10, 30, 50, ...
    clip = join(mkdtempSync(join(tmpdir(), 'mp-frames-')), 'numbered.mp4');
    await run(ffmpegPath(), [
      '-v', 'error', '-f', 'lavfi', '-i', `color=c=black:s=32x24:r=25:d=0.4`,
      '-vf', "geq=lum='10+20*N':cb=128:cr=128", '-c:v', 'libx264', '-qp', '0', '-g', '1', '-pix_fmt', 'yuv444p', clip,
    ]);
    for await (const frame of readFrames(clip, size, 0, 10)) levels.push(level(frame));
  });

  const level = (frame: Uint8Array) => frame.reduce((s, v) => s + v, 0) / frame.length;
  /** Brightness of each frame, read once straight through, so a frame can be told by its level. */
  const levels: number[] = [];
  const which = (frame: Uint8Array) => {
    const l = level(frame);
    return levels.reduce((best, v, i) => (Math.abs(v - l) < Math.abs(levels[best] - l) ? i : best), 0);
  };

  it('pingPong goes forward, back and forward again without repeating the ends', () => {
    expect(Array.from({ length: 12 }, (_, i) => pingPong(i, 4))).toEqual([0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1]);
  });

  it('readFrames gives every frame once, in order', () => {
    expect(levels).toHaveLength(10);
    for (let i = 1; i < 10; i++) expect(levels[i]).toBeGreaterThan(levels[i - 1] + 5);
  });

  it('readFrames starts at the frame asked for and gives exactly the count', async () => {
    const frames: number[] = [];
    for await (const frame of readFrames(clip, size, 6, 3)) frames.push(which(frame));
    expect(frames).toEqual([6, 7, 8]);
  });

  it('pingPongFrames covers any length with the clip played back and forth, frame for frame', async () => {
    const seen: { index: number; shown: number }[] = [];
    for await (const { index, data } of pingPongFrames(clip, size, 10, 60)) seen.push({ index, shown: which(data) });
    expect(seen.map((s) => s.index)).toEqual(Array.from({ length: 60 }, (_, i) => pingPong(i, 10)));
    expect(seen.map((s) => s.shown)).toEqual(seen.map((s) => s.index));
  });
});
