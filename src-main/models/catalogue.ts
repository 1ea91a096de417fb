import { existsSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { MODEL_KINDS, MODEL_KIND_LABELS, type ModelKind } from '../../src-shared/model';
import type { Db } from '../db/connection';
import { defaultHome, resourcesDir } from '../paths';
import { fetchResumable, sha256File, verifyAndPlace, type FetchOptions } from './download';
import { countUseOfDir, findActiveModel, findModelRow, mainFile, type ModelRow } from './repository';

export { sha256File };

/** A file that comes with a model (a Piper voice's .onnx.json). */
export interface CompanionFile {
  file: string;
  url: string;
  bytes: number;
  sha256: string;
}

export interface CatalogueModel {
  id: string;
  name: string;
  kind: ModelKind;
  version: string;
  /** Voices: the espeak-ng language they speak. */
  language?: string;
  file: string;
  url: string;
  bytes: number;
  sha256: string;
  companions?: CompanionFile[];
  licence: string;
  /** Whether the licence (weights and training data) allows commercial use. */
  commercialUse: boolean;
}

export interface InstallOptions {
  home?: string;
  signal?: AbortSignal;
  onProgress?: (receivedBytes: number, totalBytes: number) => void;
}

/** The catalogue model a kind falls back to when the registry has no active one. */
export const DEFAULT_MODELS: Partial<Record<ModelKind, string>> = {
  'face-detection': 'yunet',
  'face-landmarks': 'mediapipe-face-landmark',
  segmentation: 'sinet-portrait',
  'voice-activity': 'silero-vad',
};

let catalogue: CatalogueModel[] | undefined;

/** The downloadable models the app knows, from resources/models/catalogue.json. */
export function listCatalogue(): CatalogueModel[] {
  catalogue ??= (JSON.parse(readFileSync(join(resourcesDir(), 'models', 'catalogue.json'), 'utf8')) as { models: CatalogueModel[] }).models;
  return catalogue;
}

export function findCatalogueModel(id: string): CatalogueModel {
  const model = listCatalogue().find((m) => m.id === id);
  if (!model) throw new AppError(ErrorCode.NotFound, `model "${id}" is not in the catalogue`);
  return model;
}

/** Where downloaded models live: <home>/models. */
export function modelsDir(home = defaultHome()): string {
  return join(home, 'models');
}

async function* onnxFiles(dir: string, depth = 0): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < 3) yield* onnxFiles(path, depth + 1);
    else if (entry.isFile() && entry.name.endsWith('.onnx')) yield path;
  }
}

async function matches(path: string, model: CatalogueModel): Promise<boolean> {
  return (await stat(path)).size === model.bytes && (await sha256File(path)) === model.sha256;
}

/**
 * A catalogue model's file on this machine, matched by size and sha256: first the app's models
 * folder (one known path, so the cheap check goes first), then the folder MOUTHPIECE_MODELS names
 * (offline installs and tests; whatever the file is called there).
 */
export async function findLocalModel(model: CatalogueModel, home = defaultHome()): Promise<string | undefined> {
  // Where installModel puts it, then where the registry does.
  for (const installed of [join(modelsDir(home), model.file), join(modelsDir(home), model.id, model.file)]) {
    if (existsSync(installed) && (await matches(installed, model))) return installed;
  }
  const offline = process.env.MOUTHPIECE_MODELS;
  if (!offline) return undefined;
  for await (const path of onnxFiles(resolve(offline))) {
    if (await matches(path, model)) return path;
  }
  return undefined;
}

const useLocalCopy = (model: CatalogueModel) => `set MOUTHPIECE_MODELS to a folder that has ${model.file} (sha256 ${model.sha256})`;
const offlineHint = (model: CatalogueModel) => `connect to the internet and try again, or ${useLocalCopy(model)}`;

const cancelled = (model: CatalogueModel) => new AppError(ErrorCode.Cancelled, `Download of ${model.name} cancelled.`);

/** How a catalogue model's files are fetched: names and hints for the messages. */
export function fetchOptions(model: CatalogueModel): Pick<FetchOptions, 'label' | 'offlineHint' | 'localHint'> {
  return { label: model.name, offlineHint: offlineHint(model), localHint: useLocalCopy(model) };
}

/** Stream model.url into `target.partial` (resuming a dropped connection), check it, then move it to `target`. */
async function download(model: CatalogueModel, target: string, signal: AbortSignal, report: (received: number, total: number) => void): Promise<string> {
  const file = { url: model.url, target, bytes: model.bytes, sha256: model.sha256 };
  await fetchResumable(file, { ...fetchOptions(model), signal, onProgress: report });
  return verifyAndPlace(file, fetchOptions(model));
}

interface Download {
  done: Promise<string>;
  controller: AbortController;
  /** One entry per caller waiting on it; the download is aborted when the last one gives up. */
  listeners: Set<(received: number, total: number) => void>;
}

const downloads = new Map<string, Download>();

/**
 * Download a catalogue model into <home>/models, streaming to a .partial file that is checked
 * (size, sha256) before it takes the model's name. Concurrent calls for the same file share one
 * download; aborting one caller's signal stops the download only when no other caller waits.
 */
export function installModel(model: CatalogueModel, options: InstallOptions = {}): Promise<string> {
  const target = join(modelsDir(options.home), model.file);
  if (options.signal?.aborted) return Promise.reject(cancelled(model));
  let current = downloads.get(target);
  if (!current) {
    const controller = new AbortController();
    const listeners: Download['listeners'] = new Set();
    const done = download(model, target, controller.signal, (received, total) => {
      for (const listener of listeners) listener(received, total);
    }).finally(() => {
      if (downloads.get(target)?.done === done) downloads.delete(target);
    });
    current = { done, controller, listeners };
    downloads.set(target, current);
  }
  return follow(current, target, model, options);
}

function follow(current: Download, target: string, model: CatalogueModel, { signal, onProgress }: InstallOptions): Promise<string> {
  const listener = (received: number, total: number) => onProgress?.(received, total);
  current.listeners.add(listener);
  return new Promise<string>((done, fail) => {
    const onAbort = () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0) return fail(cancelled(model));
      // The last caller left: stop the download, and answer once its partial file is gone.
      if (downloads.get(target) === current) downloads.delete(target);
      current.controller.abort();
      current.done.then(
        () => fail(cancelled(model)),
        () => fail(cancelled(model)),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    current.done.then(
      (path) => {
        signal?.removeEventListener('abort', onAbort);
        current.listeners.delete(listener);
        done(path);
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        current.listeners.delete(listener);
        fail(error);
      },
    );
  });
}

let registry: { db: Db; home: string } | undefined;
let revision = 0;

/**
 * Let resolveModel consult the model registry in `db` (the app and the models CLI do this once
 * they have opened the database). Answers a function that detaches it again.
 */
export function useModelRegistry(db: Db, home: string): () => void {
  const attached = { db, home };
  registry = attached;
  revision++;
  return () => {
    if (registry === attached) registry = undefined;
    revision++;
  };
}

/**
 * A number that changes whenever what resolveModel answers may have changed (a model activated,
 * removed or installed): holders of open sessions compare it to know when to resolve again.
 */
export function modelsRevision(): number {
  return revision;
}

export function noteModelsChanged(): void {
  revision++;
}

let resolved = new Map<string, string>();
let reportUse: ((path: string) => void) | undefined;

/**
 * The active model of each kind that has one, as kind -> path: main sends this with a render to
 * its worker thread, which has no database, for useResolvedModels there.
 */
export async function resolvedModelPaths(): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  if (!registry) return paths;
  for (const kind of MODEL_KINDS) {
    const active = await findActiveModel(registry.db, kind);
    if (active) paths[kind] = mainFile(active);
  }
  return paths;
}

/**
 * In a thread without the database (the render worker): resolveModel answers these paths (from
 * resolvedModelPaths in main) for their kinds, and a model opened for work is reported to
 * `onUse`, for main to count with countModelUse.
 */
export function useResolvedModels(paths: Record<string, string>, onUse?: (path: string) => void): void {
  resolved = new Map(Object.entries(paths));
  reportUse = onUse;
  revision++;
}

const isKind = (value: string): value is ModelKind => (MODEL_KINDS as readonly string[]).includes(value);

/**
 * The path of a model, ready to open. A kind ("face-detection") gives the active installed model
 * of that kind in the registry, else the kind's default catalogue model; an id gives that model
 * from the registry, else from the catalogue. A catalogue model is found on this machine or
 * downloaded.
 */
export async function resolveModel(kindOrId: string, options: InstallOptions = {}): Promise<string> {
  const given = resolved.get(kindOrId);
  if (given) return given;
  const attached = registry;
  const home = options.home ?? attached?.home;
  let id = kindOrId;
  if (isKind(kindOrId)) {
    const active = attached && (await findActiveModel(attached.db, kindOrId));
    if (active) return usable(active);
    const fallback = DEFAULT_MODELS[kindOrId];
    if (!fallback) {
      throw new AppError(
        ErrorCode.NotFound,
        `no ${MODEL_KIND_LABELS[kindOrId]} model is active; download or import one on the Models screen (npm run models -- list), then activate it`,
      );
    }
    id = fallback;
  }
  if (attached) {
    const row = await findModelRow(attached.db, id);
    if (row?.status === 'installed') return usable(row);
  }
  const model = findCatalogueModel(id);
  return (await findLocalModel(model, home)) ?? installModel(model, { ...options, home });
}

function usable(row: ModelRow): string {
  const path = mainFile(row);
  if (!existsSync(path)) {
    throw new AppError(
      ErrorCode.Io,
      `${row.name}: its file ${path} is gone; download or import the model again on the Models screen, or activate another ${MODEL_KIND_LABELS[row.kind]}`,
    );
  }
  return path;
}

/** A model at `path` was opened for work: the registry model there counts one more use. */
export async function countModelUse(path: string): Promise<void> {
  if (registry) await countUseOfDir(registry.db, dirname(path));
  else reportUse?.(path);
}
