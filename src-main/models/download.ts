import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, ErrorCode, errorCode } from '../../src-shared/errors';

/** One file to fetch: where from, where to, and what it must be. */
export interface RemoteFile {
  url: string;
  /** Final path; the bytes arrive in `${target}.partial` first. */
  target: string;
  bytes: number;
  sha256: string;
}

export interface FetchOptions {
  /** Names the model in messages ("YuNet face detector: ..."). */
  label: string;
  /** What to do when the network fails, ending a sentence ("connect to the internet and try again"). */
  offlineHint: string;
  /** What to do when the file at the address is wrong, ending a sentence. */
  localHint: string;
  signal?: AbortSignal;
  /** Bytes of this file on disk so far, including what an earlier attempt left. */
  onProgress?: (received: number, total: number) => void;
  /** Requests per file when the connection drops midway; each retry asks for the rest with Range. */
  attempts?: number;
  /** Wait before the n-th retry: n times this many milliseconds. */
  retryDelayMs?: number;
}

export const partialPath = (target: string) => `${target}.partial`;

export function sha256File(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });
}

const cancelled = (label: string) => new AppError(ErrorCode.Cancelled, `Download of ${label} cancelled.`);

/** The connection ended before the file did: worth asking again for the rest. */
class Dropped extends Error {
  constructor(
    readonly received: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

function diskFull(file: RemoteFile, options: FetchOptions, free?: number): AppError {
  const room = free === undefined ? '' : ` (${megabytes(free)} free, ${megabytes(file.bytes)} needed)`;
  return new AppError(
    ErrorCode.Io,
    `${options.label}: the disk holding ${dirname(file.target)} is full${room}; the partial download was deleted. Free some space and download it again.`,
  );
}

/**
 * One request for the rest of the file: `Range: bytes=N-` when N bytes are already there. A 206
 * appends; a 200 (a server that ignores Range) starts the file over; a 416 means what is there
 * cannot be continued, so it is deleted and the next attempt starts from zero.
 */
async function fetchRest(file: RemoteFile, options: FetchOptions): Promise<void> {
  const { label, signal } = options;
  const partial = partialPath(file.target);
  const have = await sizeOf(partial);
  let response: Response;
  try {
    response = await fetch(file.url, { signal, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
  } catch (error) {
    if (signal?.aborted) throw cancelled(label);
    throw new AppError(ErrorCode.Io, `${label}: cannot download ${file.url} (${causeOf(error)}); ${options.offlineHint}`);
  }
  if (response.status === 416 && have > 0) {
    await response.body?.cancel();
    await rm(partial, { force: true });
    throw new Dropped(0, 'the server cannot continue the partial download');
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const why =
      response.status === 404
        ? `answered HTTP 404: the file is not there (the catalogue's address is out of date); update the app, or ${options.localHint}`
        : `answered HTTP ${response.status}; try again later, or ${options.localHint}`;
    throw new AppError(ErrorCode.Io, `${label}: ${file.url} ${why}`);
  }
  const resuming = response.status === 206;
  let start = 0;
  if (resuming) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== have || (range[2] !== '*' && Number(range[2]) !== file.bytes)) {
      await response.body.cancel();
      await rm(partial, { force: true });
      throw new Dropped(0, `the server answered the range request with ${response.headers.get('content-range') ?? 'no Content-Range'}`);
    }
    start = have;
  }
  const wrong = (what: string) =>
    new AppError(
      ErrorCode.Io,
      `${label}: the file downloaded from ${file.url} ${what}; it was deleted. Try again later; if it keeps happening the file at that address has changed, so ${options.localHint}`,
    );
  // undici decodes gzip/br bodies, so content-length only counts file bytes when there is no encoding.
  const announced = response.headers.get('content-encoding') ? NaN : Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(announced) && start + announced !== file.bytes) {
    await response.body.cancel();
    await rm(partial, { force: true });
    throw wrong(`would be ${start + announced} bytes, not the ${file.bytes} bytes the catalogue lists`);
  }

  const handle = await open(partial, resuming ? 'a' : 'w');
  let received = start;
  try {
    for await (const chunk of response.body) {
      received += chunk.byteLength;
      // Stop a server that sends more than the model's size before it fills the disk.
      if (received > file.bytes) throw wrong(`is larger than the ${file.bytes} bytes the catalogue lists`);
      await handle.write(chunk);
      options.onProgress?.(received, file.bytes);
    }
  } catch (error) {
    await handle.close();
    if (signal?.aborted) throw cancelled(label);
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      await rm(partial, { force: true });
      throw diskFull(file, options);
    }
    if (errorCode(error)) {
      await rm(partial, { force: true });
      throw error;
    }
    throw new Dropped(received, causeOf(error));
  }
  await handle.close();
  if (received !== file.bytes) {
    await rm(partial, { force: true });
    throw wrong(`is ${received} bytes, not the ${file.bytes} bytes the catalogue lists`);
  }
}

/**
 * Bring `file` into its .partial, continuing what an earlier attempt left there. A dropped
 * connection is retried (asking for the rest) up to `attempts` times; after that the bytes so far
 * stay for the next download to continue. Cancelling deletes them. Checks free space first.
 */
export async function fetchResumable(file: RemoteFile, options: FetchOptions): Promise<void> {
  const partial = partialPath(file.target);
  await mkdir(dirname(file.target), { recursive: true });
  if ((await sizeOf(partial)) > file.bytes) await rm(partial, { force: true });
  const needed = file.bytes - (await sizeOf(partial));
  const fs = await statfs(dirname(file.target)).catch(() => undefined);
  if (fs && fs.bavail * fs.bsize < needed) throw diskFull(file, options, fs.bavail * fs.bsize);

  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) {
      await rm(partial, { force: true });
      throw cancelled(options.label);
    }
    if ((await sizeOf(partial)) === file.bytes) return;
    try {
      await fetchRest(file, options);
      return;
    } catch (error) {
      if (errorCode(error) === ErrorCode.Cancelled) {
        await rm(partial, { force: true });
        throw error;
      }
      if (!(error instanceof Dropped)) throw error;
      if (attempt >= attempts) {
        const kept = await sizeOf(partial);
        throw new AppError(
          ErrorCode.Io,
          `${options.label}: the download from ${file.url} broke off ${attempts} times, last after ${error.received} bytes (${error.reason}); ` +
            `the ${kept} bytes received are kept and the next download continues from there. ${capitalise(options.offlineHint)}.`,
        );
      }
      try {
        await sleep((options.retryDelayMs ?? 1000) * attempt, undefined, { signal: options.signal });
      } catch {
        await rm(partial, { force: true });
        throw cancelled(options.label);
      }
    }
  }
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Check a complete .partial (size, sha256) and move it into place; a wrong one is deleted. */
export async function verifyAndPlace(file: RemoteFile, options: Pick<FetchOptions, 'label' | 'localHint'>): Promise<string> {
  const partial = partialPath(file.target);
  const bytes = await sizeOf(partial);
  const sha256 = bytes === file.bytes ? await sha256File(partial) : undefined;
  if (sha256 !== file.sha256) {
    await rm(partial, { force: true });
    const what = sha256 === undefined ? `is ${bytes} bytes, not the ${file.bytes} bytes the catalogue lists` : `has sha256 ${sha256}, not the ${file.sha256} the catalogue lists`;
    throw new AppError(
      ErrorCode.Io,
      `${options.label}: the file downloaded from ${file.url} ${what}; it was deleted. Try again later; if it keeps happening the file at that address has changed, so ${options.localHint}`,
    );
  }
  // Same folder, so the rename is atomic: the final name never holds a half-written file.
  await rename(partial, file.target);
  return file.target;
}
