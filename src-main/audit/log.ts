import type { Db } from '../db/connection';

export type DomainEvent =
  | 'video.created'
  | 'render.queued'
  | 'render.started'
  | 'render.finished'
  | 'render.failed'
  | 'render.cancelled'
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
  | 'template.deleted';

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
