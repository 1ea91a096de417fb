import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError, ErrorCode, errorCode } from '../../src-shared/errors';
import { defaultHome, resourcesDir } from '../paths';

export interface CatalogueModel {
  id: string;
  name: string;
  purpose: string;
  file: string;
  url: string;
  bytes: number;
  sha256: string;
  licence: string;
}

export interface InstallOptions {
  home?: string;
  signal?: AbortSignal;
  onProgress?: (receivedBytes: number, totalBytes: number) => void;
}

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

export function sha256File(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });
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
  const installed = join(modelsDir(home), model.file);
  if (existsSync(installed) && (await matches(installed, model))) return installed;
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

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** Stream model.url into `target.partial`, check it, then move it to `target`. */
async function download(model: CatalogueModel, target: string, signal: AbortSignal, report: (received: number, total: number) => void): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const fail = (what: string) =>
    new AppError(
      ErrorCode.Io,
      `${model.name}: the file downloaded from ${model.url} ${what}; it was deleted. Try again later; if it keeps happening the file at that address has changed, so ${useLocalCopy(model)}`,
    );
  let response: Response;
  try {
    response = await fetch(model.url, { signal });
  } catch (error) {
    if (signal.aborted) throw cancelled(model);
    throw new AppError(ErrorCode.Io, `${model.name}: cannot download ${model.url} (${causeOf(error)}); ${offlineHint(model)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new AppError(ErrorCode.Io, `${model.name}: ${model.url} answered HTTP ${response.status}; try again later, or ${useLocalCopy(model)}`);
  }
  // undici decodes gzip/br bodies, so content-length only counts file bytes when there is no encoding.
  const announced = response.headers.get('content-encoding') ? NaN : Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(announced) && announced !== model.bytes) {
    await response.body.cancel();
    throw fail(`would be ${announced} bytes, not the ${model.bytes} bytes the catalogue lists`);
  }

  const file = await open(partial, 'w');
  try {
    const hash = createHash('sha256');
    let received = 0;
    try {
      for await (const chunk of response.body) {
        received += chunk.byteLength;
        // Stop a server that sends more than the model's size before it fills the disk.
        if (received > model.bytes) throw fail(`is larger than the ${model.bytes} bytes the catalogue lists`);
        hash.update(chunk);
        await file.write(chunk);
        report(received, model.bytes);
      }
    } catch (error) {
      if (signal.aborted) throw cancelled(model);
      if (errorCode(error)) throw error;
      throw new AppError(ErrorCode.Io, `${model.name}: the download from ${model.url} broke off after ${received} bytes (${causeOf(error)}); ${offlineHint(model)}`);
    } finally {
      await file.close();
    }
    if (received !== model.bytes) throw fail(`is ${received} bytes, not the ${model.bytes} bytes the catalogue lists`);
    const sha256 = hash.digest('hex');
    if (sha256 !== model.sha256) throw fail(`has sha256 ${sha256}, not the ${model.sha256} the catalogue lists`);
    await rename(partial, target);
    return target;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
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

/** The path of a catalogue model, ready to open: found on this machine, else downloaded. */
export async function resolveModel(id: string, options: InstallOptions = {}): Promise<string> {
  const model = findCatalogueModel(id);
  return (await findLocalModel(model, options.home)) ?? installModel(model, options);
}
