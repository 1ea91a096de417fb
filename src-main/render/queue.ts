import { existsSync } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { countModelUse, resolvedModelPaths } from '../models/catalogue';
import { AppError, ErrorCode, errorCode, isCancelled, toErrorData } from '../../src-shared/errors';
import { creditCost, describeIssues, estimateSeconds, frameSize, projectSchema } from '../../src-shared/project';
import type { RenderProgress, VideoSummary } from '../../src-shared/video';
import { unfilledVariables } from '../../src-shared/batch';
import { recordEvent } from '../audit/log';
import type { Db } from '../db/connection';
import { changeStatus, findVideo, listVideosByStatus, toSummary } from '../videos/repository';
import { checkCredits, readAccount, recordSpend } from '../account/account';
import { resolveAvatar } from '../avatars/library';
import { chooseEncoder } from '../media/encoders';
import { readSettings } from '../settings/settings';
import { resolveTemplate } from '../templates/library';
import { resolveVoice } from '../voices/catalogue';
import { checkDiskSpace, diskFullError, estimateRenderBytes, findFullFolder, freeSpace, looksLikeDiskFull, type FreeSpace } from './diskSpace';
import { FPS, discardRender, partialPaths, type RenderResult } from './renderProject';
import type { FromWorker, RenderOrder, ToWorker } from './renderWorker';
import type { StageProgress } from './stage';

/** Where the encoder probe's findings are kept, per ffmpeg binary and version. */
export const encoderCacheFile = (home: string) => join(home, 'cache', 'encoders.json');

/** A video's work folder: its checkpoints, kept until its render completes, fails or is cancelled. */
export const workDirOf = (home: string, videoId: string) => join(home, 'work', videoId);

/** What the rows of one batch make once and share; removed when the batch ends. */
export const sharedDirOf = (home: string, batchId: string) => join(home, 'work', `batch-${batchId}`);

/** Refuse an output path we could not write, before any work is done. */
export async function checkOutputPath(path: string): Promise<void> {
  if (extname(path).toLowerCase() !== '.mp4') {
    throw new AppError(ErrorCode.BadInput, `output ${path}: the file name must end in .mp4`);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new AppError(ErrorCode.BadInput, `output ${path} is a folder; give a file name ending in .mp4`);
  try {
    await access(dirname(path), constants.W_OK);
  } catch {
    throw new AppError(ErrorCode.BadInput, `output ${path}: the folder ${dirname(path)} does not exist or is not writable; choose another place`);
  }
}

export interface QueueEvents {
  progress(progress: RenderProgress): void;
  changed(video: VideoSummary): void;
}

export interface QueueOptions {
  /** Bytes free in a folder; statfs by default. */
  freeSpace?: FreeSpace;
  /** A finished render's credits went into the account's outbox: settle now rather than at the next poll. */
  onSpent?: () => void;
}

/** At most five progress events per second per render. */
const PROGRESS_INTERVAL_MS = 200;
/** How long a worker stays loaded after its render, waiting for the next. */
const WORKER_IDLE_MS = 60_000;
/** How long a stopped worker may take to end its render itself before it is terminated. */
const STOP_GRACE_MS = 300;

/**
 * Frames per second and time left from a render's progress over time. Both rates are smoothed
 * exponentially, so the ETA settles within seconds and does not jump with each sample; there is
 * no ETA until the render has run a while and moved.
 */
export class RenderPace {
  private first: { at: number; progress: number } | undefined;
  private last: { at: number; progress: number; frame?: number } | undefined;
  private rate: number | undefined;
  private fps: number | undefined;
  private stage: string | undefined;

  /** `at` in seconds. */
  update(p: StageProgress, at: number): { fps?: number; etaSeconds?: number } {
    const frame = p.stage === 'compose' && p.frames ? p.stageProgress * p.frames : undefined;
    const newStage = p.stage !== this.stage;
    this.stage = p.stage;
    // Until the pace is known, it is measured from the start of the latest stage: stages a resume
    // skips go by in an instant and would make the first estimate far too fast.
    if (!this.first || !this.last || (newStage && this.rate === undefined)) {
      this.first = { at, progress: p.progress };
      this.last = { at, progress: p.progress, frame };
      return {};
    }
    const dt = at - this.last.at;
    if (dt >= PACE_SAMPLE_SECONDS) {
      const elapsed = at - this.first.at;
      const gained = p.progress - this.first.progress;
      if (this.rate === undefined) {
        // Known once the render has run a while and moved: the average so far is the first estimate.
        if (elapsed >= PACE_WARMUP_SECONDS && gained >= 0.01) this.rate = gained / elapsed;
      } else {
        this.rate += (1 - Math.exp(-dt / PACE_SMOOTHING_SECONDS)) * ((p.progress - this.last.progress) / dt - this.rate);
      }
      if (frame === undefined) this.fps = undefined;
      else if (this.last.frame !== undefined) {
        const instant = (frame - this.last.frame) / dt;
        this.fps = this.fps === undefined ? instant : this.fps + (1 - Math.exp(-dt / PACE_SMOOTHING_SECONDS)) * (instant - this.fps);
      }
      this.last = { at, progress: p.progress, frame };
    }
    const eta = this.rate && this.rate > 0 ? Math.max(0, (1 - p.progress) / this.rate) : undefined;
    return {
      ...(this.fps !== undefined && frame !== undefined ? { fps: Math.round(this.fps * 10) / 10 } : {}),
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
    };
  }
}

const PACE_SAMPLE_SECONDS = 0.25;
const PACE_WARMUP_SECONDS = 1.5;
const PACE_SMOOTHING_SECONDS = 3;

interface Running {
  /** Aborts what main does for the job (the encoder probe) before the worker runs. */
  controller: AbortController;
  worker?: Worker;
  /** Child processes (ffmpeg) the worker has running, killed if the worker has to be terminated. */
  children: Set<number>;
  /** Why the render is being stopped: the user's cancel, or a pause for the app closing. */
  stop?: 'cancel' | 'pause';
  ended?: Promise<VideoSummary>;
  pace: RenderPace;
  lastEvent: number;
  trailing?: ReturnType<typeof setTimeout>;
  latest?: RenderProgress;
  /** Progress writes to the database, in order, so the final status is written after the last. */
  writes: Promise<unknown>;
}

/**
 * A render worker. Its file: in the app, the bundle's own entry beside index.js; under tsx and
 * vitest the TypeScript source, imported through tsx's API (Node 20 does not apply `--import tsx`
 * to a worker's entry). A small script loads either, lowering the thread's priority first on Linux
 * (where priorities are per thread) so that loading the render's code does not compete with main.
 */
function startWorker(): Worker {
  const lowerFirst = process.platform === 'linux' ? `try { require('node:os').setPriority(0, ${osConstants.priority.PRIORITY_BELOW_NORMAL}); } catch {}\n` : '';
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(`${lowerFirst}import(${JSON.stringify(new URL('./renderWorker.js', import.meta.url).href)});`, { eval: true });
  }
  const require = createRequire(import.meta.url);
  const tsxPackage = require.resolve('tsx/package.json');
  const api = (require(tsxPackage) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'].import.default;
  const apiUrl = pathToFileURL(join(dirname(tsxPackage), api)).href;
  const entry = new URL('./renderWorker.ts', import.meta.url).href;
  return new Worker(`${lowerFirst}import(${JSON.stringify(apiUrl)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}));`, { eval: true });
}

/** Which process renders a video, and the ffmpeg processes it has running: `{ pid, children }`. */
const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  children?: number[];
}

async function readOwner(workDir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(join(workDir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether another live process (a CLI render beside the app) is rendering this video now. */
async function ownedElsewhere(workDir: string): Promise<boolean> {
  const owner = await readOwner(workDir);
  return owner !== undefined && owner.pid !== process.pid && isAlive(owner.pid);
}

/**
 * A process killed mid-render (a crash, SIGKILL) leaves its ffmpeg running on; before a resume
 * writes the same files, end those still alive. Only where /proc shows the pid is still an ffmpeg:
 * elsewhere a reused pid could be anyone's, and an orphan only costs time.
 */
async function killOrphans(workDir: string, ours: Set<number>): Promise<void> {
  const owner = await readOwner(workDir);
  for (const pid of owner?.children ?? []) {
    if (ours.has(pid)) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!/ffmpeg/.test(command)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * The render queue. The videos table is the queue itself (status queued and rendering), so jobs
 * survive a restart: `resumeUnfinished` picks them up again. Runs up to the renderConcurrency
 * setting at once, each in its own worker thread, with one stop switch per job: cancel ends the
 * render, deletes its partial files and its work folder; closing the queue pauses running renders,
 * keeping their status and work folder for the next start.
 */
export class RenderQueue {
  private readonly pending: string[] = [];
  private readonly running = new Map<string, Running>();
  private readonly waiters = new Map<string, ((video: VideoSummary) => void)[]>();
  private readonly freeSpace: FreeSpace;
  private readonly onSpent?: () => void;
  /** Workers that finished a render cleanly, kept loaded for the next one. */
  private idle: { worker: Worker; timer: ReturnType<typeof setTimeout>; onExit: () => void }[] = [];
  private closing = false;
  private scheduling: Promise<void> | undefined;
  private rescheduled = false;

  constructor(
    private readonly db: Db,
    private readonly home: string,
    private readonly events: QueueEvents,
    options: QueueOptions = {},
  ) {
    this.freeSpace = options.freeSpace ?? freeSpace;
    this.onSpent = options.onSpent;
  }

  /** Queue a video; the promise it returns settles when its render ends, however it ends (a pause included). */
  async enqueue(videoId: string, outputPath?: string): Promise<{ queued: VideoSummary; done: Promise<VideoSummary> }> {
    if (this.closing) throw new AppError(ErrorCode.IllegalTransition, `video ${videoId}: the app is closing; render it after the next start`);
    const row = await findVideo(this.db, videoId);
    // rendering -> queued is allowed for a resume; a render this queue holds is not started twice.
    if (this.running.has(videoId) || this.pending.includes(videoId)) {
      throw new AppError(ErrorCode.IllegalTransition, `video ${videoId} is already ${row.status}; wait for it to finish or cancel it first`);
    }
    // The editor saves half-written projects; only a whole one may render.
    let json: unknown;
    try {
      json = JSON.parse(row.project_json);
    } catch {
      throw new AppError(ErrorCode.BadInput, `video ${videoId}: its saved project is not valid JSON; open it in the editor and save it again`);
    }
    const parsed = projectSchema.safeParse(json);
    if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error));
    // A batch's rows come filled in; a project that still has its variables is the batch's template.
    const unfilled = unfilledVariables(parsed.data);
    if (unfilled) throw new AppError(ErrorCode.BadInput, unfilled);
    // Against the credits last known: never a wait on the network before a render starts.
    await checkCredits(this.db, creditCost(estimateSeconds(parsed.data)));
    const output = outputPath ?? row.output_path ?? join(this.home, 'videos', `${slug(row.title)}-${row.id.slice(0, 8)}.mp4`);
    if (!outputPath) await mkdir(dirname(output), { recursive: true });
    await checkOutputPath(output);
    const workDir = workDirOf(this.home, videoId);
    const queued = await changeStatus(this.db, videoId, { status: 'queued', stage: null, progress: 0, error: null, outputPath: output, workDir });
    // A fresh render: whatever an earlier, finished one left is not to be reused.
    await discardRender(output, workDir);
    await this.claim(workDir);
    await recordEvent(this.db, 'render.queued', videoId);
    this.events.changed(toSummary(queued));
    const done = this.waitFor(videoId);
    this.pending.push(videoId);
    void this.schedule();
    return { queued: toSummary(queued), done };
  }

  /**
   * Queue again every render a crash or a quit left unfinished (status queued or rendering), in
   * the order they were made; each resumes from its checkpoints. Renders another live process
   * owns are left to it.
   */
  async resumeUnfinished(): Promise<{ video: VideoSummary; done: Promise<VideoSummary> }[]> {
    const resumed = [];
    for (const row of await listVideosByStatus(this.db, ['queued', 'rendering'])) {
      if (this.running.has(row.id) || this.pending.includes(row.id)) continue;
      const workDir = row.work_dir ?? workDirOf(this.home, row.id);
      if (await ownedElsewhere(workDir)) continue;
      await killOrphans(workDir, this.ourChildren());
      const video = row.status === 'rendering' ? await changeStatus(this.db, row.id, { status: 'queued', workDir }) : row;
      await this.claim(workDir);
      await recordEvent(this.db, 'render.resumed', row.id, { from: row.status, stage: row.stage, progress: row.progress });
      this.events.changed(toSummary(video));
      const done = this.waitFor(row.id);
      this.pending.push(row.id);
      resumed.push({ video: toSummary(video), done });
    }
    void this.schedule();
    return resumed;
  }

  /** Cancel a queued or running render; resolves once it is cancelled and its partial files are gone. */
  async cancel(videoId: string): Promise<VideoSummary> {
    const row = await findVideo(this.db, videoId);
    const job = this.running.get(videoId);
    if (job) {
      job.stop = 'cancel';
      this.halt(job);
      return job.ended!;
    }
    const workDir = row.work_dir ?? workDirOf(this.home, videoId);
    const index = this.pending.indexOf(videoId);
    const unfinished = row.status === 'queued' || row.status === 'rendering';
    // Queued here, or left unfinished by an earlier run and not resumed yet; not one another live process renders.
    const stale = index < 0 && unfinished && !(await ownedElsewhere(workDir));
    if (index < 0 && !stale) {
      throw new AppError(
        ErrorCode.IllegalTransition,
        unfinished
          ? `video ${videoId} is being rendered by another Mouthpiece process (the command line?); cancel it there`
          : `video ${videoId} is ${row.status}, not queued or rendering; there is nothing to cancel`,
      );
    }
    // The await above may have let the queue start it meanwhile.
    if (this.running.has(videoId)) return this.cancel(videoId);
    if (this.pending.includes(videoId)) this.pending.splice(this.pending.indexOf(videoId), 1);
    if (stale) await killOrphans(workDir, this.ourChildren());
    if (row.output_path) await discardRender(row.output_path, workDir);
    const cancelled = await changeStatus(this.db, videoId, { status: 'cancelled' });
    await recordEvent(this.db, 'render.cancelled', videoId);
    this.finish(toSummary(cancelled));
    return toSummary(cancelled);
  }

  /**
   * Pause running renders (their workers and ffmpeg stop; status and work folder stay for a
   * resume) and let queued ones wait in the database for the next start.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const id of this.pending.splice(0)) this.finish(toSummary(await findVideo(this.db, id)));
    const ending = [...this.running.values()].map((job) => {
      job.stop ??= 'pause';
      this.halt(job);
      return job.ended;
    });
    await Promise.all(ending);
    await this.scheduling;
    await Promise.all(this.idle.splice(0).map(({ worker, timer }) => (clearTimeout(timer), worker.terminate())));
  }

  /** The child processes this queue's renders have running now (a stale record may name a reused pid). */
  private ourChildren(): Set<number> {
    return new Set([...this.running.values()].flatMap((job) => [...job.children]));
  }

  private waitFor(videoId: string): Promise<VideoSummary> {
    return new Promise<VideoSummary>((resolve) => this.waiters.set(videoId, [...(this.waiters.get(videoId) ?? []), resolve]));
  }

  /** Mark a work folder as this process's, so another process's resume leaves it alone. */
  private async claim(workDir: string): Promise<void> {
    await mkdir(workDir, { recursive: true });
    await writeFile(join(workDir, OWNER_FILE), JSON.stringify({ pid: process.pid } satisfies Owner));
  }

  private finish(video: VideoSummary): void {
    this.events.changed(video);
    for (const resolve of this.waiters.get(video.id) ?? []) resolve(video);
    this.waiters.delete(video.id);
  }

  /** Start queued renders while there is room; concurrent calls fold into one pass. */
  private schedule(): Promise<void> {
    if (this.closing) return Promise.resolve();
    if (this.scheduling) {
      this.rescheduled = true;
      return this.scheduling;
    }
    this.scheduling = (async () => {
      do {
        this.rescheduled = false;
        const limit = (await readSettings(this.db)).renderConcurrency;
        while (!this.closing && this.running.size < limit && this.pending.length > 0) this.start(this.pending.shift()!);
      } while (this.rescheduled && !this.closing);
    })()
      .catch((error: unknown) => console.error('Mouthpiece: the render queue could not start a render', error))
      .finally(() => {
        this.scheduling = undefined;
        // A call that came after the last pass looked, and before this one ended.
        if (this.rescheduled && !this.closing) void this.schedule();
      });
    return this.scheduling;
  }

  private start(videoId: string): void {
    const job: Running = { controller: new AbortController(), children: new Set(), pace: new RenderPace(), lastEvent: 0, writes: Promise.resolve() };
    this.running.set(videoId, job);
    job.ended = this.render(videoId, job)
      .catch(async (error: unknown) => {
        // The library itself failed (the video deleted meanwhile, the database gone): report what it holds.
        console.error(`Mouthpiece: render ${videoId} could not be recorded`, error);
        return toSummary(await findVideo(this.db, videoId));
      })
      .then((video) => {
        this.running.delete(videoId);
        this.finish(video);
        return video;
      })
      .finally(() => {
        this.running.delete(videoId);
        void this.schedule();
      });
  }

  /** Stop a job: abort its work, ask its worker to stop, and terminate the worker if it has not after a grace. */
  private halt(job: Running): void {
    job.controller.abort();
    const worker = job.worker;
    if (!worker) return;
    worker.postMessage({ type: 'abort' } satisfies ToWorker);
    setTimeout(() => void worker.terminate(), STOP_GRACE_MS).unref();
  }

  private async render(videoId: string, job: Running): Promise<VideoSummary> {
    let outputPath: string | null = null;
    let workDir = workDirOf(this.home, videoId);
    try {
      const before = await findVideo(this.db, videoId);
      outputPath = before.output_path;
      workDir = before.work_dir ?? workDir;
      const resuming = existsSync(workDir) && (await readdir(workDir)).some((f) => f.endsWith('.checkpoint.json'));
      const row = await changeStatus(this.db, videoId, { status: 'rendering', stage: 'speech', progress: 0, workDir });
      await recordEvent(this.db, 'render.started', videoId, resuming ? { resuming: true } : undefined);
      this.events.changed(toSummary(row));
      if (!outputPath) throw new AppError(ErrorCode.BadInput, `video ${videoId} has no output path; render it again from the library`);
      await this.claim(workDir);
      const project = projectSchema.parse(JSON.parse(row.project_json));
      await mkdir(join(this.home, 'cache'), { recursive: true });
      const settings = await readSettings(this.db);
      const encoder = await chooseEncoder({
        cacheFile: encoderCacheFile(this.home),
        systemFfmpeg: settings.ffmpegPath,
        force: project.encoder,
        signal: job.controller.signal,
      });
      // What needs the database is resolved here; the worker checks and resolves the rest.
      const voices: RenderOrder['voices'] = [];
      for (const voice of new Set([project.voice, ...project.scenes.map((scene) => scene.voice ?? project.voice)])) {
        if (voice.startsWith('piper:')) voices.push([voice, await resolveVoice(voice, this.db)]);
      }
      const order: RenderOrder = {
        project,
        outputPath,
        workDir,
        cacheDir: join(this.home, 'cache'),
        ...(row.batch_id ? { sharedDir: sharedDirOf(this.home, row.batch_id) } : {}),
        account: await readAccount(this.db),
        encoder,
        template: await resolveTemplate(this.db, project.template),
        avatar: await resolveAvatar(this.db, project.avatar),
        voices,
        models: await resolvedModelPaths(),
      };
      const size = frameSize(project.format ?? order.template.format, project.quality);
      await checkDiskSpace({ output: dirname(outputPath), work: workDir }, estimateRenderBytes(project, size, FPS), this.freeSpace);
      if (job.stop) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
      const result = await this.runWorker(videoId, order, job);
      await job.writes;
      // The worker removed it; a last note of its children may have come after.
      await rm(workDir, { recursive: true, force: true });
      const credits = creditCost(result.durationSeconds);
      // The status and the spend together: a render resumed after a crash cannot spend twice.
      const { done, spendId } = await this.db.transaction().execute(async (trx) => ({
        done: await changeStatus(trx, videoId, {
          status: 'completed',
          stage: 'compose',
          progress: 1,
          durationSeconds: result.durationSeconds,
          timings: result.timings,
          encoder: result.encoder,
          note: result.note ?? null,
        }),
        spendId: await recordSpend(trx, { credits, videoId }),
      }));
      await recordEvent(this.db, 'render.finished', videoId, {
        durationSeconds: result.durationSeconds,
        timings: result.timings,
        engine: result.engine,
        encoder: result.encoder,
        resumed: result.resumed,
        ...(result.shared.length ? { shared: result.shared } : {}),
        ...(result.composeResumedFrom ? { composeResumedFrom: result.composeResumedFrom } : {}),
        ...(result.note ? { note: result.note } : {}),
      });
      await recordEvent(this.db, 'credits.spent', videoId, { credits, durationSeconds: result.durationSeconds, spendId });
      this.onSpent?.();
      return toSummary(done);
    } catch (error) {
      await job.writes;
      const outcome = job.stop ?? (isCancelled(error) ? 'cancel' : 'fail');
      if (outcome === 'pause') {
        // The status stays 'rendering' and the work folder stays: the next start resumes it.
        await recordEvent(this.db, 'render.paused', videoId);
        return toSummary(await findVideo(this.db, videoId));
      }
      const message = outcome === 'fail' ? await this.failureReason(error, outputPath, workDir) : null;
      if (outputPath) await discardRender(outputPath, workDir);
      const row = await changeStatus(this.db, videoId, outcome === 'cancel' ? { status: 'cancelled' } : { status: 'failed', error: message });
      await recordEvent(this.db, outcome === 'cancel' ? 'render.cancelled' : 'render.failed', videoId, message ? { error: message } : undefined);
      return toSummary(row);
    }
  }

  /** A failure's message for people; a write that hit a full disk (or a file size limit) says so, naming where. */
  private async failureReason(error: unknown, outputPath: string | null, workDir: string): Promise<string> {
    const data = toErrorData(error);
    if (!outputPath || errorCode(error) === ErrorCode.BadInput) return data.message;
    const folders = [dirname(outputPath), workDir];
    const reported = looksLikeDiskFull(error) || (error as { diskFull?: boolean }).diskFull === true;
    // An ffmpeg that died from a signal says nothing of why; the largest file written tells where it stopped.
    let largest = 0;
    for (const path of partialPaths(outputPath)) largest = Math.max(largest, (await stat(path).catch(() => undefined))?.size ?? 0);
    for (const name of await readdir(workDir, { recursive: true }).catch(() => [] as string[])) {
      largest = Math.max(largest, (await stat(join(workDir, name)).catch(() => undefined))?.size ?? 0);
    }
    const full = await findFullFolder(folders, largest, this.freeSpace).catch(() => undefined);
    if (full) return diskFullError(full).message;
    return reported ? diskFullError(folders[0]).message : data.message;
  }

  /** A worker for the next render: an idle one already loaded (models, voices, code), else a new one. */
  private acquireWorker(): Worker {
    const idle = this.idle.pop();
    if (idle) {
      clearTimeout(idle.timer);
      idle.worker.off('exit', idle.onExit);
      idle.worker.ref();
      return idle.worker;
    }
    return startWorker();
  }

  /** Keep a worker that finished its render cleanly for the next one, for a while. */
  private releaseWorker(worker: Worker): void {
    if (this.closing) return void worker.terminate();
    const entry = {
      worker,
      timer: setTimeout(() => {
        this.idle = this.idle.filter((e) => e !== entry);
        void worker.terminate();
      }, WORKER_IDLE_MS).unref(),
      onExit: () => {
        clearTimeout(entry.timer);
        this.idle = this.idle.filter((e) => e !== entry);
      },
    };
    worker.once('exit', entry.onExit);
    // Waiting for work is no reason to keep the process alive.
    worker.unref();
    this.idle.push(entry);
  }

  /**
   * Run an order in a worker; resolves with its result or rejects with its error once the worker
   * is done with it: back among the idle ones after a clean end, terminated (and any ffmpeg it
   * left killed) after a stop or a crash.
   */
  private runWorker(videoId: string, order: RenderOrder, job: Running): Promise<RenderResult> {
    const worker = this.acquireWorker();
    job.worker = worker;
    let onExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (onExit = resolve));
    worker.once('exit', onExit);
    let healthy = true;
    const onMessage = (message: FromWorker) => {
      if (message.type === 'progress') this.progress(videoId, message.progress, job);
      else if (message.type === 'model-used') void countModelUse(message.path).catch(() => undefined);
      else if (message.type === 'child') {
        if (message.alive) job.children.add(message.pid);
        else job.children.delete(message.pid);
        const owner: Owner = { pid: process.pid, children: [...job.children] };
        job.writes = job.writes.then(() => writeFile(join(order.workDir, OWNER_FILE), JSON.stringify(owner)).catch(() => undefined));
      } else if (message.type === 'done') settle.resolve(message.result);
      else settle.reject(Object.assign(new AppError(message.error.code, message.error.message), { diskFull: message.diskFull }));
    };
    const onError = (error: Error) => {
      healthy = false;
      settle.reject(new AppError(ErrorCode.Internal, `the render stopped: ${error.message}`));
    };
    const settle = {} as { resolve: (r: RenderResult) => void; reject: (e: unknown) => void };
    const outcome = new Promise<RenderResult>((resolve, reject) => Object.assign(settle, { resolve, reject }));
    worker.on('message', onMessage);
    worker.once('error', onError);
    void exited.then((code) => {
      healthy = false;
      settle.reject(job.stop ? new AppError(ErrorCode.Cancelled, 'Cancelled.') : new AppError(ErrorCode.Internal, `the render worker stopped unexpectedly (exit code ${code})`));
    });
    worker.postMessage({ type: 'start', order } satisfies ToWorker);
    if (job.stop) this.halt(job);
    const end = async () => {
      if (job.trailing) clearTimeout(job.trailing);
      worker.off('message', onMessage);
      worker.off('error', onError);
      if (healthy && !job.stop && job.children.size === 0) {
        worker.off('exit', onExit);
        this.releaseWorker(worker);
        return;
      }
      await worker.terminate();
      await exited;
      // A child the worker could not kill itself (it was terminated first) dies here.
      for (const pid of job.children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      job.children.clear();
    };
    return outcome.then(
      async (result) => (await end(), result),
      async (error: unknown) => {
        await end();
        throw error;
      },
    );
  }

  /** Progress from a worker: pace added, at most one event per interval (the latest wins), written to the library. */
  private progress(videoId: string, p: StageProgress, job: Running): void {
    const pace = job.pace.update(p, performance.now() / 1000);
    job.latest = { videoId, stage: p.stage, progress: p.progress, stageProgress: p.stageProgress, ...(p.message ? { message: p.message } : {}), ...pace };
    if (job.trailing) return;
    const emit = () => {
      job.trailing = undefined;
      const latest = job.latest;
      if (!latest || job.stop) return;
      job.latest = undefined;
      job.lastEvent = performance.now();
      this.events.progress(latest);
      job.writes = job.writes.then(() =>
        changeStatus(this.db, videoId, { status: 'rendering', stage: latest.stage, progress: latest.progress }).catch(() => undefined),
      );
    };
    const wait = job.lastEvent + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) emit();
    else job.trailing = setTimeout(emit, wait);
  }
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'video';
}
