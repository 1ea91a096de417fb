import { sql, type Kysely } from 'kysely';

// Frozen once released. Account sync (issue 8): the signed-in account's cloud identity, its last
// signed grant and sync state on the one accounts row, and an outbox of spends and other
// operations waiting for the cloud. The row's tier and credits columns stay but are no longer
// read: the tier comes only from a verified grant, so a premium tier set before this migration
// falls back to the free defaults until the user signs in.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['server_url', 'cloud_account_id', 'device_id', 'server_kid', 'server_key', 'grant_token', 'grant_problem', 'devices_json', 'last_sync_at', 'last_sync_error']) {
    await db.schema.alterTable('accounts').addColumn(column, 'text').execute();
  }
  await db.schema
    .createTable('account_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('spend','revoke')`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('local','pending','settled','refused')`))
    // The cloud account a pending operation belongs to; null for spends made signed out, which stay local.
    .addColumn('cloud_account_id', 'text')
    .addColumn('server_url', 'text')
    // Null until the spend is bound to a grant: made while no verified grant was known.
    .addColumn('grant_id', 'text')
    .addColumn('credits', 'integer', (c) => c.notNull().defaultTo(0).check(sql`credits >= 0`))
    .addColumn('video_id', 'text')
    // A revoke's refresh token, encrypted like the token file.
    .addColumn('payload', 'text')
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('settled_at', 'text')
    .execute();
  await db.schema.createIndex('account_outbox_state').on('account_outbox').columns(['state', 'next_attempt_at']).execute();
}
