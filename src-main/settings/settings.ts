import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { SettingsValue } from '../../src-shared/ipc';
import type { Db } from '../db/connection';

const DEFAULTS: SettingsValue = { ffmpegPath: null };

/** The user's settings, with the defaults for any never saved. */
export async function readSettings(db: Db): Promise<SettingsValue> {
  const rows = await db.selectFrom('settings').selectAll().where('key', 'in', Object.keys(DEFAULTS)).execute();
  const saved = Object.fromEntries(
    rows.flatMap((row) => {
      try {
        return [[row.key, JSON.parse(row.value_json) as unknown]];
      } catch {
        return []; // a damaged value reads as its default
      }
    }),
  );
  return { ffmpegPath: typeof saved.ffmpegPath === 'string' ? saved.ffmpegPath : DEFAULTS.ffmpegPath };
}

/** Save the settings; an ffmpeg path must be an existing file (null finds one on PATH). */
export async function saveSettings(db: Db, value: SettingsValue): Promise<SettingsValue> {
  let ffmpegPath = value.ffmpegPath;
  if (ffmpegPath !== null) {
    ffmpegPath = resolve(ffmpegPath);
    const stat = statSync(ffmpegPath, { throwIfNoEntry: false });
    if (!stat) throw new AppError(ErrorCode.BadInput, `ffmpegPath: ${ffmpegPath} does not exist; pick the ffmpeg program itself, or clear it to use the one on PATH`);
    if (!stat.isFile()) throw new AppError(ErrorCode.BadInput, `ffmpegPath: ${ffmpegPath} is a folder; pick the ffmpeg program inside it`);
  }
  const next: SettingsValue = { ffmpegPath };
  await db.transaction().execute(async (trx) => {
    for (const [key, v] of Object.entries(next)) {
      await trx
        .insertInto('settings')
        .values({ key, value_json: JSON.stringify(v) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value_json: JSON.stringify(v) }))
        .execute();
    }
  });
  return next;
}
