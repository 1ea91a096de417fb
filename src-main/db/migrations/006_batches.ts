import { sql, type Kysely } from 'kysely';

// Frozen once released. Personalised batches (issue 9): a batch keeps its project with
// {{variables}} and the CSV it was started with; each row is a video of its own, in the render
// queue like any other, that names its batch and spreadsheet row.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('project_json', 'text', (c) => c.notNull())
    .addColumn('csv_path', 'text', (c) => c.notNull())
    .addColumn('columns_json', 'text', (c) => c.notNull())
    .addColumn('rows_json', 'text', (c) => c.notNull())
    // The results file is written as the CSV was: its separator, and a byte-order mark if it had one (Excel's "CSV UTF-8").
    .addColumn('csv_delimiter', 'text', (c) => c.notNull().defaultTo(',').check(sql`csv_delimiter in (',', ';')`))
    .addColumn('csv_bom', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('out_dir', 'text', (c) => c.notNull())
    .addColumn('results_path', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('videos').addColumn('batch_id', 'text', (c) => c.references('batches.id')).execute();
  await db.schema.alterTable('videos').addColumn('batch_row', 'integer').execute();
  await db.schema.createIndex('videos_batch').on('videos').columns(['batch_id', 'batch_row']).execute();
}
