import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { AppError, ErrorCode, isCancelled, toErrorData } from '../../src-shared/errors';
import { BUILTIN_AVATAR_ID, type AvatarProgress, type AvatarSummary } from '../../src-shared/avatar';
import { projectSchema } from '../../src-shared/project';
import { recordEvent } from '../audit/log';
import type { Db } from '../db/connection';
import { renderProject, type ResolvedAvatar } from '../render/renderProject';
import { CLIP_EXTENSIONS, IMAGE_EXTENSIONS, prepareClip, preparePhoto, type ClipAvatarData, type PhotoAvatarData } from './prepare';
import { BUILTIN_SUMMARY, PREVIEW_FILE, deleteAvatarRow, findAvatar, insertAvatar, listAvatars, toAvatarSummary, updateAvatar } from './repository';
import { Resvg } from '@resvg/resvg-js';
import { sha256File } from '../models/catalogue';
import { presenterSvg } from './presenter';

export interface AvatarEvents {
  progress(progress: AvatarProgress): void;
  changed(avatar: AvatarSummary): void;
}

/** What the preview says: short, with open and closed mouth shapes and a blink's worth of time. */
export const PREVIEW_LINE = 'Hello! This is how I will look in your videos.';

const PROGRESS_INTERVAL_MS = 150;

let thumbnail: string | undefined;
/** The built-in presenter's face, drawn once per process, for its card. */
function presenterThumbnail(): string {
  thumbnail ??= `data:image/png;base64,${new Resvg(presenterSvg('rest', 'open'), { fitTo: { mode: 'height', value: 160 } }).render().asPng().toString('base64')}`;
  return thumbnail;
}

/** Find a ready avatar by id, for a render. */
export async function resolveAvatar(db: Db, id: string): Promise<ResolvedAvatar> {
  if (id === BUILTIN_AVATAR_ID) return { kind: 'builtin' };
  const row = await db.selectFrom('avatars').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) {
    throw new AppError(ErrorCode.BadInput, `avatar "${id}" does not exist; import a photo on the Avatars screen (or pass its path to --avatar), or use "${BUILTIN_AVATAR_ID}"`);
  }
  if (row.status !== 'ready' || !row.data_json || !row.files_dir) {
    const why = row.status === 'preparing' ? 'is still being prepared; wait for it to finish' : `was not prepared (${row.error ?? row.status}); import the photo again`;
    throw new AppError(ErrorCode.BadInput, `avatar "${row.name}" ${why}`);
  }
  const data = JSON.parse(row.data_json) as PhotoAvatarData | ClipAvatarData;
  return data.kind === 'clip' ? { kind: 'clip', id: row.id, dir: row.files_dir, data } : { kind: 'photo', id: row.id, dir: row.files_dir, data };
}

/**
 * The user's avatars: import runs preparation as a job (progress, cancel), after which the
 * avatar renders without repeating any of it. Files live in <home>/avatars/<id>; the user's
 * original photo is only read.
 */
export class AvatarLibrary {
  private readonly jobs = new Map<string, { controller: AbortController; done: Promise<AvatarSummary> }>();

  constructor(
    private readonly db: Db,
    private readonly home: string,
    private readonly events: AvatarEvents,
  ) {}

  async list(): Promise<AvatarSummary[]> {
    return [{ ...BUILTIN_SUMMARY, thumbnail: presenterThumbnail() }, ...(await listAvatars(this.db)).map(toAvatarSummary)];
  }

  /** Start preparing a photo or clip; `done` settles when the avatar is ready, refused or cancelled. */
  async import(
    path: string,
    options: { name?: string; onProgress?: (fraction: number, message?: string) => void } = {},
  ): Promise<{ avatar: AvatarSummary; done: Promise<AvatarSummary> }> {
    const source = resolve(path);
    const extension = extname(source).toLowerCase();
    const file = basename(source);
    try {
      await access(source);
    } catch {
      throw new AppError(ErrorCode.BadInput, `${file}: the file does not exist or cannot be read; choose the photo again`);
    }
    const kind = CLIP_EXTENSIONS.includes(extension) ? 'clip' : IMAGE_EXTENSIONS.includes(extension) ? 'photo' : undefined;
    if (!kind) {
      throw new AppError(
        ErrorCode.BadInput,
        `${file}: not a photo or clip we can read (${extension || 'no extension'}); use a JPEG, PNG or WebP photo, or an MP4, MOV or WebM clip, of one face`,
      );
    }
    const id = randomUUID();
    const dir = join(this.home, 'avatars', id);
    await mkdir(dir, { recursive: true });
    const row = await insertAvatar(this.db, { id, name: options.name ?? file.replace(/\.[^.]+$/, ''), kind, sourcePath: source, filesDir: dir });
    await recordEvent(this.db, 'avatar.imported', id, { source });
    const controller = new AbortController();
    const done = this.prepare(id, kind, source, dir, controller.signal, options.onProgress);
    this.jobs.set(id, { controller, done });
    void done.finally(() => this.jobs.delete(id));
    const avatar = toAvatarSummary(row);
    this.events.changed(avatar);
    return { avatar, done };
  }

  /** Import a photo or clip for a render, reusing an avatar already prepared from the same file. */
  async importForRender(path: string, report: (fraction: number, message?: string) => void): Promise<AvatarSummary> {
    const sha = await sha256File(resolve(path)).catch(() => undefined);
    if (sha) {
      for (const row of await listAvatars(this.db)) {
        if (row.status === 'ready' && row.data_json && (JSON.parse(row.data_json) as { sourceSha256?: string }).sourceSha256 === sha) {
          return toAvatarSummary(row);
        }
      }
    }
    const { done } = await this.import(path, { onProgress: report });
    const finished = await done;
    if (finished.status !== 'ready') {
      throw new AppError(finished.status === 'cancelled' ? ErrorCode.Cancelled : ErrorCode.BadInput, finished.error ?? 'Cancelled.');
    }
    return finished;
  }

  async cancel(id: string): Promise<AvatarSummary> {
    const job = this.jobs.get(id);
    if (!job) {
      const row = await findAvatar(this.db, id);
      throw new AppError(ErrorCode.IllegalTransition, `avatar "${row.name}" is ${row.status}, not being prepared; there is nothing to cancel`);
    }
    job.controller.abort();
    return job.done;
  }

  async rename(id: string, name: string): Promise<AvatarSummary> {
    if (id === BUILTIN_AVATAR_ID) throw new AppError(ErrorCode.BadInput, 'the built-in presenter cannot be renamed');
    await findAvatar(this.db, id);
    const row = await updateAvatar(this.db, id, { name });
    await recordEvent(this.db, 'avatar.renamed', id, { name });
    const avatar = toAvatarSummary(row);
    this.events.changed(avatar);
    return avatar;
  }

  /** Delete the avatar and its prepared files; the user's original file is never touched. */
  async delete(id: string): Promise<{ avatarId: string }> {
    if (id === BUILTIN_AVATAR_ID) throw new AppError(ErrorCode.BadInput, 'the built-in presenter cannot be deleted');
    const row = await findAvatar(this.db, id);
    const job = this.jobs.get(id);
    if (job) {
      job.controller.abort();
      await job.done;
    }
    await deleteAvatarRow(this.db, id);
    if (row.files_dir) await rm(row.files_dir, { recursive: true, force: true });
    await recordEvent(this.db, 'avatar.deleted', id);
    return { avatarId: id };
  }

  async preview(id: string): Promise<{ url: string }> {
    const row = await findAvatar(this.db, id);
    if (row.status !== 'ready' || !row.files_dir) throw new AppError(ErrorCode.BadInput, `avatar "${row.name}" has no preview: it is ${row.status}`);
    try {
      return { url: `data:video/mp4;base64,${(await readFile(join(row.files_dir, PREVIEW_FILE))).toString('base64')}` };
    } catch {
      throw new AppError(ErrorCode.NotFound, `avatar "${row.name}" has no preview file; import the photo again to make one`);
    }
  }

  /** Stop every preparation (app closing). */
  async close(): Promise<void> {
    const jobs = [...this.jobs.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.all(jobs.map((j) => j.done));
  }

  private async prepare(
    id: string,
    kind: 'photo' | 'clip',
    source: string,
    dir: string,
    signal: AbortSignal,
    onProgress?: (fraction: number, message?: string) => void,
  ): Promise<AvatarSummary> {
    let lastWrite = 0;
    const report = (fraction: number, message?: string) => {
      this.events.progress({ avatarId: id, progress: fraction, message });
      onProgress?.(fraction, message);
      const now = Date.now();
      if (now - lastWrite < PROGRESS_INTERVAL_MS) return;
      lastWrite = now;
      void updateAvatar(this.db, id, { progress: fraction }).catch(() => undefined);
    };
    try {
      const context = { signal, report: (f: number, m?: string) => report(f * 0.6, m) };
      const data = kind === 'clip' ? await prepareClip(source, dir, context) : await preparePhoto(source, dir, context);
      report(0.6, 'Making a preview');
      const prepared: ResolvedAvatar = data.kind === 'clip' ? { kind: 'clip', id, dir, data } : { kind: 'photo', id, dir, data };
      await this.renderPreview(prepared, dir, signal, (f) => report(0.6 + 0.4 * f, 'Making a preview'));
      const sourceSha256 = await sha256File(source);
      const row = await updateAvatar(this.db, id, { status: 'ready', progress: 1, error: null, data: { ...data, sourceSha256 } });
      await recordEvent(this.db, 'avatar.prepared', id, { landmarkModel: data.landmarkModel });
      const avatar = toAvatarSummary(row);
      this.events.changed(avatar);
      return avatar;
    } catch (error) {
      const cancelled = isCancelled(error);
      const message = cancelled ? null : toErrorData(error).message;
      await rm(dir, { recursive: true, force: true });
      const row = await updateAvatar(this.db, id, cancelled ? { status: 'cancelled', error: null } : { status: 'failed', error: message });
      await recordEvent(this.db, cancelled ? 'avatar.cancelled' : 'avatar.failed', id, message ? { error: message } : undefined);
      const avatar = toAvatarSummary(row);
      this.events.changed(avatar);
      return avatar;
    }
  }

  /** The avatar saying PREVIEW_LINE, square, in the files folder. */
  private async renderPreview(avatar: ResolvedAvatar, dir: string, signal: AbortSignal, report: (fraction: number) => void): Promise<void> {
    const project = projectSchema.parse({ title: 'Preview', format: '1:1', template: 'square', avatar: 'preview', scenes: [{ text: PREVIEW_LINE, avatarLayout: 'full' }] });
    await renderProject({
      project,
      outputPath: join(dir, PREVIEW_FILE),
      workDir: join(this.home, 'work', `preview-${basename(dir)}`),
      cacheDir: join(this.home, 'cache'),
      signal,
      onProgress: (p) => report(p.progress),
      lookupAvatar: async () => avatar,
    });
  }
}
