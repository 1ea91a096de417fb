import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { MAX_RENDER_CONCURRENCY, type SettingsValue } from '../../src-shared/ipc';
import type { Db } from '../db/connection';

const DEFAULTS: SettingsValue = { ffmpegPath: null, renderConcurrency: 1 };

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
  const concurrency = saved.renderConcurrency;
  return {
    ffmpegPath: typeof saved.ffmpegPath === 'string' ? saved.ffmpegPath : DEFAULTS.ffmpegPath,
    renderConcurrency:
      Number.isInteger(concurrency) && (concurrency as number) >= 1 && (concurrency as number) <= MAX_RENDER_CONCURRENCY ? (concurrency as number) : DEFAULTS.renderConcurrency,
  };
}

/** Save the settings given (the others keep their values); an ffmpeg path must be an existing file (null finds one on PATH). */
export async function saveSettings(db: Db, value: Partial<SettingsValue>): Promise<SettingsValue> {
  const current = await readSettings(db);
  let ffmpegPath = value.ffmpegPath === undefined ? current.ffmpegPath : value.ffmpegPath;
  if (ffmpegPath !== null && value.ffmpegPath !== undefined) {
    ffmpegPath = resolve(ffmpegPath);
    const stat = statSync(ffmpegPath, { throwIfNoEntry: false });
    if (!stat) throw new AppError(ErrorCode.BadInput, `ffmpegPath: ${ffmpegPath} does not exist; pick the ffmpeg program itself, or clear it to use the one on PATH`);
    if (!stat.isFile()) throw new AppError(ErrorCode.BadInput, `ffmpegPath: ${ffmpegPath} is a folder; pick the ffmpeg program inside it`);
  }
  const renderConcurrency = value.renderConcurrency ?? current.renderConcurrency;
  if (!Number.isInteger(renderConcurrency) || renderConcurrency < 1 || renderConcurrency > MAX_RENDER_CONCURRENCY) {
    throw new AppError(ErrorCode.BadInput, `renderConcurrency: ${renderConcurrency} renders at once is not possible; choose a whole number from 1 to ${MAX_RENDER_CONCURRENCY}`);
  }
  const next: SettingsValue = { ffmpegPath, renderConcurrency };
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
