import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { AppError, ErrorCode, isCancelled } from '../../src-shared/errors';
import type { EncoderReport } from '../../src-shared/ipc';
import { ffmpegPath, ffmpegVersion } from './ffmpeg';

/** Video encoders Mouthpiece can use, fastest first; libx264 is the software floor that always exists in the bundled ffmpeg. */
export const ENCODER_CANDIDATES = ['h264_nvenc', 'hevc_nvenc', 'h264_qsv', 'h264_amf', 'h264_videotoolbox', 'h264_vaapi', 'libx264'] as const;
export type EncoderName = (typeof ENCODER_CANDIDATES)[number];
export const SOFTWARE_ENCODER: EncoderName = 'libx264';

/** The VAAPI render node; the first GPU on Linux. */
const VAAPI_DEVICE = '/dev/dri/renderD128';
/** A driver that hangs while opening a device must not hang the app; a working one-frame encode takes well under a second. */
const PROBE_TIMEOUT_MS = 15_000;
const NOT_BUILT_IN = 'not built into this ffmpeg';

export interface EncoderChoice {
  /** The ffmpeg to run (bundled or system). */
  binary: string;
  encoder: string;
}

/** What a one-frame encode found for each candidate in one ffmpeg. */
export interface BinaryProbe {
  ffmpeg: string;
  version: string;
  candidates: { name: string; ok: boolean; reason?: string }[];
}

export interface Bitrate {
  tier: '720p' | '1080p' | '2160p';
  /** Bits per second. */
  target: number;
  max: number;
  /** The rate-control window: two seconds at the peak rate. */
  bufsize: number;
}

// YouTube's recommended upload bitrates for SDR video at 24-30 fps, and its 1.5x for 48-60 fps.
const BITRATE_TIERS = [
  { tier: '720p', pixels: 1280 * 720, target: 5_000_000, max: 7_500_000 },
  { tier: '1080p', pixels: 1920 * 1080, target: 8_000_000, max: 12_000_000 },
  { tier: '2160p', pixels: 3840 * 2160, target: 35_000_000, max: 50_000_000 },
] as const;
const HIGH_FRAME_RATE_FACTOR = 1.5;

/**
 * The bitrate range for a frame size and rate: the smallest tier whose pixel count holds the frame
 * (so portrait 1080x1920 is 1080p), times 1.5 above 30 fps.
 */
export function bitrateFor(width: number, height: number, fps: number): Bitrate {
  const pixels = width * height;
  const tier = BITRATE_TIERS.find((t) => pixels <= t.pixels) ?? BITRATE_TIERS[BITRATE_TIERS.length - 1];
  const factor = fps > 30 ? HIGH_FRAME_RATE_FACTOR : 1;
  const max = tier.max * factor;
  return { tier: tier.tier, target: tier.target * factor, max, bufsize: 2 * max };
}

export interface EncoderArgs {
  /** Global options before the first input (a hardware device). */
  inputArgs: string[];
  /** Appended to the end of the final video filter chain (upload to the device), or ''. */
  filterTail: string;
  /** Codec, rate control and pixel format; the container's options (-movflags +faststart) stay with the caller. */
  codecArgs: string[];
}

const kbps = (bits: number) => `${Math.round(bits / 1000)}k`;

/** The ffmpeg arguments one encoder needs at a size and frame rate; the probe uses the very same. */
export function encoderArgs(encoder: string, size: { width: number; height: number; fps: number }): EncoderArgs {
  const rate = bitrateFor(size.width, size.height, size.fps);
  const vbr = ['-b:v', kbps(rate.target), '-maxrate', kbps(rate.max), '-bufsize', kbps(rate.bufsize)];
  const plain = (codecArgs: string[]): EncoderArgs => ({ inputArgs: [], filterTail: '', codecArgs: ['-c:v', encoder, ...codecArgs] });
  switch (encoder) {
    case 'libx264':
      // Quality decides the bitrate; the cap only bounds busy scenes for streaming.
      return plain(['-preset', 'veryfast', '-crf', '21', '-maxrate', kbps(rate.max), '-bufsize', kbps(rate.bufsize), '-pix_fmt', 'yuv420p']);
    case 'h264_nvenc':
      return plain(['-rc', 'vbr', ...vbr, '-pix_fmt', 'yuv420p']);
    case 'hevc_nvenc':
      // QuickTime and Safari play HEVC in MP4 only when tagged hvc1.
      return plain(['-rc', 'vbr', ...vbr, '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1']);
    case 'h264_qsv':
      // QSV takes VBR from a maxrate above the target.
      return plain([...vbr, '-pix_fmt', 'nv12']);
    case 'h264_amf':
      return plain(['-rc', 'vbr_peak', ...vbr, '-pix_fmt', 'yuv420p']);
    case 'h264_videotoolbox':
      return plain([...vbr, '-pix_fmt', 'yuv420p']);
    case 'h264_vaapi':
      // VAAPI picks VBR from a maxrate above the target; its -rc_mode is unknown to the bundled 2018 ffmpeg.
      return { inputArgs: ['-vaapi_device', VAAPI_DEVICE], filterTail: ',format=nv12,hwupload', codecArgs: ['-c:v', encoder, ...vbr] };
    default:
      throw new AppError(ErrorCode.BadInput, `encoder ${encoder}: Mouthpiece cannot encode with it; use one of ${ENCODER_CANDIDATES.join(', ')}`);
  }
}

interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run to an exit code: could not start, or timed out. */
  failure?: string;
}

function capture(binary: string, args: string[], signal?: AbortSignal, timeoutMs = PROBE_TIMEOUT_MS): Promise<Captured> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError(ErrorCode.Cancelled, 'Cancelled.'));
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    const timer = setTimeout(() => {
      failure = `no answer within ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => (clearTimeout(timer), signal?.removeEventListener('abort', onAbort));
    child.on('error', (error) => {
      settle();
      resolve({ code: null, stdout, stderr, failure: `could not start ${binary}: ${error.message}` });
    });
    child.on('close', (code) => {
      settle();
      if (signal?.aborted) return reject(new AppError(ErrorCode.Cancelled, 'Cancelled.'));
      resolve({ code, stdout, stderr, failure });
    });
  });
}

/**
 * The line of ffmpeg's error output that says why: the failing component's own message
 * (`[h264_nvenc @ 0x..] Cannot load libcuda.so.1`, the last such line) rather than the generic
 * lines ffmpeg prints after it ("Error initializing output stream ... maybe incorrect parameters").
 */
export function failureReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Fontconfig'));
  const own = lines
    .map((l) => /\[[^\]\s]+ @ 0x[0-9a-f]+\]\s*(.+)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .pop();
  const line = own ?? lines[lines.length - 1] ?? 'failed without a message';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

async function listEncoders(binary: string, signal?: AbortSignal): Promise<Set<string> | string> {
  const result = await capture(binary, ['-hide_banner', '-encoders'], signal);
  if (result.failure) return result.failure;
  if (result.code !== 0) return `${binary} -encoders failed: ${failureReason(result.stderr)}`;
  // Lines look like " V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)".
  return new Set([...result.stdout.matchAll(/^\s*V[A-Z.]{5}\s+(\S+)/gm)].map((m) => m[1]));
}

async function tryEncode(binary: string, encoder: string, dir: string, signal?: AbortSignal): Promise<{ ok: boolean; reason?: string }> {
  const size = { width: 256, height: 256, fps: 30 };
  const args = encoderArgs(encoder, size);
  const out = join(dir, `${encoder}.mp4`);
  const result = await capture(
    binary,
    [
      ...['-hide_banner', '-nostdin', '-y', '-loglevel', 'error', ...args.inputArgs],
      ...['-f', 'lavfi', '-i', `color=c=black:s=${size.width}x${size.height}:r=${size.fps}:d=0.1`],
      ...['-vf', `format=yuv420p${args.filterTail}`, ...args.codecArgs, '-frames:v', '1', '-movflags', '+faststart', '-f', 'mp4', out],
    ],
    signal,
  );
  if (result.failure) return { ok: false, reason: result.failure };
  if (result.code !== 0) return { ok: false, reason: failureReason(result.stderr) };
  const written = await stat(out).catch(() => undefined);
  return written && written.size > 0 ? { ok: true } : { ok: false, reason: 'exited cleanly but wrote no video' };
}

async function probeBinary(binary: string, version: string, signal?: AbortSignal): Promise<BinaryProbe> {
  const listed = await listEncoders(binary, signal);
  if (typeof listed === 'string') return { ffmpeg: binary, version, candidates: ENCODER_CANDIDATES.map((name) => ({ name, ok: false, reason: listed })) };
  const dir = await mkdtemp(join(tmpdir(), 'mp-encoder-probe-'));
  try {
    const candidates: BinaryProbe['candidates'] = [];
    // One at a time: drivers that share a device can refuse a second session opened at once.
    for (const name of ENCODER_CANDIDATES) {
      candidates.push(listed.has(name) ? { name, ...(await tryEncode(binary, name, dir, signal)) } : { name, ok: false, reason: NOT_BUILT_IN });
    }
    return { ffmpeg: binary, version, candidates };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** GPU device nodes present on Linux, so installing a driver (or a GPU) probes again. */
async function deviceNodes(): Promise<string[]> {
  if (process.platform !== 'linux') return [];
  const dri = await readdir('/dev/dri').catch(() => [] as string[]);
  const nvidia = (await readdir('/dev').catch(() => [] as string[])).filter((n) => n.startsWith('nvidia'));
  return [...dri.map((n) => `dri/${n}`), ...nvidia].sort();
}

/** What must be unchanged for a cached probe of a binary to stand. */
interface Fingerprint {
  realPath: string;
  size: number;
  mtimeMs: number;
  version: string;
  devices: string[];
}

interface CacheFile {
  format: 1;
  /** By the binary's path as given. */
  binaries: Record<string, { fingerprint: Fingerprint; probe: BinaryProbe }>;
}

async function readCache(cacheFile: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(cacheFile, 'utf8')) as CacheFile;
    if (parsed.format === 1 && parsed.binaries && typeof parsed.binaries === 'object') return parsed;
  } catch {
    // Missing or damaged: it is only a cache, so probe again.
  }
  return { format: 1, binaries: {} };
}

async function writeCache(cacheFile: string, cache: CacheFile): Promise<void> {
  // Unique per write: a render and the encoder list can probe at once.
  const temporary = `${cacheFile}.${randomUUID()}.tmp`;
  try {
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFile(temporary, JSON.stringify(cache, null, 2));
    await rename(temporary, cacheFile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new AppError(ErrorCode.Io, `${cacheFile}: could not save the encoder probe (${(error as Error).message}); check that the folder is writable`);
  }
}

const sameFingerprint = (a: Fingerprint, b: Fingerprint) => JSON.stringify(a) === JSON.stringify(b);

/**
 * For each ffmpeg, which candidate encoders really encode a frame here. Results are cached in
 * `cacheFile` per binary path and stand while the binary (its real path, size, modification time
 * and version) and the GPU device nodes are unchanged.
 */
export async function probeEncoders(options: { binaries: string[]; cacheFile: string; signal?: AbortSignal }): Promise<BinaryProbe[]> {
  const { binaries, cacheFile, signal } = options;
  const cache = await readCache(cacheFile);
  const devices = await deviceNodes();
  let changed = false;
  const probes: BinaryProbe[] = [];
  for (const binary of binaries) {
    const file = await realpath(binary).then(async (realPath) => ({ realPath, stats: await stat(realPath) })).catch((error: Error) => error);
    if (file instanceof Error) {
      const reason = `could not start ${binary}: ${file.message}`;
      probes.push({ ffmpeg: binary, version: 'unavailable', candidates: ENCODER_CANDIDATES.map((name) => ({ name, ok: false, reason })) });
      continue;
    }
    const fingerprint: Fingerprint = {
      realPath: file.realPath,
      size: file.stats.size,
      mtimeMs: file.stats.mtimeMs,
      version: await ffmpegVersion(binary),
      devices,
    };
    const cached = cache.binaries[binary];
    if (cached && sameFingerprint(cached.fingerprint, fingerprint)) {
      probes.push(cached.probe);
      continue;
    }
    const probe = await probeBinary(binary, fingerprint.version, signal);
    cache.binaries[binary] = { fingerprint, probe };
    changed = true;
    probes.push(probe);
  }
  if (changed) await writeCache(cacheFile, cache);
  return probes;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => stat(path).then((s) => s.isFile()),
    () => false,
  );
}

/** The first `ffmpeg` on PATH that is not the bundled one, or null. */
export async function findSystemFfmpeg(): Promise<string | null> {
  const bundled = await realpath(ffmpegPath()).catch(() => ffmpegPath());
  const name = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (!(await isExecutable(candidate))) continue;
    if ((await realpath(candidate).catch(() => candidate)) !== bundled) return candidate;
  }
  return null;
}

/** The bundled ffmpeg first, then the system one: the Settings path, else one found on PATH. */
export async function ffmpegBinaries(systemFfmpeg?: string | null): Promise<string[]> {
  const bundled = ffmpegPath();
  const system = systemFfmpeg ?? (await findSystemFfmpeg());
  if (!system) return [bundled];
  const [a, b] = await Promise.all([realpath(bundled).catch(() => bundled), realpath(system).catch(() => system)]);
  return a === b ? [bundled] : [bundled, system];
}

/** One row per candidate across all binaries: it works if it works in any of them. */
function mergeCandidates(probes: BinaryProbe[]): EncoderReport['candidates'] {
  return ENCODER_CANDIDATES.map((name) => {
    const rows = probes.map((p) => ({ ffmpeg: p.ffmpeg, row: p.candidates.find((c) => c.name === name) }));
    if (rows.some((r) => r.row?.ok)) return { name, ok: true };
    const reasons = rows.map((r) => r.row?.reason ?? NOT_BUILT_IN);
    if (new Set(reasons).size === 1) return { name, ok: false, reason: reasons[0] };
    const label = (ffmpeg: string) => (ffmpeg === ffmpegPath() ? 'bundled ffmpeg' : ffmpeg);
    return { name, ok: false, reason: rows.map((r, i) => `${label(r.ffmpeg)}: ${reasons[i]}`).join('; ') };
  });
}

export interface EncoderSelection extends EncoderChoice {
  report: EncoderReport;
  /** Each binary's own findings, for a fuller report than the merged one. */
  probes: BinaryProbe[];
}

/**
 * Choose the video encoder for a render: the first candidate in ENCODER_CANDIDATES that really
 * encodes in any ffmpeg (the bundled one preferred when both can), or `force` when it works here.
 * A forced encoder that does not work, or is not a candidate, is a BadInput naming why and what works.
 */
export async function chooseEncoder(options: {
  cacheFile: string;
  /** A system ffmpeg from Settings; null or absent looks for one on PATH. */
  systemFfmpeg?: string | null;
  force?: string;
  signal?: AbortSignal;
}): Promise<EncoderSelection> {
  const { cacheFile, systemFfmpeg, force, signal } = options;
  if (force !== undefined && !(ENCODER_CANDIDATES as readonly string[]).includes(force)) {
    throw new AppError(
      ErrorCode.BadInput,
      `encoder ${force}: Mouthpiece cannot encode with it; use one of ${ENCODER_CANDIDATES.join(', ')}, or leave the encoder out to use the fastest that works here`,
    );
  }
  const probes = await probeEncoders({ binaries: await ffmpegBinaries(systemFfmpeg), cacheFile, signal });
  const candidates = mergeCandidates(probes);
  const working = candidates.filter((c) => c.ok).map((c) => c.name);
  const name = force ?? working[0];
  if (force !== undefined && !working.includes(force)) {
    const reason = candidates.find((c) => c.name === force)?.reason;
    throw new AppError(
      ErrorCode.BadInput,
      `encoder ${force} does not work here (${reason}); encoders that work here: ${working.join(', ') || 'none'}. Choose one of those, or leave the encoder out to use the fastest that works`,
    );
  }
  if (name === undefined) {
    const why = candidates.find((c) => c.name === SOFTWARE_ENCODER)?.reason;
    throw new AppError(ErrorCode.Ffmpeg, `no video encoder works here, not even ${SOFTWARE_ENCODER} (${why}); reinstall Mouthpiece to restore its ffmpeg`);
  }
  const probe = probes.find((p) => p.candidates.some((c) => c.name === name && c.ok))!;
  return { binary: probe.ffmpeg, encoder: name, report: { ffmpeg: probe.ffmpeg, version: probe.version, candidates, chosen: name }, probes };
}

export interface EncodeOutcome extends EncoderChoice {
  /** For the render's record when the chosen encoder failed and software finished the job. */
  note?: string;
}

/**
 * Run an encode with the chosen encoder; if a hardware encoder fails, run it again with libx264 in
 * the bundled ffmpeg and say so in the note. Cancelling never falls back, and a software encode
 * that fails is not retried (the fault is not the encoder's).
 */
export async function encodeWithFallback(run: (choice: EncoderChoice) => Promise<void>, choice: EncoderChoice): Promise<EncodeOutcome> {
  try {
    await run(choice);
    return { binary: choice.binary, encoder: choice.encoder };
  } catch (error) {
    if (isCancelled(error) || choice.encoder === SOFTWARE_ENCODER) throw error;
    const reason = failureReason((error as Error).message ?? String(error));
    const software: EncoderChoice = { binary: ffmpegPath(), encoder: SOFTWARE_ENCODER };
    try {
      await run(software);
    } catch (softwareError) {
      if (isCancelled(softwareError)) throw softwareError;
      throw new AppError(
        ErrorCode.Ffmpeg,
        `${(softwareError as Error).message} (this was the software retry after the hardware encoder ${choice.encoder} failed: ${reason})`,
      );
    }
    return { ...software, note: `The hardware encoder ${choice.encoder} failed (${reason}), so this video was encoded in software (${SOFTWARE_ENCODER}).` };
  }
}
