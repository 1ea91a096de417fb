import { sql, type Kysely } from 'kysely';
import { upgradeProject } from '../../../src-shared/project';

// Frozen once released. Projects grow to version 2 (captions, brand, cards, transitions); a
// render's record keeps the encoder it used and a note for the user (a hardware encoder that
// failed, say); user templates record when they last changed.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('videos').addColumn('encoder', 'text').execute();
  await db.schema.alterTable('videos').addColumn('note', 'text').execute();
  await db.schema.alterTable('templates').addColumn('updated_at', 'text').execute();
  await sql`update templates set updated_at = created_at`.execute(db);
  const rows = await sql<{ id: string; project_json: string }>`select id, project_json from videos`.execute(db);
  for (const row of rows.rows) {
    let project: unknown;
    try {
      project = JSON.parse(row.project_json);
    } catch {
      continue; // never written by us; rendering it names the problem
    }
    await sql`update videos set project_json = ${JSON.stringify(upgradeProject(project))} where id = ${row.id}`.execute(db);
  }
}
