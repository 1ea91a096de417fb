import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { BUILTIN_AVATAR_ID, type AvatarKind, type AvatarStatus, type AvatarSummary } from '../../src-shared/avatar';
import type { Db } from '../db/connection';
import type { AvatarsTable } from '../db/schema';

export const THUMBNAIL_FILE = 'thumbnail.png';
export const PREVIEW_FILE = 'preview.mp4';

function dataUrl(path: string, type: string): string | null {
  try {
    return `data:${type};base64,${readFileSync(path).toString('base64')}`;
  } catch {
    return null;
  }
}

export function toAvatarSummary(row: AvatarsTable): AvatarSummary {
  const hasPreview = row.status === 'ready' && row.files_dir !== null && dataUrl(join(row.files_dir, PREVIEW_FILE), 'video/mp4') !== null;
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    error: row.error,
    thumbnail: row.files_dir ? dataUrl(join(row.files_dir, THUMBNAIL_FILE), 'image/png') : null,
    hasPreview,
    createdAt: row.created_at,
  };
}

export const BUILTIN_SUMMARY: AvatarSummary = {
  id: BUILTIN_AVATAR_ID,
  name: 'Presenter (built in)',
  kind: 'builtin',
  status: 'ready',
  progress: 1,
  error: null,
  thumbnail: null,
  hasPreview: false,
  createdAt: '1970-01-01T00:00:00.000Z',
};

export async function insertAvatar(db: Db, row: { id: string; name: string; kind: AvatarKind; sourcePath: string; filesDir: string }): Promise<AvatarsTable> {
  const now = new Date().toISOString();
  const record: AvatarsTable = {
    id: row.id,
    name: row.name,
    kind: row.kind,
    source_path: row.sourcePath,
    data_json: null,
    created_at: now,
    status: 'preparing',
    progress: 0,
    error: null,
    files_dir: row.filesDir,
    updated_at: now,
  };
  await db.insertInto('avatars').values(record).execute();
  return record;
}

export async function findAvatar(db: Db, id: string): Promise<AvatarsTable> {
  const row = await db.selectFrom('avatars').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError(ErrorCode.NotFound, `avatar ${id} does not exist; list avatars to see their ids`);
  return row;
}

export async function listAvatars(db: Db): Promise<AvatarsTable[]> {
  return db.selectFrom('avatars').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
}

export async function updateAvatar(
  db: Db,
  id: string,
  change: Partial<{ name: string; status: AvatarStatus; progress: number; error: string | null; data: unknown }>,
): Promise<AvatarsTable> {
  const next: Partial<AvatarsTable> = { updated_at: new Date().toISOString() };
  if (change.name !== undefined) next.name = change.name;
  if (change.status !== undefined) next.status = change.status;
  if (change.progress !== undefined) next.progress = Math.min(1, Math.max(0, change.progress));
  if (change.error !== undefined) next.error = change.error;
  if (change.data !== undefined) next.data_json = JSON.stringify(change.data);
  await db.updateTable('avatars').set(next).where('id', '=', id).execute();
  return findAvatar(db, id);
}

export async function deleteAvatarRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('avatars').where('id', '=', id).execute();
}
