import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connection';
import type { VideosTable } from '../db/schema';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Project } from '../../src-shared/project';
import type { RenderStage, VideoStatus, VideoSummary } from '../../src-shared/video';
import { assertTransition } from './lifecycle';
import { recordEvent } from '../audit/log';

export function toSummary(row: VideosTable): VideoSummary {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    stage: row.stage,
    progress: row.progress,
    outputPath: row.output_path,
    error: row.error,
    durationSeconds: row.duration_seconds,
    encoder: row.encoder,
    note: row.note,
    batchId: row.batch_id,
    batchRow: row.batch_row,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertVideo(db: Db, project: Project, batch?: { batchId: string; row: number }): Promise<VideosTable> {
  const now = new Date().toISOString();
  const row: VideosTable = {
    id: randomUUID(),
    title: project.title,
    project_json: JSON.stringify(project),
    status: 'draft',
    stage: null,
    progress: 0,
    output_path: null,
    work_dir: null,
    error: null,
    timings_json: null,
    duration_seconds: null,
    encoder: null,
    note: null,
    batch_id: batch?.batchId ?? null,
    batch_row: batch?.row ?? null,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('videos').values(row).execute();
  await recordEvent(db, 'video.created', row.id, { title: row.title, scenes: project.scenes.length });
  return row;
}

export async function findVideo(db: Db, id: string): Promise<VideosTable> {
  const row = await db.selectFrom('videos').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError(ErrorCode.NotFound, `video ${id} does not exist; list videos to see their ids`);
  return row;
}

export async function listVideos(db: Db): Promise<VideosTable[]> {
  return db.selectFrom('videos').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
}

export async function listVideosByStatus(db: Db, statuses: VideoStatus[]): Promise<VideosTable[]> {
  return db.selectFrom('videos').selectAll().where('status', 'in', statuses).orderBy('created_at').execute();
}

export interface StatusChange {
  status: VideoStatus;
  stage?: RenderStage | null;
  progress?: number;
  error?: string | null;
  outputPath?: string | null;
  workDir?: string | null;
  timings?: Record<string, number> | null;
  durationSeconds?: number | null;
  encoder?: string | null;
  note?: string | null;
}

/** Move a video through its lifecycle in one transaction; illegal moves throw and change nothing. */
export async function changeStatus(db: Db, id: string, change: StatusChange): Promise<VideosTable> {
  // Inside a caller's transaction (the status and the render's spend together) it joins that one.
  const inTransaction = (work: (trx: Db) => Promise<VideosTable>) => (db.isTransaction ? work(db) : db.transaction().execute(work));
  return inTransaction(async (trx) => {
    const row = await findVideo(trx, id);
    assertTransition(row.status, change.status, `video ${id}`);
    const next: Partial<VideosTable> = { status: change.status, updated_at: new Date().toISOString() };
    if (change.stage !== undefined) next.stage = change.stage;
    if (change.progress !== undefined) next.progress = Math.min(1, Math.max(0, change.progress));
    if (change.error !== undefined) next.error = change.error;
    if (change.outputPath !== undefined) next.output_path = change.outputPath;
    if (change.workDir !== undefined) next.work_dir = change.workDir;
    if (change.timings !== undefined) next.timings_json = change.timings && JSON.stringify(change.timings);
    if (change.durationSeconds !== undefined) next.duration_seconds = change.durationSeconds;
    if (change.encoder !== undefined) next.encoder = change.encoder;
    if (change.note !== undefined) next.note = change.note;
    await trx.updateTable('videos').set(next).where('id', '=', id).execute();
    return { ...row, ...next } as VideosTable;
  });
}
