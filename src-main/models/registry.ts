import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError, ErrorCode, isCancelled, toErrorData } from '../../src-shared/errors';
import {
  MODEL_KIND_LABELS,
  modelImportSchema,
  modelSearchSchema,
  type CatalogueEntry,
  type ModelImport,
  type ModelKind,
  type ModelProgress,
  type ModelProvider,
  type ModelSearch,
  type ModelSearchPage,
  type ModelStatistics,
  type ModelSummary,
  type ProviderLatency,
} from '../../src-shared/model';
import type { Db } from '../db/connection';
import { createSession, describeProviders } from '../inference/session';
import { DEFAULT_MODELS, fetchOptions, findCatalogueModel, findLocalModel, listCatalogue, modelsDir, noteModelsChanged, type CatalogueModel } from './catalogue';
import { fetchResumable, partialPath, sha256File, verifyAndPlace, type RemoteFile } from './download';
import {
  deleteModelRow,
  filesOf,
  findActiveModel,
  findModelRow,
  insertModelRow,
  latencyOf,
  listModelRows,
  mainFile,
  modelStatistics,
  recordModelEvent,
  searchModelRows,
  setActive,
  toModelSummary,
  updateModelRow,
  type ModelRow,
} from './repository';
import { checkSignature, matchingKinds, openOnnx, sampleInputs, SIGNATURES } from './signature';

export { modelStatistics };

export async function listModels(db: Db): Promise<ModelSummary[]> {
  return (await listModelRows(db)).map(toModelSummary);
}

/** Search the registry; the input is checked as the IPC contract checks it (limit 1-200, default 50). */
export function searchModels(db: Db, input: ModelSearch = {}): Promise<ModelSearchPage> {
  const search = modelSearchSchema.parse(input);
  return searchModelRows(db, search);
}

export function getModelStatistics(db: Db): Promise<ModelStatistics> {
  return modelStatistics(db);
}

const totalBytes = (model: CatalogueModel) => model.bytes + (model.companions ?? []).reduce((n, c) => n + c.bytes, 0);

/** The downloadable models, with their registry status. */
export async function listCatalogueEntries(db: Db, kind?: ModelKind): Promise<CatalogueEntry[]> {
  const rows = new Map((await db.selectFrom('models').select(['id', 'status']).execute()).map((r) => [r.id, r.status]));
  return listCatalogue()
    .filter((m) => !kind || m.kind === kind)
    .map((m) => ({
      id: m.id,
      name: m.name,
      kind: m.kind,
      version: m.version,
      language: m.language ?? null,
      bytes: totalBytes(m),
      licence: m.licence,
      commercialUse: m.commercialUse,
      url: m.url,
      status: rows.get(m.id) ?? null,
    }));
}

async function requireModel(db: Db, id: string): Promise<ModelRow> {
  const row = await findModelRow(db, id);
  if (!row) throw new AppError(ErrorCode.NotFound, `model "${id}" is not in the registry; see the installed models with: npm run models -- list`);
  return row;
}

async function requireInstalled(db: Db, id: string, verb: string): Promise<ModelRow> {
  const row = await requireModel(db, id);
  if (row.status !== 'installed') {
    const why = row.status === 'failed' ? `its download failed (${row.error ?? 'no reason recorded'})` : `it is still ${row.status}`;
    throw new AppError(ErrorCode.IllegalTransition, `${row.name} cannot be ${verb}: ${why}; only an installed model can be`);
  }
  if (!existsSync(mainFile(row))) {
    throw new AppError(ErrorCode.Io, `${row.name}: its file ${mainFile(row)} is gone; remove the model and download or import it again`);
  }
  return row;
}

/**
 * Make a model the active one of its kind: renders and preparations use it from then on. A model
 * whose licence does not allow commercial use needs `acknowledgeLicence`, or it is refused
 * (FORBIDDEN) saying why.
 */
export async function activateModel(db: Db, id: string, options: { acknowledgeLicence?: boolean } = {}): Promise<ModelSummary> {
  const row = await requireInstalled(db, id, 'activated');
  if (row.commercial_use !== 1 && !options.acknowledgeLicence) {
    throw new AppError(
      ErrorCode.Forbidden,
      `${row.name}: its licence (${row.licence}) does not allow commercial use, so videos made with it may be used only as that licence allows. ` +
        'Acknowledge this to activate it (on the command line: --acknowledge-licence).',
    );
  }
  await setActive(db, row.id, row.kind);
  await recordModelEvent(db, 'model.activated', row.id, { acknowledgedLicence: row.commercial_use !== 1 });
  noteModelsChanged();
  return toModelSummary((await findModelRow(db, row.id))!);
}

/** Installed models of a kind (or all), fastest measured first (unmeasured last), then most used. */
export async function topModels(db: Db, kind?: ModelKind, limit = 10): Promise<ModelSummary[]> {
  let query = db.selectFrom('models').selectAll().where('status', '=', 'installed');
  if (kind) query = query.where('kind', '=', kind);
  const ranked = (await query.execute()).map(toModelSummary).sort((a, b) => {
    const ms = (m: ModelSummary) => m.bestMs ?? Number.POSITIVE_INFINITY;
    return ms(a) - ms(b) || b.usageCount - a.usageCount || a.name.localeCompare(b.name);
  });
  return ranked.slice(0, limit);
}

export interface MeasureOptions {
  /** Default: every provider this machine's onnxruntime has. */
  providers?: ModelProvider[];
  /** Timed runs per provider after one warm-up run. */
  runs?: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Run an installed model on each execution provider with inputs of its real shape (noise of the
 * right type, open dimensions at the size the app feeds), and store the median latency per
 * provider, or why it could not run there.
 */
export async function measureModel(db: Db, id: string, options: MeasureOptions = {}): Promise<ModelSummary> {
  const row = await requireInstalled(db, id, 'measured');
  const providers = options.providers ?? describeProviders().available;
  const runs = Math.max(1, options.runs ?? 5);
  const latency = latencyOf(row);
  for (const provider of providers) {
    const at = new Date().toISOString();
    let opened;
    try {
      opened = await createSession(mainFile(row), [provider]);
    } catch (error) {
      latency[provider] = { error: toErrorData(error).message, at };
      continue;
    }
    try {
      const feeds = sampleInputs(row.kind, opened.session);
      await opened.session.run(feeds);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        await opened.session.run(feeds);
        times.push(performance.now() - start);
      }
      latency[provider] = { ms: Math.round(median(times) * 1000) / 1000, runs, at } satisfies ProviderLatency;
    } catch (error) {
      latency[provider] = { error: toErrorData(error).message, at };
    } finally {
      await opened.session.release();
    }
  }
  return toModelSummary(await updateModelRow(db, row.id, { latency_json: JSON.stringify(latency) }));
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/\.onnx$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48) || 'model';

interface PiperConfig {
  language: string;
  licence: string | null;
  name: string | null;
}

/** A Piper voice's .onnx.json beside it: there, JSON, with an espeak voice and a phoneme map. */
async function readPiperConfig(modelPath: string): Promise<PiperConfig> {
  const configPath = `${modelPath}.json`;
  const config = basename(configPath);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch {
    throw new AppError(
      ErrorCode.BadInput,
      `${basename(modelPath)}: a Piper voice needs its config ${config} beside it, and there is none; put the .onnx.json that came with the voice in the same folder and import again`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new AppError(ErrorCode.BadInput, `${config}: is not valid JSON (${(error as Error).message}); download the voice's .onnx.json again`);
  }
  const espeak = (json.espeak as { voice?: unknown } | undefined)?.voice;
  const code = (json.language as { code?: unknown } | undefined)?.code;
  const language = typeof espeak === 'string' ? espeak : typeof code === 'string' ? code.toLowerCase().replace('_', '-') : undefined;
  if (!language) throw new AppError(ErrorCode.BadInput, `${config}: names no espeak voice (espeak.voice); it is not the config of a Piper voice`);
  if (typeof json.phoneme_id_map !== 'object' || json.phoneme_id_map === null) {
    throw new AppError(ErrorCode.BadInput, `${config}: has no phoneme_id_map; it is not the config of a Piper voice`);
  }
  const dataset = json.dataset;
  const licence = [json.license, json.licence, (dataset as { license?: unknown } | undefined)?.license].find((v) => typeof v === 'string') as string | undefined;
  return { language, licence: licence ?? null, name: typeof dataset === 'string' ? dataset : null };
}

/** Copy a file next to its final name, then rename it there: the final name never holds half a file. */
async function copyInto(source: string, target: string): Promise<void> {
  await copyFile(source, partialPath(target));
  await rename(partialPath(target), target);
}

/**
 * Import an ONNX model from a file: it must open in onnxruntime, fit its kind's signature (the
 * kind is found from it when not given), and have its companion files (a Piper voice's
 * .onnx.json). Its files are copied into <home>/models/<id>/. The same file imported twice
 * answers the model already there.
 */
export async function importModel(db: Db, home: string, input: ModelImport): Promise<ModelSummary> {
  const { path, kind: asked, name, licence, commercialUse } = modelImportSchema.parse(input);
  const source = resolve(path);
  try {
    const session = await openOnnx(source);
    let kind: ModelKind;
    try {
      if (asked) {
        checkSignature(asked, session, source);
        kind = asked;
      } else {
        const kinds = matchingKinds(session);
        if (kinds.length === 0) {
          const expected = Object.entries(SIGNATURES)
            .map(([k, s]) => `${MODEL_KIND_LABELS[k as ModelKind]}: ${s}`)
            .join('; ');
          throw new AppError(
            ErrorCode.BadInput,
            `${basename(source)}: its inputs and outputs fit none of the kinds of model the app uses (${expected}); choose another model, or name its kind to see what differs`,
          );
        }
        kind = kinds[0]!;
      }
    } finally {
      await session.release();
    }
    const voice = kind === 'voice' ? await readPiperConfig(source) : undefined;
    const sources = [source, ...(voice ? [`${source}.json`] : [])];
    const sha256 = await sha256File(source);

    const same = await db.selectFrom('models').selectAll().where('sha256', '=', sha256).where('kind', '=', kind).where('status', '=', 'installed').executeTakeFirst();
    if (same && existsSync(mainFile(same))) return toModelSummary(same);

    const id = `${slug(name ?? basename(source))}-${sha256.slice(0, 8)}`;
    const dir = join(modelsDir(home), id);
    await mkdir(dir, { recursive: true });
    const files = [];
    try {
      for (const from of sources) {
        const target = join(dir, basename(from));
        await copyInto(from, target);
        files.push({ name: basename(from), bytes: (await stat(target)).size, sha256: from === source ? sha256 : await sha256File(target) });
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw new AppError(ErrorCode.Io, `${basename(source)}: could not be copied into ${dir} (${(error as Error).message}); check the free space and try again`);
    }
    await deleteModelRow(db, id);
    const row = await insertModelRow(db, {
      id,
      name: name ?? voice?.name ?? basename(source).replace(/\.onnx$/i, ''),
      kind,
      version: null,
      language: voice?.language ?? null,
      origin: 'import',
      dir,
      files_json: JSON.stringify(files),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      sha256,
      licence: licence ?? voice?.licence ?? 'not stated (imported from a file)',
      commercial_use: commercialUse ? 1 : 0,
      source_url: source,
      status: 'installed',
      error: null,
      received_bytes: 0,
      active: 0,
      usage_count: 0,
      latency_json: null,
    });
    await recordModelEvent(db, 'model.imported', id, { path: source });
    noteModelsChanged();
    return toModelSummary(row);
  } catch (error) {
    await recordModelEvent(db, 'model.import-failed', source, { error: toErrorData(error).message });
    throw error;
  }
}

/** Delete a model's files and its entry. An active model leaves its kind to the default. */
export async function removeModel(db: Db, home: string, id: string): Promise<{ modelId: string }> {
  const row = await requireModel(db, id);
  // Only ever delete inside the models folder, whatever the row says.
  const rel = relative(modelsDir(home), row.dir);
  if (rel && !rel.startsWith('..') && !isAbsolute(rel)) await rm(row.dir, { recursive: true, force: true });
  await deleteModelRow(db, id);
  await recordModelEvent(db, 'model.removed', id);
  noteModelsChanged();
  return { modelId: id };
}

export type MissingPurpose = 'photo-avatar' | 'cutout' | 'speech-timing';

/** What each job needs: a kind (its active model, else its default) or a specific catalogue model. */
const NEEDS: Record<MissingPurpose, ({ kind: ModelKind } | { id: string })[]> = {
  // The landmark model is named, not a kind: faces.ts decodes each model's points its own way.
  'photo-avatar': [{ kind: 'face-detection' }, { id: 'mediapipe-face-landmark' }],
  cutout: [{ kind: 'segmentation' }],
  'speech-timing': [{ kind: 'voice-activity' }],
};

/** Catalogue models a job needs that are neither installed, active nor found on this machine. */
export async function missingModels(db: Db, home: string, purpose: MissingPurpose): Promise<CatalogueEntry[]> {
  const missing: string[] = [];
  for (const need of NEEDS[purpose]) {
    if ('kind' in need && (await findActiveModel(db, need.kind))) continue;
    const id = 'kind' in need ? DEFAULT_MODELS[need.kind]! : need.id;
    if ((await findModelRow(db, id))?.status === 'installed') continue;
    if (await findLocalModel(findCatalogueModel(id), home)) continue;
    missing.push(id);
  }
  return (await listCatalogueEntries(db)).filter((entry) => missing.includes(entry.id));
}

export interface ModelDownloadEvents {
  progress?(progress: ModelProgress): void;
  changed?(model: ModelSummary): void;
  /** A cancelled download's entry is gone; the page drops it. */
  removed?(modelId: string): void;
}

export interface DownloadSettings {
  /** Requests per file when the connection drops (default 4). */
  attempts?: number;
  retryDelayMs?: number;
}

const PROGRESS_INTERVAL_MS = 150;

/**
 * Downloads from the catalogue as jobs: one AbortController per model, progress events, and a
 * status in the registry that goes downloading -> verifying -> installed, or failed with the
 * reason. A dropped connection is resumed with a Range request; a cancelled download's partial
 * files and entry are deleted; a failed one keeps its partial files so the next download continues.
 */
export class ModelDownloads {
  private readonly jobs = new Map<string, { controller: AbortController; begun: Promise<ModelSummary>; done: Promise<ModelSummary> }>();

  constructor(
    private readonly db: Db,
    private readonly home: string,
    private readonly events: ModelDownloadEvents = {},
    private readonly settings: DownloadSettings = {},
  ) {}

  /**
   * Downloads the last run of the app was closed during: failed, with their partial files kept to
   * continue from. The desktop app calls it once at start; not every process that opens the library
   * may (a CLI render would fail a download the running app is making).
   */
  async recover(): Promise<void> {
    await this.db
      .updateTable('models')
      .set({ status: 'failed', error: 'the app closed during the download; download it again to continue where it stopped', updated_at: new Date().toISOString() })
      .where('status', 'in', ['downloading', 'verifying'])
      .execute();
  }

  /**
   * Start (or resume) downloading a catalogue model (its id, or the entry itself). Answers at once
   * with the model in 'downloading'; `done` settles when it is installed, failed or cancelled. A
   * second call while it runs answers the same job.
   */
  async start(entry: string | CatalogueModel): Promise<{ model: ModelSummary; done: Promise<ModelSummary> }> {
    const model = typeof entry === 'string' ? findCatalogueModel(entry) : entry;
    let job = this.jobs.get(model.id);
    if (!job) {
      // Registered before the first await, so a second call at the same moment joins this job.
      const controller = new AbortController();
      const begun = this.begin(model);
      const done = begun.then(({ files }) => this.run(model, files, controller.signal)).finally(() => this.jobs.delete(model.id));
      // The caller may only look at `model`; a failure is recorded in the registry either way.
      done.catch(() => undefined);
      job = { controller, begun: begun.then(({ summary }) => summary), done };
      this.jobs.set(model.id, job);
    }
    return { model: await job.begun, done: job.done };
  }

  /** Check the model may be downloaded and record it as 'downloading'. */
  private async begin(model: CatalogueModel): Promise<{ summary: ModelSummary; files: RemoteFile[] }> {
    const existing = await findModelRow(this.db, model.id);
    if (existing?.status === 'installed') {
      throw new AppError(ErrorCode.IllegalTransition, `${model.name} is already installed; remove it first to download it again`);
    }
    const dir = join(modelsDir(this.home), model.id);
    const files: RemoteFile[] = [
      { url: model.url, target: join(dir, model.file), bytes: model.bytes, sha256: model.sha256 },
      ...(model.companions ?? []).map((c) => ({ url: c.url, target: join(dir, c.file), bytes: c.bytes, sha256: c.sha256 })),
    ];
    const fields = {
      name: model.name,
      kind: model.kind,
      version: model.version,
      language: model.language ?? null,
      origin: 'catalogue' as const,
      dir,
      files_json: JSON.stringify(files.map((f) => ({ name: basename(f.target), bytes: f.bytes, sha256: f.sha256 }))),
      bytes: totalBytes(model),
      sha256: model.sha256,
      licence: model.licence,
      commercial_use: model.commercialUse ? 1 : 0,
      source_url: model.url,
      status: 'downloading' as const,
      error: null,
    };
    const row = existing
      ? await updateModelRow(this.db, model.id, fields)
      : await insertModelRow(this.db, { id: model.id, ...fields, received_bytes: 0, active: 0, usage_count: 0, latency_json: null });
    const summary = toModelSummary(row);
    this.events.changed?.(summary);
    return { summary, files };
  }

  private async run(model: CatalogueModel, files: RemoteFile[], signal: AbortSignal): Promise<ModelSummary> {
    const total = totalBytes(model);
    let lastEvent = 0;
    const progress = (receivedBytes: number, status: ModelProgress['status'], force = false) => {
      const now = Date.now();
      if (!force && now - lastEvent < PROGRESS_INTERVAL_MS) return;
      lastEvent = now;
      this.events.progress?.({ modelId: model.id, receivedBytes, totalBytes: total, status });
    };
    const options = { ...fetchOptions(model), signal, attempts: this.settings.attempts, retryDelayMs: this.settings.retryDelayMs };
    const placed = new Set<string>();
    try {
      let before = 0;
      for (const file of files) {
        // A file an interrupted earlier run already checked and moved into place.
        if (existsSync(file.target) && (await sha256File(file.target)) === file.sha256) placed.add(file.target);
        else await fetchResumable(file, { ...options, onProgress: (received) => progress(before + received, 'downloading') });
        before += file.bytes;
      }
      this.changed(await updateModelRow(this.db, model.id, { status: 'verifying', received_bytes: total }));
      progress(total, 'verifying', true);
      for (const file of files) if (!placed.has(file.target)) await verifyAndPlace(file, options);
      const row = await updateModelRow(this.db, model.id, { status: 'installed', error: null, received_bytes: total });
      await recordModelEvent(this.db, 'model.downloaded', model.id, { bytes: total });
      noteModelsChanged();
      this.changed(row);
      return toModelSummary(row);
    } catch (error) {
      if (isCancelled(error)) {
        await rm(join(modelsDir(this.home), model.id), { recursive: true, force: true });
        await deleteModelRow(this.db, model.id);
        this.events.removed?.(model.id);
        throw error;
      }
      let kept = 0;
      for (const file of files) kept += (await stat(partialPath(file.target)).catch(() => undefined))?.size ?? 0;
      const message = toErrorData(error).message;
      const row = await updateModelRow(this.db, model.id, { status: 'failed', error: message, received_bytes: kept });
      await recordModelEvent(this.db, 'model.download-failed', model.id, { error: message });
      this.changed(row);
      throw error;
    }
  }

  private changed(row: ModelRow): void {
    this.events.changed?.(toModelSummary(row));
  }

  /**
   * Stop a download and delete its partial files and entry. A failed download that kept its
   * partial files is discarded the same way.
   */
  async cancel(id: string): Promise<{ modelId: string }> {
    const job = this.jobs.get(id);
    if (job) {
      job.controller.abort();
      await job.done.catch(() => undefined);
      return { modelId: id };
    }
    const row = await requireModel(this.db, id);
    if (row.status === 'installed') throw new AppError(ErrorCode.IllegalTransition, `${row.name} is installed, not downloading; remove it instead`);
    for (const file of filesOf(row)) await rm(partialPath(join(row.dir, file.name)), { force: true });
    await deleteModelRow(this.db, id);
    this.events.removed?.(id);
    return { modelId: id };
  }

  /** Whether a download of `id` is running in this process. */
  running(id: string): boolean {
    return this.jobs.has(id);
  }

  /** Stop every download (partial files deleted) and wait for them: the app is closing. */
  async close(): Promise<void> {
    const jobs = [...this.jobs.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.all(jobs.map((job) => job.done.catch(() => undefined)));
  }
}
