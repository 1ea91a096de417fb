import type { Db } from '../db/connection';

export type DomainEvent =
  | 'video.created'
  | 'render.queued'
  | 'render.started'
  | 'render.finished'
  | 'render.failed'
  | 'render.cancelled'
  /** The app closed mid-render: the render stopped, keeping its status and checkpoints for a resume. */
  | 'render.paused'
  /** An unfinished render queued again after a restart, to continue from its checkpoints. */
  | 'render.resumed'
  /** A finished render's cost, recorded locally; the account sync settles it. */
  | 'credits.spent'
  | 'avatar.imported'
  | 'avatar.prepared'
  | 'avatar.failed'
  | 'avatar.cancelled'
  | 'avatar.renamed'
  | 'avatar.deleted'
  | 'voice.imported'
  | 'voice.deleted'
  | 'template.created'
  | 'template.saved'
  | 'template.deleted'
  /** The script assistant wrote a script (the endpoint's host, model, scenes and length; never the brief). */
  | 'assistant.written'
  | 'batch.started'
  | 'batch.finished'
  | 'batch.cancelled';

export async function recordEvent(db: Db, type: DomainEvent, subjectId: string | null, data?: unknown): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ at: new Date().toISOString(), type, subject_id: subjectId, data_json: data === undefined ? null : JSON.stringify(data) })
    .execute();
}

export async function listEvents(db: Db, subjectId?: string) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id');
  if (subjectId) query = query.where('subject_id', '=', subjectId);
  return query.execute();
}
