import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegPath, ffprobe } from '../../src-main/media/ffmpeg';

const run = promisify(execFile);

export interface Frame {
  width: number;
  height: number;
  /** The pixel at (x, y) as [r, g, b]; fractions of the frame's size are taken when both are below 1. */
  at(x: number, y: number): [number, number, number];
}

/** Decode one frame of a video at time t to RGB, with the real ffmpeg. */
export async function frameAt(file: string, t: number): Promise<Frame> {
  const video = (await ffprobe(file)).streams.find((s) => s.codec_type === 'video')!;
  const width = video.width!;
  const height = video.height!;
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: width * height * 3 + 1024,
  });
  return {
    width,
    height,
    at(x, y) {
      const px = x < 1 && y < 1 ? Math.round(x * (width - 1)) : Math.round(x);
      const py = x < 1 && y < 1 ? Math.round(y * (height - 1)) : Math.round(y);
      const o = (py * width + px) * 3;
      return [stdout[o], stdout[o + 1], stdout[o + 2]];
    },
  };
}

/** Largest difference of one channel between two colours. */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

export function hexColour(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}
