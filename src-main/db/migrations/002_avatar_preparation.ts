import { sql, type Kysely } from 'kysely';

// Frozen once released. Avatars become jobs: preparation has a status, progress and an error, and
// its files live in a folder of their own.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('avatars')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('ready').check(sql`status in ('preparing','ready','failed','cancelled')`))
    .execute();
  await db.schema
    .alterTable('avatars')
    .addColumn('progress', 'real', (c) => c.notNull().defaultTo(0).check(sql`progress >= 0 and progress <= 1`))
    .execute();
  await db.schema.alterTable('avatars').addColumn('error', 'text').execute();
  await db.schema.alterTable('avatars').addColumn('files_dir', 'text').execute();
  await db.schema.alterTable('avatars').addColumn('updated_at', 'text').execute();
  await sql`update avatars set updated_at = created_at`.execute(db);
}
