import { join } from 'node:path';
import { sql, type Selectable } from 'kysely';
import { MODEL_KINDS, type ModelFile, type ModelKind, type ModelProvider, type ModelSearch, type ModelSearchPage, type ModelStatistics, type ModelSummary, type ProviderLatency } from '../../src-shared/model';
import type { Db } from '../db/connection';
import type { ModelsTable } from '../db/schema';

export type ModelRow = Selectable<ModelsTable>;

/** Audit-log event types of the registry (statistics count downloads and failures from them). */
export type ModelEvent = 'model.downloaded' | 'model.download-failed' | 'model.imported' | 'model.import-failed' | 'model.activated' | 'model.removed';

export const filesOf = (row: Pick<ModelRow, 'files_json'>): ModelFile[] => JSON.parse(row.files_json) as ModelFile[];

/** The model's .onnx: the first of its files. */
export function mainFile(row: Pick<ModelRow, 'dir' | 'files_json'>): string {
  return join(row.dir, filesOf(row)[0]!.name);
}

type Latency = Partial<Record<ModelProvider, ProviderLatency>>;

export const latencyOf = (row: Pick<ModelRow, 'latency_json'>): Latency => (row.latency_json ? (JSON.parse(row.latency_json) as Latency) : {});

/** The fastest measured milliseconds per run over the providers, or null before a measurement. */
export function bestMs(latency: Latency): number | null {
  const times = Object.values(latency).flatMap((l) => (l && 'ms' in l ? [l.ms] : []));
  return times.length ? Math.min(...times) : null;
}

export function toModelSummary(row: ModelRow): ModelSummary {
  const latency = latencyOf(row);
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    version: row.version,
    language: row.language,
    origin: row.origin,
    files: filesOf(row),
    bytes: row.bytes,
    sha256: row.sha256,
    licence: row.licence,
    commercialUse: row.commercial_use === 1,
    source: row.source_url,
    status: row.status,
    error: row.error,
    receivedBytes: row.received_bytes,
    active: row.active === 1,
    usageCount: row.usage_count,
    latency,
    bestMs: bestMs(latency),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function findModelRow(db: Db, id: string): Promise<ModelRow | undefined> {
  return db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findActiveModel(db: Db, kind: ModelKind): Promise<ModelRow | undefined> {
  return db.selectFrom('models').selectAll().where('kind', '=', kind).where('active', '=', 1).where('status', '=', 'installed').executeTakeFirst();
}

const KIND_ORDER = sql<number>`case kind ${sql.join(
  MODEL_KINDS.map((k, i) => sql`when ${k} then ${i}`),
  sql` `,
)} end`;

/** Every model in the registry, grouped by kind (in MODEL_KINDS order), the active one first, then by name. */
export function listModelRows(db: Db): Promise<ModelRow[]> {
  return db.selectFrom('models').selectAll().orderBy(KIND_ORDER).orderBy('active', 'desc').orderBy('name').execute();
}

export async function insertModelRow(db: Db, row: Omit<ModelRow, 'created_at' | 'updated_at'>): Promise<ModelRow> {
  const now = new Date().toISOString();
  await db.insertInto('models').values({ ...row, created_at: now, updated_at: now }).execute();
  return (await findModelRow(db, row.id))!;
}

export async function updateModelRow(db: Db, id: string, changes: Partial<Omit<ModelRow, 'id' | 'created_at'>>): Promise<ModelRow> {
  await db
    .updateTable('models')
    .set({ ...changes, updated_at: new Date().toISOString() })
    .where('id', '=', id)
    .execute();
  return (await findModelRow(db, id))!;
}

export async function deleteModelRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('models').where('id', '=', id).execute();
}

/** One more use of the installed model whose files are in `dir`. */
export async function countUseOfDir(db: Db, dir: string): Promise<void> {
  await db.updateTable('models').set({ usage_count: sql`usage_count + 1` }).where('dir', '=', dir).where('status', '=', 'installed').execute();
}

/** Make `id` the one active model of its kind, in one transaction (the unique index allows one). */
export async function setActive(db: Db, id: string, kind: ModelKind): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('models').set({ active: 0 }).where('kind', '=', kind).where('active', '=', 1).execute();
    await trx.updateTable('models').set({ active: 1, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  });
}

export async function recordModelEvent(db: Db, type: ModelEvent, modelId: string, data?: unknown): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ at: new Date().toISOString(), type, subject_id: modelId, data_json: data === undefined ? null : JSON.stringify(data) })
    .execute();
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Search by text (name or id), kind, language, licence text, commercial use and status; a page and the total. */
export async function searchModelRows(db: Db, search: Required<Pick<ModelSearch, 'limit' | 'offset'>> & Omit<ModelSearch, 'limit' | 'offset'>): Promise<ModelSearchPage> {
  let query = db.selectFrom('models');
  if (search.text) {
    const like = `%${escapeLike(search.text.toLowerCase())}%`;
    query = query.where((eb) => eb.or([sql<boolean>`lower(name) like ${like} escape '\\'`, sql<boolean>`lower(id) like ${like} escape '\\'`]));
  }
  if (search.kind) query = query.where('kind', '=', search.kind);
  // "en" finds en-us and en-gb; "en-us" finds only en-us.
  if (search.language) {
    const language = search.language.toLowerCase().replace('_', '-');
    query = query.where((eb) => eb.or([eb('language', '=', language), sql<boolean>`language like ${`${escapeLike(language)}-%`} escape '\\'`]));
  }
  if (search.licence) query = query.where(sql<boolean>`lower(licence) like ${`%${escapeLike(search.licence.toLowerCase())}%`} escape '\\'`);
  if (search.commercialUse !== undefined) query = query.where('commercial_use', '=', search.commercialUse ? 1 : 0);
  if (search.status) query = query.where('status', '=', search.status);
  const { total } = await query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await query.selectAll().orderBy(KIND_ORDER).orderBy('active', 'desc').orderBy('name').orderBy('id').limit(search.limit).offset(search.offset).execute();
  return { items: rows.map(toModelSummary), total: Number(total), limit: search.limit, offset: search.offset };
}

export async function modelStatistics(db: Db): Promise<ModelStatistics> {
  const byKind = Object.fromEntries(MODEL_KINDS.map((k) => [k, { installed: 0, bytes: 0, active: null as string | null }])) as ModelStatistics['byKind'];
  const installed = await db
    .selectFrom('models')
    .select(['kind', (eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.sum<number>('bytes').as('bytes')])
    .where('status', '=', 'installed')
    .groupBy('kind')
    .execute();
  for (const row of installed) byKind[row.kind] = { ...byKind[row.kind], installed: Number(row.count), bytes: Number(row.bytes) };
  for (const row of await db.selectFrom('models').select(['kind', 'id']).where('active', '=', 1).execute()) byKind[row.kind].active = row.id;
  const events = await db
    .selectFrom('audit_log')
    .select(['type', (eb) => eb.fn.countAll<number>().as('count')])
    .where('type', 'in', ['model.downloaded', 'model.download-failed', 'model.import-failed'])
    .groupBy('type')
    .execute();
  const count = (type: string) => Number(events.find((e) => e.type === type)?.count ?? 0);
  const unused = await db.selectFrom('models').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'installed').where('usage_count', '=', 0).executeTakeFirstOrThrow();
  return {
    byKind,
    installed: installed.reduce((n, r) => n + Number(r.count), 0),
    bytes: installed.reduce((n, r) => n + Number(r.bytes), 0),
    downloads: count('model.downloaded'),
    failures: count('model.download-failed') + count('model.import-failed'),
    unused: Number(unused.n),
  };
}
