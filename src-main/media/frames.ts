import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { ffmpegPath } from './ffmpeg';

/**
 * Decode `count` RGB frames of a video starting at frame `first`, one Uint8Array per frame, in
 * order. Exact on an all-intra file (every frame a keyframe), which is how clip proxies are kept.
 */
export async function* readFrames(
  path: string,
  size: { width: number; height: number; fps: number },
  first: number,
  count: number,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const frameBytes = size.width * size.height * 3;
  const child: ChildProcess = spawn(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-v', 'error', '-ss', (first / size.fps).toFixed(6), '-i', path, '-frames:v', String(count), '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let pending: Buffer = Buffer.alloc(0);
  let produced = 0;
  try {
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes && produced < count) {
        yield new Uint8Array(pending.buffer, pending.byteOffset, frameBytes).slice();
        pending = pending.subarray(frameBytes);
        produced++;
      }
    }
    const code = await exited;
    if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
    if (produced < count) {
      throw new AppError(ErrorCode.Ffmpeg, `${path}: expected ${count} frames from frame ${first}, got ${produced} (exit ${code}) ${stderr.trim()}`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Frame index of output frame i when a clip of n frames plays forward, backward, forward... */
export function pingPong(i: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * (n - 1);
  const k = i % period;
  return k < n ? k : period - k;
}

/**
 * The clip's frames in back-and-forth order, output frames `start` to `total` - 1: forward runs
 * stream from one decoder; backward runs decode short forward segments and hand them out in reverse.
 */
export async function* pingPongFrames(
  path: string,
  size: { width: number; height: number; fps: number },
  n: number,
  total: number,
  signal?: AbortSignal,
  start = 0,
): AsyncGenerator<{ index: number; data: Uint8Array }> {
  const SEGMENT = 24;
  if (n < 2) throw new AppError(ErrorCode.BadInput, `${path}: a clip needs at least two frames`);
  let emitted = start;
  while (emitted < total) {
    const k = emitted % (2 * (n - 1));
    if (k < n) {
      // Forward from frame k to the last frame (or as far as needed).
      let index = k;
      const count = Math.min(n - index, total - emitted);
      for await (const data of readFrames(path, size, index, count, signal)) {
        yield { index: index++, data };
        emitted++;
      }
      continue;
    }
    // Backward from the frame before the last down to frame 1, a segment at a time.
    let top = pingPong(emitted, n);
    while (top > 0 && emitted < total) {
      const bottom = Math.max(1, top - SEGMENT + 1);
      const segment: Uint8Array[] = [];
      for await (const data of readFrames(path, size, bottom, top - bottom + 1, signal)) segment.push(data);
      for (let j = segment.length - 1; j >= 0 && emitted < total; j--) {
        yield { index: bottom + j, data: segment[j] };
        emitted++;
      }
      top = bottom - 1;
    }
  }
}

const TS_PACKET = 188;

/**
 * How many video frames an MPEG-TS file holds, counted from its packet headers (ffmpeg writes one
 * PES packet per frame); undefined when the file is not whole TS packets or has no video stream.
 */
export async function countTsVideoFrames(path: string): Promise<number | undefined> {
  const data = await readFile(path);
  if (data.length === 0 || data.length % TS_PACKET !== 0) return undefined;
  let pmtPid: number | undefined;
  let videoPid: number | undefined;
  let frames = 0;
  for (let at = 0; at < data.length; at += TS_PACKET) {
    if (data[at] !== 0x47) return undefined;
    const start = (data[at + 1] & 0x40) !== 0;
    const pid = ((data[at + 1] & 0x1f) << 8) | data[at + 2];
    const adaptation = (data[at + 3] >> 4) & 0x3;
    let payload = at + 4 + (adaptation & 0x2 ? data[at + 4] + 1 : 0);
    if (!(adaptation & 0x1) || payload >= at + TS_PACKET) continue;
    if (pid === videoPid) {
      if (start) frames++;
      continue;
    }
    if (!start || (pid !== 0 && pid !== pmtPid)) continue;
    payload += data[payload] + 1; // pointer field before a table section
    const sectionEnd = Math.min(at + TS_PACKET, payload + 3 + (((data[payload + 1] & 0x0f) << 8) | data[payload + 2]) - 4);
    if (pid === 0) {
      // PAT: the first programme's PMT.
      const entry = payload + 8;
      if (entry + 4 <= sectionEnd) pmtPid = ((data[entry + 2] & 0x1f) << 8) | data[entry + 3];
      continue;
    }
    // PMT: the first stream that is H.264, HEVC or MPEG-4 video.
    let entry = payload + 12 + (((data[payload + 10] & 0x0f) << 8) | data[payload + 11]);
    while (videoPid === undefined && entry + 5 <= sectionEnd) {
      if ([0x1b, 0x24, 0x10].includes(data[entry])) videoPid = ((data[entry + 1] & 0x1f) << 8) | data[entry + 2];
      entry += 5 + (((data[entry + 3] & 0x0f) << 8) | data[entry + 4]);
    }
  }
  return videoPid === undefined ? undefined : frames;
}
