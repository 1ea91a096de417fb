import { open, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { estimateSeconds, type Project } from '../../src-shared/project';
import { bitrateFor } from '../media/encoders';

/** Bytes free to us (not to root) in the file system holding `folder`. */
export type FreeSpace = (folder: string) => Promise<number>;

export const freeSpace: FreeSpace = async (folder) => {
  const info = await statfs(folder);
  return info.bavail * info.bsize;
};

/** Room kept beyond the estimate: the database, logs and the estimate's own error. */
export const SPACE_MARGIN_BYTES = 64 * 1024 * 1024;
/** Audio track and container on top of the video bitrate, and speech longer than estimated. */
const SLACK = 1.25;
const AUDIO_BITS_PER_SECOND = 160_000;
/** The speech WAV: mono 16-bit at up to 48 kHz. */
const WAV_BYTES_PER_SECOND = 2 * 48_000;

export interface SpaceEstimate {
  /** The finished MP4 with its captions and thumbnail. */
  output: number;
  /** The work folder: speech WAV and the composed segments (about the output's size again). */
  work: number;
}

/** What a render of `project` at `size` will write, from the encoder's bitrate and the script's estimated length. */
export function estimateRenderBytes(project: Project, size: { width: number; height: number }, fps: number): SpaceEstimate {
  const seconds = estimateSeconds(project) * SLACK;
  const output = (seconds * (bitrateFor(size.width, size.height, fps).max + AUDIO_BITS_PER_SECOND)) / 8;
  return { output: Math.ceil(output), work: Math.ceil(output + seconds * WAV_BYTES_PER_SECOND) };
}

const megabytes = (bytes: number) => `${Math.max(1, Math.round(bytes / 1e6))} MB`;

/**
 * Refuse a render the disk cannot hold, naming the folder, what the render needs there and what
 * is free. The output's and the work folder's needs add up when both lie on one file system.
 */
export async function checkDiskSpace(
  places: { output: string; work: string },
  estimate: SpaceEstimate,
  free: FreeSpace = freeSpace,
): Promise<void> {
  const [outputDevice, workDevice] = await Promise.all([stat(places.output), stat(places.work)].map((p) => p.then((s) => s.dev)));
  const needs =
    outputDevice === workDevice
      ? [{ folder: places.output, bytes: estimate.output + estimate.work, what: `the video about ${megabytes(estimate.output)} and its working files about ${megabytes(estimate.work)}` }]
      : [
          { folder: places.output, bytes: estimate.output, what: `the video about ${megabytes(estimate.output)}` },
          { folder: places.work, bytes: estimate.work, what: `its working files about ${megabytes(estimate.work)}` },
        ];
  for (const need of needs) {
    const available = await free(need.folder);
    const wanted = need.bytes + SPACE_MARGIN_BYTES;
    if (available < wanted) {
      throw new AppError(
        ErrorCode.Io,
        `not enough disk space in ${need.folder}: this render needs about ${megabytes(wanted)} there (${need.what}, plus room to spare) and ${megabytes(available)} is free; free some space or save the video to another disk`,
      );
    }
  }
}

/** ENOSPC or EFBIG from a write, or an ffmpeg that said so or was killed for exceeding the file size limit. */
export function looksLikeDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') return true;
  const message = error instanceof Error ? error.message : String(error);
  return /No space left on device|File too large|Disk quota exceeded|SIGXFSZ|ENOSPC|EFBIG/i.test(message);
}

/**
 * After a write failed for no stated reason (an ffmpeg that died from a signal), find whether a
 * folder is full: too little space left, or a file may not grow past `size` bytes there (a file
 * size limit, which kills ffmpeg with SIGXFSZ). Node ignores SIGXFSZ, so the probe's write fails
 * with EFBIG instead; it writes one byte at that offset, which takes no space (a sparse file).
 */
export async function findFullFolder(folders: string[], size: number, free: FreeSpace = freeSpace): Promise<string | undefined> {
  for (const folder of folders) {
    if ((await free(folder).catch(() => Infinity)) < 1024 * 1024) return folder;
    const probe = join(folder, `.space-probe-${process.pid}-${Date.now()}`);
    const handle = await open(probe, 'w').catch(() => undefined);
    if (!handle) continue;
    try {
      await handle.write(new Uint8Array(1), 0, 1, Math.max(0, size));
    } catch (error) {
      if (looksLikeDiskFull(error)) return folder;
    } finally {
      await handle.close();
      await unlink(probe).catch(() => undefined);
    }
  }
  return undefined;
}

/** The reason a render gives when the disk filled up under it. */
export function diskFullError(folder: string): AppError {
  return new AppError(ErrorCode.Io, `the disk is full: writing in ${folder} failed; free some space (or save the video to another disk) and render again`);
}
