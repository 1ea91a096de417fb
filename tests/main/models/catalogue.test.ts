import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { findCatalogueModel, findLocalModel, installModel, listCatalogue, modelsDir, resolveModel, type CatalogueModel } from '../../../src-main/models/catalogue';
import { SHARED_DIR, sharedFile } from '../../support/shared';

const yunetBytes = readFileSync(sharedFile('models/yunet/face_detection_yunet_2023mar.onnx'));

interface ModelServer {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that answers every request with `respond`. */
async function serve(respond: (res: ServerResponse) => void): Promise<ModelServer> {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    respond(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/face_detection_yunet_2023mar.onnx`,
    requests: () => requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const sendBytes = (bytes: Buffer) => (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
  res.end(bytes);
};

const pointedAt = (url: string): CatalogueModel => ({ ...findCatalogueModel('yunet'), url });

let home: string;
let server: ModelServer | undefined;
const savedModelsEnv = process.env.MOUTHPIECE_MODELS;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'mouthpiece-models-'));
  delete process.env.MOUTHPIECE_MODELS;
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(home, { recursive: true, force: true });
  if (savedModelsEnv === undefined) delete process.env.MOUTHPIECE_MODELS;
  else process.env.MOUTHPIECE_MODELS = savedModelsEnv;
});

describe('installModel', () => {
  it('downloads a model with rising progress ending at its size, and afterwards finds it locally without another request', async () => {
    server = await serve(sendBytes(yunetBytes));
    const model = pointedAt(server.url);
    const progress: [number, number][] = [];

    const path = await installModel(model, { home, onProgress: (received, total) => progress.push([received, total]) });

    expect(path).toBe(join(modelsDir(home), model.file));
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(model.sha256);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every(([, total]) => total === yunetBytes.length)).toBe(true);
    expect(progress.every(([received], i) => i === 0 || received > progress[i - 1][0])).toBe(true);
    expect(progress.at(-1)).toEqual([yunetBytes.length, yunetBytes.length]);
    expect(await readdir(modelsDir(home))).toEqual([model.file]);

    expect(await findLocalModel(model, home)).toBe(path);
    // The catalogue's own entry points at GitHub: resolving it must not go there (or here) again.
    expect(await resolveModel('yunet', { home })).toBe(path);
    expect(server.requests()).toBe(1);
  });

  it('downloads once when two callers ask for the same model at the same time', async () => {
    server = await serve(sendBytes(yunetBytes));
    const model = pointedAt(server.url);

    const [first, second] = await Promise.all([installModel(model, { home }), installModel(model, { home })]);

    expect(first).toBe(second);
    expect(server.requests()).toBe(1);
  });

  it('refuses a file whose sha256 is wrong, naming the model and URL, and leaves nothing in the models folder', async () => {
    const corrupt = Buffer.from(yunetBytes);
    corrupt[1000] ^= 0xff;
    server = await serve(sendBytes(corrupt));
    const model = pointedAt(server.url);

    const error = await installModel(model, { home }).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('IO_FAILED');
    const message = (error as Error).message;
    expect(message).toContain(model.name);
    expect(message).toContain(model.url);
    expect(message).toContain('sha256');
    expect(message).toContain('MOUTHPIECE_MODELS');
    expect(await readdir(modelsDir(home))).toEqual([]);
  });

  it.each([
    ['announces its length', sendBytes(yunetBytes.subarray(0, 100_000))],
    [
      'is sent without a length',
      (res: ServerResponse) => {
        // Writing before end() makes node:http send it chunked, with no content-length.
        res.write(yunetBytes);
        res.end(yunetBytes);
      },
    ],
  ])('refuses a file of the wrong size that %s and leaves nothing in the models folder', async (_, respond) => {
    server = await serve(respond);
    const model = pointedAt(server.url);

    const error = await installModel(model, { home }).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('IO_FAILED');
    expect((error as Error).message).toContain(model.url);
    expect((error as Error).message).toContain(`the ${model.bytes} bytes the catalogue lists`);
    expect(await readdir(modelsDir(home))).toEqual([]);
  });

  it('cancelling mid-download deletes the partial file and throws CANCELLED', async () => {
    // Send the first 64 KiB, then hold the connection open as a slow server would.
    server = await serve((res) => {
      res.writeHead(200, { 'content-length': yunetBytes.length });
      res.write(yunetBytes.subarray(0, 65_536));
    });
    const model = pointedAt(server.url);
    const controller = new AbortController();
    let sawPartial = false;

    const error = await installModel(model, {
      home,
      signal: controller.signal,
      onProgress: () => {
        sawPartial ||= existsSync(join(modelsDir(home), `${model.file}.partial`));
        controller.abort();
      },
    }).catch((e: unknown) => e);

    expect(sawPartial).toBe(true);
    expect(errorCode(error)).toBe('CANCELLED');
    expect(await readdir(modelsDir(home))).toEqual([]);
  });

  it('an unreachable server gives an error that names the model and URL and says to connect or set MOUTHPIECE_MODELS', async () => {
    const closed = await serve(() => {});
    await closed.close();
    const model = pointedAt(closed.url);

    const error = await installModel(model, { home }).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('IO_FAILED');
    const message = (error as Error).message;
    expect(message).toContain(model.name);
    expect(message).toContain(model.url);
    expect(message).toMatch(/connect to the internet/);
    expect(message).toContain('MOUTHPIECE_MODELS');
    expect(existsSync(join(modelsDir(home), `${model.file}.partial`))).toBe(false);
  });
});

describe('findLocalModel', () => {
  it('finds every catalogue model the shared folder holds by sha256 in the folder MOUTHPIECE_MODELS names', async () => {
    const sharedModels = resolve(SHARED_DIR, 'models');
    process.env.MOUTHPIECE_MODELS = sharedModels;
    // Real Piper voices (60 MB each) are not in the shared folder; everything else is.
    const local = listCatalogue().filter((m) => m.kind !== 'voice');
    expect(local.map((m) => m.id)).toEqual(['yunet', 'pfld68', 'mediapipe-face-landmark', 'silero-vad', 'sinet-portrait']);

    for (const model of local) {
      const path = await findLocalModel(model, home);
      expect(path, model.id).toBeDefined();
      expect(path!.startsWith(sharedModels)).toBe(true);
      expect(createHash('sha256').update(readFileSync(path!)).digest('hex')).toBe(model.sha256);
      expect(await resolveModel(model.id, { home })).toBe(path);
    }
  });

  it('finds a model the registry downloaded into its own folder', async () => {
    const model = findCatalogueModel('yunet');
    const dir = join(modelsDir(home), model.id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, model.file), yunetBytes);

    expect(await findLocalModel(model, home)).toBe(join(dir, model.file));
  });

  it('finds nothing when the model is neither installed nor in MOUTHPIECE_MODELS', async () => {
    expect(await findLocalModel(findCatalogueModel('pfld68'), home)).toBeUndefined();
  });
});

describe('the catalogue', () => {
  it('gives every entry a kind, a version, a licence with its commercial use, and a real sha256 for each file', () => {
    for (const model of listCatalogue()) {
      expect(['voice', 'face-detection', 'face-landmarks', 'lip-sync', 'segmentation', 'voice-activity'], model.id).toContain(model.kind);
      expect(model.version, model.id).toBeTruthy();
      expect(typeof model.commercialUse, model.id).toBe('boolean');
      for (const file of [model, ...(model.companions ?? [])]) {
        expect(file.sha256, model.id).toMatch(/^[0-9a-f]{64}$/);
        expect(file.bytes, model.id).toBeGreaterThan(0);
        expect(file.url, model.id).toMatch(/^https:\/\//);
      }
    }
  });

  it('lists Piper voices with their .onnx.json and language, none of them allowed for commercial use unchecked', () => {
    const voices = listCatalogue().filter((m) => m.kind === 'voice');
    expect(voices.length).toBeGreaterThanOrEqual(2);
    for (const voice of voices) {
      expect(voice.language).toBe('en-us');
      expect(voice.companions?.map((c) => c.file)).toEqual([`${voice.file}.json`]);
      expect(voice.url).toContain('huggingface.co/rhasspy/piper-voices/');
      expect(voice.commercialUse).toBe(false);
    }
  });
});
