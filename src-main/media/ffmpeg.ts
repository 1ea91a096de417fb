import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { resourcesDir } from '../paths';

const require = createRequire(import.meta.url);

/** Packaged apps run binaries from app.asar.unpacked; the path the installer package reports points into the archive. */
function unpacked(path: string): string {
  return path.replace(`app.asar${process.platform === 'win32' ? '\\' : '/'}`, `app.asar.unpacked${process.platform === 'win32' ? '\\' : '/'}`);
}

export function ffmpegPath(): string {
  return process.env.MOUTHPIECE_FFMPEG ?? unpacked((require('@ffmpeg-installer/ffmpeg') as { path: string }).path);
}

export function ffprobePath(): string {
  return process.env.MOUTHPIECE_FFPROBE ?? unpacked((require('@ffprobe-installer/ffprobe') as { path: string }).path);
}

/**
 * libass inside the static ffmpeg reads fontconfig's file; the system's may be newer than it
 * understands (it prints a warning per file) or absent. Ours names only the fonts we ship.
 */
function fontEnv(): NodeJS.ProcessEnv {
  return { ...process.env, FONTCONFIG_FILE: join(resourcesDir(), 'fonts', 'fonts.conf') };
}

/** One `-progress pipe:1` block's out_time in seconds, or undefined if the chunk has none. */
export function parseProgress(chunk: string): { seconds?: number; end: boolean } {
  let seconds: number | undefined;
  let end = false;
  for (const line of chunk.split('\n')) {
    const [key, value] = line.trim().split('=');
    if ((key === 'out_time_us' || key === 'out_time_ms') && value && /^\d+$/.test(value)) seconds = Number(value) / 1e6;
    if (key === 'progress' && value === 'end') end = true;
  }
  return { seconds, end };
}

export interface FfmpegRun {
  args: string[];
  signal?: AbortSignal;
  /** Called with the seconds of output written so far. */
  onProgress?: (seconds: number) => void;
  what?: string;
  /** Another ffmpeg to run (a system one with a hardware encoder the bundled one lacks); the bundled one by default. */
  binary?: string;
}

/** Run ffmpeg to completion; abort kills it at once (SIGKILL) and rejects with CANCELLED. */
export function runFfmpeg(run: FfmpegRun): Promise<void> {
  return startFfmpeg(run, false).done;
}

export interface FfmpegSink {
  /** Write raw input; resolves when ffmpeg has taken it (back-pressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Close ffmpeg's input and wait for it to finish. */
  finish(): Promise<void>;
}

/** Start ffmpeg reading from stdin (`-i pipe:0` in args), for frames made in JavaScript. */
export function openFfmpegSink(run: FfmpegRun): FfmpegSink {
  const { child, done } = startFfmpeg(run, true);
  done.catch(() => undefined);
  const stdin = child.stdin!;
  stdin.on('error', () => undefined);
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => {
        if (child.exitCode !== null || stdin.destroyed) return done.then(() => reject(new AppError(ErrorCode.Ffmpeg, `${run.what}: ffmpeg stopped early`)), reject);
        if (stdin.write(chunk)) return resolve();
        const onDrain = () => (child.off('close', onClose), resolve());
        const onClose = () => (stdin.off('drain', onDrain), done.then(() => reject(new AppError(ErrorCode.Ffmpeg, `${run.what}: ffmpeg stopped early`)), reject));
        stdin.once('drain', onDrain);
        child.once('close', onClose);
      }),
    finish: () => {
      stdin.end();
      return done;
    },
  };
}

function startFfmpeg({ args, signal, onProgress, what = 'ffmpeg', binary = ffmpegPath() }: FfmpegRun, withStdin: boolean) {
  let child!: ReturnType<typeof spawn>;
  const done = new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError(ErrorCode.Cancelled, 'Cancelled.'));
    child = spawn(binary, ['-hide_banner', ...(withStdin ? [] : ['-nostdin']), '-y', '-progress', 'pipe:1', '-nostats', ...args], {
      stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: fontEnv(),
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const { seconds } = parseProgress(d);
      if (seconds !== undefined) onProgress?.(seconds);
    });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new AppError(ErrorCode.Ffmpeg, `${what}: could not start ${binary}: ${error.message}`));
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new AppError(ErrorCode.Cancelled, 'Cancelled.'));
      if (code === 0) return resolve();
      const tail = stderr.trim().split('\n').filter((l) => !l.startsWith('Fontconfig')).slice(-6).join('\n');
      // SIGXFSZ: the file size limit was reached, which reads to the user as a full disk.
      const how = killedBy ? `killed by ${killedBy}${killedBy === 'SIGXFSZ' ? ', the file size limit' : ''}` : `exit ${code}`;
      reject(new AppError(ErrorCode.Ffmpeg, `${what} failed (${how}): ${tail}`));
    });
  });
  return { child, done };
}

export interface ProbeResult {
  format: { duration?: string; format_name?: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; duration?: string; sample_rate?: string }[];
}

export function ffprobe(file: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ProbeResult) : reject(new AppError(ErrorCode.BadInput, `${file}: ffprobe could not read it: ${err.trim()}`)),
    );
  });
}

/** The version of an ffmpeg (the bundled one by default): `5.1.9-0+deb12u1`, or 'unavailable' when it cannot start. */
export async function ffmpegVersion(binary = ffmpegPath()): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', () => resolve('unavailable'));
    child.on('close', (code) => {
      const match = /^ffmpeg version (\S+)/.exec(out);
      resolve(match ? match[1] : code === 0 ? 'unknown' : 'unavailable');
    });
  });
}
