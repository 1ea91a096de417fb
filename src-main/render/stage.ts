import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { RENDER_STAGES, type RenderStage } from '../../src-shared/video';

export interface StageContext {
  signal: AbortSignal;
  /** The stage's own progress, 0..1. */
  report(fraction: number, message?: string): void;
}

/** Every stage has this shape: its input, a context with cancel and progress, its output. */
export type Stage<In, Out> = (input: In, context: StageContext) => Promise<Out>;

/** Share of a whole render's time each stage takes, measured on the 30 s benchmark script. */
export const STAGE_WEIGHTS: Record<RenderStage, number> = { speech: 0.12, mouth: 0.01, avatar: 0.07, compose: 0.8 };

export interface StageProgress {
  stage: RenderStage;
  stageProgress: number;
  progress: number;
  message?: string;
  /** The video's frame count, once the speech has fixed its length. */
  frames?: number;
}

/**
 * Where a stage's finished output is kept in the work folder, so a resumed render can skip it.
 * The manifest names the files the output refers to with their size and sha256, and the key of
 * the inputs it was made from: a checkpoint of other inputs, or whose files changed, is not used.
 */
export interface Checkpoint<Out> {
  /** The manifest's path (JSON, in the work folder). */
  path: string;
  /** A digest of everything the output depends on. */
  key: string;
  /** The files the output names (written by the stage before it returns). */
  files(output: Out): string[];
  /** Whether a reused output still holds (files outside the work folder, say); true without it. */
  usable?(output: Out): Promise<boolean>;
}

interface Manifest<Out> {
  stage: RenderStage;
  key: string;
  seconds: number;
  output: Out;
  files: { path: string; size: number; sha256: string }[];
}

export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Files above this are known by size and modification time rather than read through. */
const DIGEST_LIMIT = 64 * 1024 * 1024;

/** A file's identity for a fingerprint: its bytes' digest, or its size and time when it is huge. */
export async function fileDigest(path: string): Promise<string> {
  const found = await stat(path).catch(() => undefined);
  if (!found) return 'missing';
  if (found.size > DIGEST_LIMIT) return `${found.size}:${found.mtimeMs}`;
  return (await digestFile(path)).sha256;
}

/** A file's size and sha256, read through. */
export async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Write a stage's manifest: its body and the body's sha256, under a temporary name renamed into place. */
export async function writeCheckpoint<Out>(checkpoint: Checkpoint<Out>, stage: RenderStage, output: Out, seconds: number): Promise<void> {
  const files = [];
  for (const path of checkpoint.files(output)) files.push({ path, ...(await digestFile(path)) });
  const body = JSON.stringify({ stage, key: checkpoint.key, seconds, output, files } satisfies Manifest<Out>);
  await writeFile(`${checkpoint.path}.tmp`, JSON.stringify({ sha256: sha256Of(body), body }));
  await rename(`${checkpoint.path}.tmp`, checkpoint.path);
}

/**
 * A stage's checkpoint when every part of it holds: the manifest whole (its checksum matches),
 * made from the same inputs, and each file it names present with the recorded size and checksum.
 */
export async function readCheckpoint<Out>(checkpoint: Checkpoint<Out>, stage: RenderStage): Promise<{ output: Out; seconds: number } | undefined> {
  let manifest: Manifest<Out>;
  try {
    const { sha256, body } = JSON.parse(await readFile(checkpoint.path, 'utf8')) as { sha256: string; body: string };
    if (typeof body !== 'string' || sha256Of(body) !== sha256) return undefined;
    manifest = JSON.parse(body) as Manifest<Out>;
  } catch {
    return undefined;
  }
  if (manifest.stage !== stage || manifest.key !== checkpoint.key) return undefined;
  for (const file of manifest.files) {
    const found = await stat(file.path).catch(() => undefined);
    if (!found?.isFile() || found.size !== file.size) return undefined;
    if ((await digestFile(file.path)).sha256 !== file.sha256) return undefined;
  }
  if (checkpoint.usable && !(await checkpoint.usable(manifest.output).catch(() => false))) return undefined;
  return { output: manifest.output, seconds: manifest.seconds };
}

/** Runs stages in order, turning each stage's fraction into the whole render's and timing them. */
export class StageRunner {
  readonly timings: Partial<Record<RenderStage, number>> = {};
  /** The stages whose checkpoint was used instead of running them again. */
  readonly reused: RenderStage[] = [];

  constructor(
    private readonly signal: AbortSignal,
    private readonly onProgress: (progress: StageProgress) => void,
  ) {}

  async run<In, Out>(name: RenderStage, stage: Stage<In, Out>, input: In, checkpoint?: Checkpoint<Out>): Promise<Out> {
    if (this.signal.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
    const before = RENDER_STAGES.slice(0, RENDER_STAGES.indexOf(name)).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
    const report = (fraction: number, message?: string) => {
      const stageProgress = Math.min(1, Math.max(0, fraction));
      this.onProgress({ stage: name, stageProgress, progress: before + STAGE_WEIGHTS[name] * stageProgress, message });
    };
    const saved = checkpoint && (await readCheckpoint(checkpoint, name));
    if (saved) {
      // The work was done by an earlier run; its time is still what this video cost.
      this.timings[name] = saved.seconds;
      this.reused.push(name);
      report(1);
      return saved.output;
    }
    const started = performance.now();
    report(0);
    const output = await stage(input, { signal: this.signal, report });
    if (this.signal.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
    this.timings[name] = (performance.now() - started) / 1000;
    if (checkpoint) await writeCheckpoint(checkpoint, name, output, this.timings[name]);
    report(1);
    return output;
  }
}
