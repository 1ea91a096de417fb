import { AppError, ErrorCode } from '../../src-shared/errors';
import { projectDraftSchema, type ProjectDraft } from '../../src-shared/ipc';
import { describeIssues, upgradeProject } from '../../src-shared/project';
import type { VideoSummary } from '../../src-shared/video';
import type { Db } from '../db/connection';
import { findVideo, toSummary } from './repository';

/** One video with the project the editor last saved for it (as saved: it may be unfinished). */
export async function getVideo(db: Db, id: string): Promise<{ video: VideoSummary; project: ProjectDraft }> {
  const row = await findVideo(db, id);
  let project: unknown;
  try {
    project = upgradeProject(JSON.parse(row.project_json));
  } catch {
    throw new AppError(ErrorCode.Io, `video "${row.title}": its saved project is not valid JSON; the database may be damaged`);
  }
  return { video: toSummary(row), project: project as ProjectDraft };
}

/**
 * Save the editor's project for a video as the user types. Kept as it is, half-typed scenes
 * included (rendering checks it strictly), within the draft schema's size limits. The title
 * follows the project's when it has one. Refused while the video is queued or rendering: the
 * render would not see the change.
 */
export async function saveDraft(db: Db, id: string, draft: unknown): Promise<VideoSummary> {
  const parsed = projectDraftSchema.safeParse(draft);
  if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error, 'project'));
  return db.transaction().execute(async (trx) => {
    const row = await findVideo(trx, id);
    if (row.status === 'queued' || row.status === 'rendering') {
      throw new AppError(
        ErrorCode.IllegalTransition,
        `"${row.title}" is ${row.status}; cancel the render first to edit it, or wait for it to finish`,
      );
    }
    const title = parsed.data.title?.trim();
    const next = { project_json: JSON.stringify(parsed.data), title: title || row.title, updated_at: new Date().toISOString() };
    await trx.updateTable('videos').set(next).where('id', '=', id).execute();
    return toSummary({ ...row, ...next });
  });
}
