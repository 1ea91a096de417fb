import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection';

const dbFile = () => join(mkdtempSync(join(tmpdir(), 'mp-db-')), 'mouthpiece.db');

describe('database', () => {
  it('opens a real file in WAL mode with foreign keys on', async () => {
    const db = await openDatabase(dbFile());
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    expect(mode.rows[0].journal_mode).toBe('wal');
    expect(fk.rows[0].foreign_keys).toBe(1);
    await db.destroy();
  });

  it('001_initial creates every table, keeps data across reopening, and enforces its checks', async () => {
    const file = dbFile();
    let db = await openDatabase(file);
    const now = new Date().toISOString();
    await db.insertInto('videos').values({
      id: 'v1', title: 'T', project_json: '{}', status: 'draft', stage: null, progress: 0, output_path: null,
      work_dir: null, error: null, timings_json: null, duration_seconds: null, created_at: now, updated_at: now,
    }).execute();
    await db.insertInto('accounts').values({ id: 'a1', email: null, tier: 'free', credits: 10, updated_at: now }).execute();
    await db.insertInto('settings').values({ key: 'k', value_json: '1' }).execute();
    await db.insertInto('audit_log').values({ at: now, type: 'video.created', subject_id: 'v1', data_json: null }).execute();
    await expect(
      db.updateTable('videos').set({ status: 'exploded' as never }).where('id', '=', 'v1').execute(),
    ).rejects.toThrow(/CHECK/);
    await expect(db.updateTable('accounts').set({ tier: 'gold' as never }).execute()).rejects.toThrow(/CHECK/);
    await expect(db.updateTable('accounts').set({ credits: -1 }).execute()).rejects.toThrow(/CHECK/);
    await db.destroy();

    db = await openDatabase(file); // migrating again is a no-op and keeps the rows
    expect(await db.selectFrom('videos').select('title').execute()).toEqual([{ title: 'T' }]);
    for (const table of ['avatars', 'voices', 'templates', 'accounts', 'settings', 'audit_log']) {
      const found = await sql<{ n: number }>`select count(*) as n from sqlite_master where type='table' and name=${table}`.execute(db);
      expect(found.rows[0].n, table).toBe(1);
    }
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    expect(applied.rows.map((r) => r.name)).toEqual(['001_initial', '002_avatar_preparation', '003_templates_and_project_v2', '004_models', '005_account_sync', '006_batches']);
    await db.destroy();
  });
});

describe('002_avatar_preparation', () => {
  it('adds preparation status to avatars made before it, marking them ready, and checks the status', async () => {
    const file = dbFile();
    const db = await openDatabase(file, { until: '001_initial' });
    await db.insertInto('avatars').values({ id: 'a1', name: 'Me', kind: 'photo', source_path: '/p.jpg', data_json: '{}', created_at: '2026-01-01T00:00:00.000Z' } as never).execute();
    await db.destroy();

    const migrated = await openDatabase(file);
    const row = await migrated.selectFrom('avatars').selectAll().where('id', '=', 'a1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'Me', status: 'ready', progress: 0, error: null, files_dir: null, updated_at: '2026-01-01T00:00:00.000Z' });
    await expect(migrated.updateTable('avatars').set({ status: 'baking' as never }).execute()).rejects.toThrow(/CHECK/);
    await expect(migrated.updateTable('avatars').set({ progress: 2 }).execute()).rejects.toThrow(/CHECK/);
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(migrated);
    expect(applied.rows.map((r) => r.name)).toEqual(['001_initial', '002_avatar_preparation', '003_templates_and_project_v2', '004_models', '005_account_sync', '006_batches']);
    await migrated.destroy();
  });
});

describe('003_templates_and_project_v2', () => {
  it('brings stored version-1 projects to version 2 unchanged otherwise, and adds the encoder and note of a render', async () => {
    const file = dbFile();
    const db = await openDatabase(file, { until: '002_avatar_preparation' });
    const now = '2026-01-01T00:00:00.000Z';
    const v1 = { version: 1, title: 'Old', template: 'studio', scenes: [{ text: 'Hello.', avatarLayout: 'left' }] };
    const base = { title: 'T', status: 'completed', stage: null, progress: 1, output_path: '/v.mp4', work_dir: null, error: null, timings_json: null, duration_seconds: 3, created_at: now, updated_at: now };
    await db.insertInto('videos').values({ ...base, id: 'v1', project_json: JSON.stringify(v1) } as never).execute();
    await db.insertInto('videos').values({ ...base, id: 'v2', project_json: 'not json' } as never).execute();
    await db.insertInto('templates').values({ id: 'mine', name: 'Mine', format: '16:9', definition_json: '{}', builtin: 0, created_at: now } as never).execute();
    await db.destroy();

    const migrated = await openDatabase(file);
    const rows = await migrated.selectFrom('videos').selectAll().orderBy('id').execute();
    expect(JSON.parse(rows[0].project_json)).toEqual({ ...v1, version: 2 });
    expect(rows[1].project_json).toBe('not json');
    expect(rows[0]).toMatchObject({ encoder: null, note: null, status: 'completed', duration_seconds: 3 });
    expect(await migrated.selectFrom('templates').select('updated_at').executeTakeFirstOrThrow()).toEqual({ updated_at: now });
    await migrated.destroy();
  });
});

describe('004_models', () => {
  const model = (id: string, kind: string, extra: Record<string, unknown> = {}) => ({
    id, name: id, kind, version: null, language: null, origin: 'import', dir: `/m/${id}`, files_json: '[]', bytes: 10, sha256: 'ab',
    licence: 'MIT', commercial_use: 1, source_url: null, status: 'installed', error: null, received_bytes: 0, active: 0,
    usage_count: 0, latency_json: null, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', ...extra,
  });

  it('adds the models table to a database with data, keeping one active model per kind and none half-downloaded', async () => {
    const file = dbFile();
    const db = await openDatabase(file, { until: '003_templates_and_project_v2' });
    const now = '2026-01-01T00:00:00.000Z';
    await db.insertInto('videos').values({ id: 'v1', title: 'T', project_json: '{}', status: 'draft', stage: null, progress: 0, output_path: null, work_dir: null, error: null, timings_json: null, duration_seconds: null, created_at: now, updated_at: now } as never).execute();
    await db.destroy();

    const migrated = await openDatabase(file);
    expect(await migrated.selectFrom('videos').select('title').execute()).toEqual([{ title: 'T' }]);
    await migrated.insertInto('models').values(model('a', 'face-detection', { active: 1 }) as never).execute();
    await migrated.insertInto('models').values(model('b', 'face-detection') as never).execute();
    await migrated.insertInto('models').values(model('c', 'segmentation', { active: 1 }) as never).execute();
    await expect(migrated.updateTable('models').set({ active: 1 }).where('id', '=', 'b').execute()).rejects.toThrow(/UNIQUE/);
    await expect(migrated.insertInto('models').values(model('d', 'voice', { status: 'downloading', active: 1 }) as never).execute()).rejects.toThrow(/CHECK/);
    await expect(migrated.insertInto('models').values(model('e', 'hologram') as never).execute()).rejects.toThrow(/CHECK/);
    await expect(migrated.updateTable('models').set({ status: 'half' as never }).where('id', '=', 'b').execute()).rejects.toThrow(/CHECK/);
    expect(await migrated.selectFrom('models').select(['id', 'active']).orderBy('id').execute()).toEqual([
      { id: 'a', active: 1 },
      { id: 'b', active: 0 },
      { id: 'c', active: 1 },
    ]);
    await migrated.destroy();
  });
});

describe('006_batches', () => {
  it('adds batches to a database with videos, which stay videos of their own, and ties a batch row to its batch', async () => {
    const file = dbFile();
    const db = await openDatabase(file, { until: '005_account_sync' });
    const now = '2026-01-01T00:00:00.000Z';
    const video = { title: 'T', project_json: '{}', status: 'completed', stage: 'compose', progress: 1, output_path: '/v.mp4', work_dir: null, error: null, timings_json: null, duration_seconds: 3, encoder: 'libx264', note: null, created_at: now, updated_at: now };
    await db.insertInto('videos').values({ ...video, id: 'v1' } as never).execute();
    await db.destroy();

    const migrated = await openDatabase(file);
    expect(await migrated.selectFrom('videos').selectAll().execute()).toEqual([{ ...video, id: 'v1', batch_id: null, batch_row: null }]);
    const batch = { id: 'b1', title: 'Hi {{first_name}}', project_json: '{}', csv_path: '/p.csv', columns_json: '["first_name"]', rows_json: '[]', out_dir: '/out', results_path: '/out/results.csv', created_at: now, updated_at: now };
    await migrated.insertInto('batches').values(batch as never).execute();
    // Results are written with the CSV's own separator: a comma and no byte-order mark unless it said otherwise.
    expect(await migrated.selectFrom('batches').select(['csv_delimiter', 'csv_bom']).execute()).toEqual([{ csv_delimiter: ',', csv_bom: 0 }]);
    await expect(migrated.insertInto('batches').values({ ...batch, id: 'b2', csv_delimiter: '\t' } as never).execute()).rejects.toThrow(/CHECK/);
    await migrated.insertInto('videos').values({ ...video, id: 'v2', batch_id: 'b1', batch_row: 2 } as never).execute();
    // A row of a batch that does not exist is refused (foreign keys are on).
    await expect(migrated.insertInto('videos').values({ ...video, id: 'v3', batch_id: 'nope', batch_row: 2 } as never).execute()).rejects.toThrow(/FOREIGN KEY/);
    expect(await migrated.selectFrom('videos').select(['id', 'batch_id', 'batch_row']).where('batch_id', '=', 'b1').execute()).toEqual([{ id: 'v2', batch_id: 'b1', batch_row: 2 }]);
    const index = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name = 'videos_batch'`.execute(migrated);
    expect(index.rows).toEqual([{ name: 'videos_batch' }]);
    await migrated.destroy();
  });
});
