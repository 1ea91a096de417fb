import { sql, type Kysely } from 'kysely';

// Frozen once released. The model registry: models downloaded from the catalogue or imported from
// a file, their files, licence, download status, which one of each kind is active, how often they
// were used and how fast they ran on each execution provider.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('voice','face-detection','face-landmarks','lip-sync','segmentation','voice-activity')`),
    )
    .addColumn('version', 'text')
    .addColumn('language', 'text')
    .addColumn('origin', 'text', (c) => c.notNull().check(sql`origin in ('catalogue','import')`))
    .addColumn('dir', 'text', (c) => c.notNull())
    .addColumn('files_json', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0).check(sql`bytes >= 0`))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('licence', 'text', (c) => c.notNull())
    .addColumn('commercial_use', 'integer', (c) => c.notNull().defaultTo(0).check(sql`commercial_use in (0,1)`))
    .addColumn('source_url', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('downloading','verifying','installed','failed')`))
    .addColumn('error', 'text')
    .addColumn('received_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    // Only an installed model can be active: the check keeps a half-downloaded one out of renders.
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0).check(sql`active in (0,1) and (active = 0 or status = 'installed')`))
    .addColumn('usage_count', 'integer', (c) => c.notNull().defaultTo(0).check(sql`usage_count >= 0`))
    .addColumn('latency_json', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // One active model per kind, enforced by the database rather than by every writer.
  await sql`create unique index models_active_kind on models (kind) where active = 1`.execute(db);
  await db.schema.createIndex('models_kind_status').on('models').columns(['kind', 'status']).execute();
}
