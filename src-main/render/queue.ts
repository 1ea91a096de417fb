import { access, constants, mkdir, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { AppError, ErrorCode, isCancelled, toErrorData } from '../../src-shared/errors';
import { describeIssues, projectSchema } from '../../src-shared/project';
import type { RenderProgress, VideoSummary } from '../../src-shared/video';
import { recordEvent } from '../audit/log';
import type { Db } from '../db/connection';
import { changeStatus, findVideo, toSummary } from '../videos/repository';
import { readAccount } from '../account/account';
import { resolveAvatar } from '../avatars/library';
import { chooseEncoder } from '../media/encoders';
import { readSettings } from '../settings/settings';
import { resolveTemplate } from '../templates/library';
import { resolveVoice } from '../voices/catalogue';
import { renderProject } from './renderProject';

/** Where the encoder probe's findings are kept, per ffmpeg binary and version. */
export const encoderCacheFile = (home: string) => join(home, 'cache', 'encoders.json');

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

const PROGRESS_INTERVAL_MS = 200;

/**
 * Renders queued videos one at a time. Holds one AbortController per job; cancel aborts it,
 * which kills ffmpeg and stops synthesis, and the partial output is deleted.
 */
export class RenderQueue {
  private readonly pending: string[] = [];
  private readonly controllers = new Map<string, AbortController>();
  private readonly waiters = new Map<string, ((video: VideoSummary) => void)[]>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly home: string,
    private readonly events: QueueEvents,
  ) {}

  /** Queue a video; the promise it returns settles when its render ends, however it ends. */
  async enqueue(videoId: string, outputPath?: string): Promise<{ queued: VideoSummary; done: Promise<VideoSummary> }> {
    const row = await findVideo(this.db, videoId);
    // The editor saves half-written projects; only a whole one may render.
    let json: unknown;
    try {
      json = JSON.parse(row.project_json);
    } catch {
      throw new AppError(ErrorCode.BadInput, `video ${videoId}: its saved project is not valid JSON; open it in the editor and save it again`);
    }
    const parsed = projectSchema.safeParse(json);
    if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error));
    const output = outputPath ?? row.output_path ?? join(this.home, 'videos', `${slug(row.title)}-${row.id.slice(0, 8)}.mp4`);
    if (!outputPath) await mkdir(dirname(output), { recursive: true });
    await checkOutputPath(output);
    const queued = await changeStatus(this.db, videoId, { status: 'queued', stage: null, progress: 0, error: null, outputPath: output });
    await recordEvent(this.db, 'render.queued', videoId);
    this.events.changed(toSummary(queued));
    const done = new Promise<VideoSummary>((resolve) => this.waiters.set(videoId, [...(this.waiters.get(videoId) ?? []), resolve]));
    this.pending.push(videoId);
    this.running ??= this.drain();
    return { queued: toSummary(queued), done };
  }

  async cancel(videoId: string): Promise<VideoSummary> {
    const controller = this.controllers.get(videoId);
    if (controller) {
      controller.abort();
      return toSummary(await findVideo(this.db, videoId));
    }
    const index = this.pending.indexOf(videoId);
    if (index < 0) {
      const row = await findVideo(this.db, videoId);
      throw new AppError(ErrorCode.IllegalTransition, `video ${videoId} is ${row.status}, not queued or rendering; there is nothing to cancel`);
    }
    this.pending.splice(index, 1);
    const row = await changeStatus(this.db, videoId, { status: 'cancelled' });
    await recordEvent(this.db, 'render.cancelled', videoId);
    this.finish(toSummary(row));
    return toSummary(row);
  }

  /** Cancel everything and wait for the running render to wind down. */
  async close(): Promise<void> {
    for (const id of [...this.pending]) await this.cancel(id);
    for (const controller of this.controllers.values()) controller.abort();
    await this.running;
  }

  private finish(video: VideoSummary): void {
    this.events.changed(video);
    for (const resolve of this.waiters.get(video.id) ?? []) resolve(video);
    this.waiters.delete(video.id);
  }

  private async drain(): Promise<void> {
    for (let id = this.pending.shift(); id; id = this.pending.shift()) {
      this.finish(await this.render(id));
    }
    this.running = undefined;
  }

  private async render(videoId: string): Promise<VideoSummary> {
    const controller = new AbortController();
    this.controllers.set(videoId, controller);
    try {
      const row = await changeStatus(this.db, videoId, { status: 'rendering', stage: 'speech', progress: 0 });
      await recordEvent(this.db, 'render.started', videoId);
      this.events.changed(toSummary(row));
      const project = projectSchema.parse(JSON.parse(row.project_json));
      await mkdir(join(this.home, 'cache'), { recursive: true });
      const settings = await readSettings(this.db);
      const encoder = await chooseEncoder({
        cacheFile: encoderCacheFile(this.home),
        systemFfmpeg: settings.ffmpegPath,
        force: project.encoder,
        signal: controller.signal,
      });
      let lastWrite = 0;
      let lastStage = '';
      const result = await renderProject({
        project,
        outputPath: row.output_path!,
        workDir: join(this.home, 'work', videoId),
        cacheDir: join(this.home, 'cache'),
        signal: controller.signal,
        lookupAvatar: (id) => resolveAvatar(this.db, id),
        lookupVoice: (id) => resolveVoice(id, this.db),
        lookupTemplate: (id) => resolveTemplate(this.db, id),
        account: await readAccount(this.db),
        encoder,
        onProgress: (p) => {
          const now = Date.now();
          if (p.stage === lastStage && now - lastWrite < PROGRESS_INTERVAL_MS && p.stageProgress < 1) return;
          lastWrite = now;
          lastStage = p.stage;
          this.events.progress({ videoId, ...p });
          void changeStatus(this.db, videoId, { status: 'rendering', stage: p.stage, progress: p.progress }).catch(() => undefined);
        },
      });
      const done = await changeStatus(this.db, videoId, {
        status: 'completed',
        progress: 1,
        durationSeconds: result.durationSeconds,
        timings: result.timings,
        encoder: result.encoder,
        note: result.note ?? null,
      });
      await recordEvent(this.db, 'render.finished', videoId, {
        durationSeconds: result.durationSeconds,
        timings: result.timings,
        engine: result.engine,
        encoder: result.encoder,
        ...(result.note ? { note: result.note } : {}),
      });
      return toSummary(done);
    } catch (error) {
      const cancelled = isCancelled(error);
      const message = cancelled ? null : toErrorData(error).message;
      const row = await changeStatus(this.db, videoId, cancelled ? { status: 'cancelled' } : { status: 'failed', error: message });
      await recordEvent(this.db, cancelled ? 'render.cancelled' : 'render.failed', videoId, message ? { error: message } : undefined);
      return toSummary(row);
    } finally {
      this.controllers.delete(videoId);
    }
  }
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'video';
}
