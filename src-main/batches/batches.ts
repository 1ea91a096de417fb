import { randomUUID } from 'node:crypto';
import { access, constants, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { checkBatch, describeBatchIssues, fillProject, formatCsv, parseCsv, rowValues, type BatchCheck, type BatchStatus, type BatchSummary, type CsvTable } from '../../src-shared/batch';
import { AppError, ErrorCode, errorCode, toErrorData } from '../../src-shared/errors';
import { projectSchema, type Project, type ProjectInput } from '../../src-shared/project';
import type { VideoSummary } from '../../src-shared/video';
import { checkCredits, readAccount } from '../account/account';
import { recordEvent } from '../audit/log';
import { resolveAvatar } from '../avatars/library';
import type { Db } from '../db/connection';
import type { BatchesTable, VideosTable } from '../db/schema';
import { sharedDirOf, type RenderQueue } from '../render/queue';
import { checkProject } from '../render/renderProject';
import { resolveTemplate } from '../templates/library';
import { getVideo } from '../videos/drafts';
import { insertVideo } from '../videos/repository';
import { resolveVoice } from '../voices/catalogue';
import { readCsvFile } from './csvFile';

export interface BatchEvents {
  changed(batch: BatchSummary): void;
}

/** A batch's rows as stored: the CSV's values, by spreadsheet row. */
interface StoredRow {
  row: number;
  values: string[];
}

/** The results file's own columns; one the CSV already has gets a `batch_` prefix. */
const RESULT_COLUMNS = ['status', 'output', 'duration_seconds', 'error'] as const;

/**
 * Personalised batches: one project with {{variables}} and a CSV become one queued video per row.
 * Each row is a video of its own in the render queue (so resume and cancel work as for any render);
 * the queue's changed events drive the batch's summary, its results CSV and its end.
 */
export class Batches {
  /** Work on one batch (a summary, the results file, its end) runs in order. */
  private readonly updates = new Map<string, Promise<void>>();
  /** The status this process last saw for each batch: a batch ends once per run of its rows. */
  private readonly known = new Map<string, BatchStatus>();
  private readonly waiters = new Map<string, ((summary: BatchSummary) => void)[]>();
  /** Batches whose rows are still being queued: their events wait for start() to finish. */
  private readonly starting = new Set<string>();

  constructor(
    readonly db: Db,
    readonly home: string,
    readonly queue: RenderQueue,
    readonly events: BatchEvents,
  ) {}

  /** Check a saved video's project against a CSV file. */
  async check(videoId: string, csvPath: string): Promise<BatchCheck> {
    const { project } = await getVideo(this.db, videoId);
    return (await this.checkFile(project as ProjectInput, csvPath)).check;
  }

  /**
   * Start a batch from a saved video's project (the editor) or a project (the CLI); `done` settles
   * when every row has ended. Refused, with every problem and its row, unless the check is clean
   * and the credits known here cover the whole batch; nothing is recorded before that.
   */
  async start(input: { videoId?: string; project?: ProjectInput | Project; csvPath: string; outDir?: string }): Promise<{ batch: BatchSummary; done: Promise<BatchSummary> }> {
    const project = (input.project as ProjectInput | undefined) ?? (input.videoId ? ((await getVideo(this.db, input.videoId)).project as ProjectInput) : undefined);
    if (!project) throw new AppError(ErrorCode.BadInput, 'a batch needs a project: give a video id or a project');
    const csvPath = resolve(input.csvPath);
    const { check, csv } = await this.checkFile(project, csvPath);
    if (check.issues.length > 0) {
      const n = check.issues.length;
      throw new AppError(ErrorCode.BadInput, `${basename(csvPath)}: ${n} problem${n === 1 ? '' : 's'}, so nothing was rendered:\n${describeBatchIssues(check.issues)}`);
    }
    try {
      await checkCredits(this.db, check.credits);
    } catch (error) {
      if (errorCode(error) !== ErrorCode.Forbidden) throw error;
      const left = (await readAccount(this.db)).credits;
      throw new AppError(
        ErrorCode.Forbidden,
        `credits: these ${check.rows} videos cost ${check.credits} credits together (1 per started minute of each video) and ${left} ${left === 1 ? 'is' : 'are'} left this month; remove rows, shorten the script, or wait for next month's credits`,
      );
    }
    const rows = csv.rows.map(({ row, values }) => ({ row, values, project: projectSchema.parse(fillProject(project, rowValues(csv.columns, values))) }));

    const id = randomUUID();
    const outDir = resolve(input.outDir ?? join(this.home, 'videos', `${slug(stripVariables(project.title ?? ''), 'batch')}-${id.slice(0, 8)}`));
    await prepareOutDir(outDir);
    const taken = new Set(await readdir(outDir));
    const first = check.variables[0];
    const outputs = rows.map(({ row, values }) => {
      const stem = `${String(row).padStart(3, '0')}-${slug(rowValues(csv.columns, values)[first] ?? '', 'video')}`;
      let name = `${stem}.mp4`;
      // Never over a file already there: nothing the user made is lost to a batch.
      for (let n = 2; taken.has(name); n++) name = `${stem}-${n}.mp4`;
      taken.add(name);
      return join(outDir, name);
    });

    const now = new Date().toISOString();
    const batchRow: BatchesTable = {
      id,
      title: project.title?.trim() || 'Untitled video',
      project_json: JSON.stringify(project),
      csv_path: csvPath,
      columns_json: JSON.stringify(csv.columns),
      rows_json: JSON.stringify(csv.rows satisfies StoredRow[]),
      csv_delimiter: csv.delimiter,
      csv_bom: csv.bom ? 1 : 0,
      out_dir: outDir,
      results_path: join(outDir, 'results.csv'),
      created_at: now,
      updated_at: now,
    };
    const videos = await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('batches').values(batchRow).execute();
      const made: VideosTable[] = [];
      for (const { row, project: filled } of rows) made.push(await insertVideo(trx, filled, { batchId: id, row }));
      await recordEvent(trx, 'batch.started', id, { rows: rows.length, credits: check.credits, seconds: Math.round(check.seconds), outDir, csv: csvPath });
      return made;
    });

    this.starting.add(id);
    const done = new Promise<BatchSummary>((resolve) => this.waiters.set(id, [resolve]));
    try {
      const queued: string[] = [];
      try {
        for (const [i, video] of videos.entries()) {
          await this.queue.enqueue(video.id, outputs[i]);
          queued.push(video.id);
        }
      } catch (error) {
        // All rows or none: those already queued are cancelled, and the caller hears why.
        for (const videoId of queued) await this.queue.cancel(videoId).catch(() => undefined);
        throw error;
      }
    } finally {
      this.starting.delete(id);
      // Rows may have ended meanwhile (or all, when queueing failed): this may be the batch's end.
      await this.update(id, true);
    }
    return { batch: await this.summary(id), done };
  }

  /** Every batch, newest first. */
  async list(): Promise<BatchSummary[]> {
    const batches = await this.db.selectFrom('batches').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
    const videos = await this.db.selectFrom('videos').selectAll().where('batch_id', 'is not', null).orderBy('batch_row').execute();
    return batches.map((batch) => summarise(batch, videos.filter((v) => v.batch_id === batch.id)));
  }

  /** Cancel every row not yet made; the rows made stay. */
  async cancel(batchId: string): Promise<BatchSummary> {
    await findBatch(this.db, batchId);
    const rows = await batchVideos(this.db, batchId);
    // The queued ones first, so none starts while the running ones stop.
    for (const row of rows.filter((r) => r.status === 'queued')) await this.queue.cancel(row.id).catch(() => undefined);
    await Promise.all(rows.filter((r) => r.status === 'rendering').map((r) => this.queue.cancel(r.id).catch(() => undefined)));
    const left = (await batchVideos(this.db, batchId)).filter((r) => r.status === 'queued' || r.status === 'rendering');
    await this.update(batchId);
    if (left.length > 0) {
      // Owned by another live process (a CLI render of the same library): it has to stop them.
      const rowsLeft = left.map((r) => r.batch_row).join(', ');
      throw new AppError(ErrorCode.IllegalTransition, `rows ${rowsLeft} are being rendered by another Mouthpiece process (the command line?); cancel the batch there`);
    }
    return this.summary(batchId);
  }

  /** The results CSV of a batch, brought up to date (and written again when it has been deleted). */
  async resultsPath(batchId: string): Promise<string> {
    const batch = await findBatch(this.db, batchId);
    await this.update(batchId);
    return batch.results_path;
  }

  /** The batch as it stands now. */
  async summary(batchId: string): Promise<BatchSummary> {
    return summarise(await findBatch(this.db, batchId), await batchVideos(this.db, batchId));
  }

  /** Settles with the batch's summary once every row has ended (now, when none is left to render). */
  async settled(batchId: string): Promise<BatchSummary> {
    const summary = await this.summary(batchId);
    if (summary.status !== 'rendering' && !this.starting.has(batchId)) return summary;
    return new Promise((resolve) => this.waiters.set(batchId, [...(this.waiters.get(batchId) ?? []), resolve]));
  }

  /** A video changed (the queue's event): a batch row's change updates its batch and results file. */
  videoChanged(video: VideoSummary): void {
    if (!video.batchId || this.starting.has(video.batchId)) return;
    void this.update(video.batchId, video.status === 'completed' || video.status === 'failed' || video.status === 'cancelled');
  }

  /** Wait for the batches' pending updates (call after the queue has closed, before the database does). */
  async close(): Promise<void> {
    while (this.updates.size > 0) await Promise.all(this.updates.values());
  }

  private async checkFile(project: ProjectInput, csvPath: string): Promise<{ check: BatchCheck; csv: CsvTable }> {
    const csv = parseCsv(await readCsvFile(csvPath));
    const check = checkBatch(project, csv, csvPath);
    // The avatar, voices and template are the same for every row: a missing one is one problem, not one per row.
    if (check.issues.length === 0 && csv.rows.length > 0) {
      const sample: Project = projectSchema.parse(fillProject(project, rowValues(csv.columns, csv.rows[0].values)));
      try {
        await checkProject(sample, (id) => resolveAvatar(this.db, id), (id) => resolveVoice(id, this.db), {
          lookupTemplate: (id) => resolveTemplate(this.db, id),
          account: await readAccount(this.db),
        });
      } catch (error) {
        const code = errorCode(error);
        if (code !== ErrorCode.BadInput && code !== ErrorCode.NotFound) throw error;
        check.issues.push({ row: null, message: toErrorData(error).message });
      }
    }
    return { check, csv };
  }

  /** Bring a batch's summary, results file and waiters up to date, in order with its other updates; `rowEnded` when a row's render just ended. */
  private update(batchId: string, rowEnded = false): Promise<void> {
    const next = (this.updates.get(batchId) ?? Promise.resolve())
      .then(() => this.refresh(batchId, rowEnded))
      .catch((error: unknown) => console.error(`Mouthpiece: batch ${batchId} could not be updated`, error));
    this.updates.set(batchId, next);
    void next.finally(() => {
      if (this.updates.get(batchId) === next) this.updates.delete(batchId);
    });
    return next;
  }

  private async refresh(batchId: string, rowEnded: boolean): Promise<void> {
    if (this.starting.has(batchId)) return;
    const batch = await this.db.selectFrom('batches').selectAll().where('id', '=', batchId).executeTakeFirst();
    if (!batch) return;
    const videos = await batchVideos(this.db, batchId);
    const summary = summarise(batch, videos);
    const previous = this.known.get(batchId);
    this.known.set(batchId, summary.status);
    await writeResults(batch, videos);
    this.events.changed(summary);
    // The batch ends when its last row does: seen rendering here, or (a row of a batch this
    // process never saw start, cancelled after a restart) with the row's end itself.
    const ended = summary.status !== 'rendering' && (previous === 'rendering' || (previous === undefined && rowEnded));
    if (!ended) return;
    await recordEvent(this.db, 'batch.finished', batchId, {
      status: summary.status,
      rows: summary.rows,
      completed: summary.completed,
      failed: summary.failed,
      cancelled: summary.cancelled,
    });
    await rm(sharedDirOf(this.home, batchId), { recursive: true, force: true });
    for (const resolve of this.waiters.get(batchId) ?? []) resolve(summary);
    this.waiters.delete(batchId);
  }
}

async function findBatch(db: Db, id: string): Promise<BatchesTable> {
  const row = await db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError(ErrorCode.NotFound, `batch ${id} does not exist; list the batches to see their ids`);
  return row;
}

function batchVideos(db: Db, batchId: string): Promise<VideosTable[]> {
  return db.selectFrom('videos').selectAll().where('batch_id', '=', batchId).orderBy('batch_row').execute();
}

/** A row never queued (its batch failed to start) will not render: it counts as cancelled. */
const rowStatus = (v: VideosTable) => (v.status === 'draft' ? 'cancelled' : v.status);

function summarise(batch: BatchesTable, videos: VideosTable[]): BatchSummary {
  const count = (status: string) => videos.filter((v) => rowStatus(v) === status).length;
  const [completed, failed, cancelled] = [count('completed'), count('failed'), count('cancelled')];
  const unfinished = videos.filter((v) => v.status === 'queued' || v.status === 'rendering');
  const status: BatchStatus = unfinished.length > 0 ? 'rendering' : completed === videos.length ? 'completed' : failed > 0 ? 'failed' : 'cancelled';
  const made = completed + failed + cancelled + unfinished.reduce((sum, v) => sum + v.progress, 0);
  return {
    id: batch.id,
    title: batch.title,
    status,
    rows: videos.length,
    completed,
    failed,
    cancelled,
    progress: videos.length ? Math.min(1, made / videos.length) : 1,
    outDir: batch.out_dir,
    resultsPath: batch.results_path,
    videoIds: videos.map((v) => v.id),
    createdAt: batch.created_at,
  };
}

/** The results CSV, replaced whole (a temporary file renamed) so whoever opens it sees one complete version. */
async function writeResults(batch: BatchesTable, videos: VideosTable[]): Promise<void> {
  const columns = JSON.parse(batch.columns_json) as string[];
  const rows = JSON.parse(batch.rows_json) as StoredRow[];
  const own = (name: string) => (columns.includes(name) ? `batch_${name}` : name);
  const byRow = new Map(videos.map((v) => [v.batch_row, v]));
  const lines = [[own('row'), ...columns, ...RESULT_COLUMNS.map(own)]];
  for (const { row, values } of rows) {
    const video = byRow.get(row);
    const status = video ? rowStatus(video) : 'cancelled';
    const completed = status === 'completed';
    lines.push([
      String(row),
      ...columns.map((_, i) => values[i] ?? ''),
      status,
      completed ? (video?.output_path ?? '') : '',
      completed && video?.duration_seconds != null ? video.duration_seconds.toFixed(2) : '',
      status === 'failed' ? (video?.error ?? 'failed') : '',
    ]);
  }
  const temp = `${batch.results_path}.${process.pid}.tmp`;
  try {
    // In the CSV's own form, so the spreadsheet that wrote it opens the results the same way.
    await writeFile(temp, `${batch.csv_bom ? '\uFEFF' : ''}${formatCsv(lines, batch.csv_delimiter)}`);
    await rename(temp, batch.results_path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The output folder, made if needed; refused when it is a file or cannot be written. */
async function prepareOutDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new AppError(ErrorCode.BadInput, `output folder ${dir} is a file; choose a folder for the batch's videos`);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch {
    throw new AppError(ErrorCode.BadInput, `output folder ${dir} cannot be created or written; choose another place for the batch's videos`);
  }
}

const stripVariables = (text: string) => text.replace(/\{\{[^}]*\}\}/g, ' ');

/** A file-name part: accents dropped, lower case, letters and digits joined by dashes. */
function slug(text: string, fallback: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)
    .replace(/-$/, '');
  return s || fallback;
}
