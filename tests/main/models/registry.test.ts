import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import type { ModelStatus } from '../../../src-shared/model';
import { detectFaces } from '../../../src-main/avatars/faces';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { decodeImage } from '../../../src-main/media/image';
import {
  countModelUse,
  findCatalogueModel,
  modelsDir,
  resolveModel,
  resolvedModelPaths,
  useModelRegistry,
  useResolvedModels,
  type CatalogueModel,
} from '../../../src-main/models/catalogue';
import {
  ModelDownloads,
  activateModel,
  getModelStatistics,
  importModel,
  listCatalogueEntries,
  listModels,
  measureModel,
  missingModels,
  removeModel,
  searchModels,
  topModels,
} from '../../../src-main/models/registry';
import { findModelRow } from '../../../src-main/models/repository';
import { SHARED_DIR, sharedFile } from '../../support/shared';
import { serveModels, type ModelServer } from './modelServer';

const YUNET = () => sharedFile('models/yunet/face_detection_yunet_2023mar.onnx');
const YUNET_DYNAMIC = () => sharedFile('models/yunet/yunet_s_dynamic.onnx');
const ULTRAFACE = () => sharedFile('models/ultraface/version-RFB-320.onnx');
const SINET = () => sharedFile('models/sinet-portrait/SINet_Softmax.onnx');
const VOICE = () => sharedFile('models/piper-test-voice/test_voice.onnx');
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let home: string;
let db: Db;
let server: ModelServer | undefined;
let detach: () => void;
const savedModelsEnv = process.env.MOUTHPIECE_MODELS;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'mp-registry-'));
  db = await openDatabase(join(home, 'mouthpiece.db'));
  detach = useModelRegistry(db, home);
  process.env.MOUTHPIECE_MODELS = join(SHARED_DIR, 'models');
});

afterEach(async () => {
  detach();
  await server?.close();
  server = undefined;
  await db.destroy();
  await rm(home, { recursive: true, force: true });
  if (savedModelsEnv === undefined) delete process.env.MOUTHPIECE_MODELS;
  else process.env.MOUTHPIECE_MODELS = savedModelsEnv;
});

/** The catalogue's YuNet, served from the local server. */
const yunetAt = (url: string): CatalogueModel => ({ ...findCatalogueModel('yunet'), url });

/** The Piper I/O fixture voice as a catalogue entry with its .onnx.json companion. */
function voiceAt(s: ModelServer): CatalogueModel {
  const onnx = readFileSync(VOICE());
  const config = readFileSync(`${VOICE()}.json`);
  return {
    id: 'piper-test-voice',
    name: 'Piper test voice',
    kind: 'voice',
    version: 'fixture',
    language: 'en-us',
    file: 'test_voice.onnx',
    url: s.url('/voice/test_voice.onnx'),
    bytes: onnx.length,
    sha256: sha(onnx),
    companions: [{ file: 'test_voice.onnx.json', url: s.url('/voice/test_voice.onnx.json'), bytes: config.length, sha256: sha(config) }],
    licence: 'GPL-3.0 (piper1-gpl test data)',
    commercialUse: true,
  };
}

/** A downloads runner that records the statuses it reported and never waits between retries. */
function runner(settings: { attempts?: number } = {}) {
  const statuses: ModelStatus[] = [];
  const progress: number[] = [];
  const removed: string[] = [];
  const downloads = new ModelDownloads(
    db,
    home,
    {
      changed: (m) => statuses.push(m.status),
      progress: (p) => progress.push(p.receivedBytes),
      removed: (id) => removed.push(id),
    },
    { retryDelayMs: 0, ...settings },
  );
  return { downloads, statuses, progress, removed };
}

const filesIn = async (dir: string) => (existsSync(dir) ? (await readdir(dir)).sort() : []);

describe('downloading from the catalogue', () => {
  it('downloads, verifies and installs a model, going downloading -> verifying -> installed', async () => {
    const bytes = readFileSync(YUNET());
    server = await serveModels({ '/yunet.onnx': { bytes } });
    const { downloads, statuses, progress } = runner();

    const { model, done } = await downloads.start(yunetAt(server.url('/yunet.onnx')));
    expect(model.status).toBe('downloading');
    const installed = await done;

    expect(statuses).toEqual(['downloading', 'verifying', 'installed']);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(installed).toMatchObject({ id: 'yunet', kind: 'face-detection', status: 'installed', bytes: bytes.length, sha256: sha(bytes), error: null, active: false });
    const dir = join(modelsDir(home), 'yunet');
    expect(await filesIn(dir)).toEqual(['face_detection_yunet_2023mar.onnx']);
    expect(sha(readFileSync(join(dir, 'face_detection_yunet_2023mar.onnx')))).toBe(sha(bytes));
    expect(server.requests).toEqual([{ path: '/yunet.onnx', range: undefined, status: 200 }]);
    expect((await getModelStatistics(db)).downloads).toBe(1);
    expect((await listCatalogueEntries(db, 'face-detection')).find((e) => e.id === 'yunet')?.status).toBe('installed');
  });

  it('downloads a Piper voice with its .onnx.json into the model folder', async () => {
    server = await serveModels({
      '/voice/test_voice.onnx': { bytes: readFileSync(VOICE()) },
      '/voice/test_voice.onnx.json': { bytes: readFileSync(`${VOICE()}.json`) },
    });
    const { downloads } = runner();

    const voice = await (await downloads.start(voiceAt(server))).done;

    expect(voice.files.map((f) => f.name)).toEqual(['test_voice.onnx', 'test_voice.onnx.json']);
    expect(await filesIn(join(modelsDir(home), 'piper-test-voice'))).toEqual(['test_voice.onnx', 'test_voice.onnx.json']);
    expect(voice.language).toBe('en-us');
    expect(await resolveModel('piper-test-voice')).toBe(join(modelsDir(home), 'piper-test-voice', 'test_voice.onnx'));
  });

  it('resumes a connection dropped midway with a Range request for the rest', async () => {
    const bytes = readFileSync(YUNET());
    server = await serveModels({ '/yunet.onnx': { bytes, dropAfter: 100_000 } });
    const { downloads } = runner();

    const installed = await (await downloads.start(yunetAt(server.url('/yunet.onnx')))).done;

    expect(installed.status).toBe('installed');
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]).toEqual({ path: '/yunet.onnx', range: undefined, status: 200 });
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? '')?.[1]);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThanOrEqual(100_000);
    expect(server.requests[1]!.status).toBe(206);
    expect(sha(readFileSync(join(modelsDir(home), 'yunet', 'face_detection_yunet_2023mar.onnx')))).toBe(sha(bytes));
  });

  it('starts over when the server ignores Range and sends the whole file again', async () => {
    const bytes = readFileSync(YUNET());
    server = await serveModels({ '/yunet.onnx': { bytes, dropAfter: 100_000, ignoreRange: true } });
    const { downloads } = runner();

    const installed = await (await downloads.start(yunetAt(server.url('/yunet.onnx')))).done;

    expect(installed.status).toBe('installed');
    expect(server.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(server.requests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(sha(readFileSync(join(modelsDir(home), 'yunet', 'face_detection_yunet_2023mar.onnx')))).toBe(sha(bytes));
  });

  it('keeps what a broken download received, marks it failed, and the next download continues from there', async () => {
    const bytes = readFileSync(YUNET());
    server = await serveModels({ '/yunet.onnx': { bytes, dropAfter: 100_000 } });
    const first = runner({ attempts: 1 });

    const error = await (await first.downloads.start(yunetAt(server.url('/yunet.onnx')))).done.catch((e: unknown) => e);

    expect(errorCode(error)).toBe('IO_FAILED');
    expect((error as Error).message).toMatch(/broke off .*the next download continues from there/);
    const failed = (await findModelRow(db, 'yunet'))!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe((error as Error).message);
    const partial = join(modelsDir(home), 'yunet', 'face_detection_yunet_2023mar.onnx.partial');
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(failed.received_bytes).toBe(kept);
    await expect(resolveModel('yunet')).resolves.not.toContain(modelsDir(home)); // not installed: the shared copy answers

    const installed = await (await runner().downloads.start(yunetAt(server.url('/yunet.onnx')))).done;

    expect(installed.status).toBe('installed');
    expect(server.requests.at(-1)).toEqual({ path: '/yunet.onnx', range: `bytes=${kept}-`, status: 206 });
    expect(existsSync(partial)).toBe(false);
  });

  it('refuses a file whose sha256 is wrong: failed with the reason, nothing left in its folder', async () => {
    const corrupt = Buffer.from(readFileSync(YUNET()));
    corrupt[5000] ^= 0xff;
    server = await serveModels({ '/yunet.onnx': { bytes: corrupt } });
    const { downloads, statuses } = runner();

    const error = await (await downloads.start(yunetAt(server.url('/yunet.onnx')))).done.catch((e: unknown) => e);

    expect(errorCode(error)).toBe('IO_FAILED');
    expect((error as Error).message).toContain(`has sha256 ${sha(corrupt)}, not the ${findCatalogueModel('yunet').sha256}`);
    expect(statuses).toEqual(['downloading', 'verifying', 'failed']);
    expect((await findModelRow(db, 'yunet'))).toMatchObject({ status: 'failed', error: (error as Error).message, active: 0 });
    expect(await filesIn(join(modelsDir(home), 'yunet'))).toEqual([]);
    await expect(activateModel(db, 'yunet')).rejects.toThrow(/download failed .*only an installed model/);
    expect((await getModelStatistics(db)).failures).toBe(1);
  });

  it('says plainly when the file is not at the address (HTTP 404)', async () => {
    server = await serveModels({});
    const { downloads } = runner();

    const error = await (await downloads.start(yunetAt(server.url('/gone.onnx')))).done.catch((e: unknown) => e);

    expect((error as Error).message).toBe(
      `${findCatalogueModel('yunet').name}: ${server.url('/gone.onnx')} answered HTTP 404: the file is not there (the catalogue's address is out of date); ` +
        `update the app, or set MOUTHPIECE_MODELS to a folder that has face_detection_yunet_2023mar.onnx (sha256 ${findCatalogueModel('yunet').sha256})`,
    );
    expect((await findModelRow(db, 'yunet'))?.status).toBe('failed');
    expect(server.requests).toHaveLength(1);
  });

  it('says the disk is full when a write fails with ENOSPC, and deletes the partial file', async () => {
    server = await serveModels({ '/yunet.onnx': { bytes: readFileSync(YUNET()) } });
    const dir = join(modelsDir(home), 'yunet');
    await mkdir(dir, { recursive: true });
    // /dev/full answers every write with ENOSPC: a real full disk, for this one file.
    await symlink('/dev/full', join(dir, 'face_detection_yunet_2023mar.onnx.partial'));
    const { downloads } = runner();

    const error = await (await downloads.start(yunetAt(server.url('/yunet.onnx')))).done.catch((e: unknown) => e);

    expect((error as Error).message).toMatch(/the disk holding .* is full; the partial download was deleted\. Free some space and download it again\./);
    expect((await findModelRow(db, 'yunet'))?.status).toBe('failed');
    expect(await filesIn(dir)).toEqual([]);
  });

  it('cancelling deletes the partial file and the entry, leaving the model a catalogue entry again', async () => {
    server = await serveModels({ '/yunet.onnx': { bytes: readFileSync(YUNET()), stallAfter: 65_536 } });
    const { downloads, removed } = runner();
    const partial = join(modelsDir(home), 'yunet', 'face_detection_yunet_2023mar.onnx.partial');
    let sawPartial = false;
    const cancelling = new Promise<void>((started) => {
      const poll = setInterval(() => {
        if (existsSync(partial)) {
          sawPartial = true;
          clearInterval(poll);
          started();
        }
      }, 5);
    });

    const { done } = await downloads.start(yunetAt(server.url('/yunet.onnx')));
    await cancelling;
    await downloads.cancel('yunet');

    expect(errorCode(await done.catch((e: unknown) => e))).toBe('CANCELLED');
    expect(sawPartial).toBe(true);
    expect(existsSync(partial)).toBe(false);
    expect(await findModelRow(db, 'yunet')).toBeUndefined();
    expect(removed).toEqual(['yunet']);
    expect((await listCatalogueEntries(db)).find((e) => e.id === 'yunet')?.status).toBeNull();
  });

  it('joins a second request for the same model to the download already running', async () => {
    server = await serveModels({ '/yunet.onnx': { bytes: readFileSync(YUNET()) } });
    const { downloads } = runner();
    const entry = yunetAt(server.url('/yunet.onnx'));

    const [first, second] = await Promise.all([downloads.start(entry), downloads.start(entry)]);

    expect(second.done).toBe(first.done);
    expect((await first.done).status).toBe('installed');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses to download a model that is already installed', async () => {
    server = await serveModels({ '/yunet.onnx': { bytes: readFileSync(YUNET()) } });
    const { downloads } = runner();
    await (await downloads.start(yunetAt(server.url('/yunet.onnx')))).done;

    await expect(downloads.start(yunetAt(server.url('/yunet.onnx')))).rejects.toThrow(/already installed; remove it first/);
  });
});

describe('importing a model from a file', () => {
  it('refuses a file that is not ONNX, naming it', async () => {
    const fake = join(home, 'notes.onnx');
    await writeFile(fake, 'these are not the weights you are looking for');

    const error = await importModel(db, home, { path: fake }).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('BAD_INPUT');
    expect((error as Error).message).toMatch(/^notes\.onnx: is not an ONNX model; onnxruntime could not open it/);
    expect(await listModels(db)).toEqual([]);
    expect((await getModelStatistics(db)).failures).toBe(1);
  });

  it('refuses a face detector without YuNet outputs, naming what is missing and what it has', async () => {
    const error = await importModel(db, home, { path: ULTRAFACE(), kind: 'face-detection' }).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('BAD_INPUT');
    const message = (error as Error).message;
    expect(message).toMatch(
      /^version-RFB-320\.onnx: is not a face detector model the app can use: the app feeds it 640x640 images, and its input is fixed at 320x240; no outputs cls_8, cls_16, cls_32, obj_8/,
    );
    expect(message).toContain('gives scores float32 [1,4420,2], boxes float32 [1,4420,4]');
    expect(await filesIn(modelsDir(home))).toEqual([]);
  });

  it('refuses a segmentation model given as a voice, and a model that fits no kind when none is named', async () => {
    const asVoice = await importModel(db, home, { path: SINET(), kind: 'voice' }).catch((e: unknown) => e);
    expect((asVoice as Error).message).toMatch(/^SINet_Softmax\.onnx: is not a voice model the app can use: no input; no input_lengths; no scales/);

    const unknown = await importModel(db, home, { path: ULTRAFACE() }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/^version-RFB-320\.onnx: its inputs and outputs fit none of the kinds of model the app uses/);
  });

  it('refuses a Piper voice without its .onnx.json beside it', async () => {
    const alone = join(home, 'lonely', 'test_voice.onnx');
    await mkdir(join(home, 'lonely'));
    await copyFile(VOICE(), alone);

    const error = await importModel(db, home, { path: alone }).catch((e: unknown) => e);

    expect((error as Error).message).toBe(
      'test_voice.onnx: a Piper voice needs its config test_voice.onnx.json beside it, and there is none; put the .onnx.json that came with the voice in the same folder and import again',
    );
  });

  it('imports a Piper voice, found to be a voice by its inputs, copying both files into its folder', async () => {
    const voice = await importModel(db, home, { path: VOICE(), licence: 'GPL-3.0', commercialUse: true });

    expect(voice).toMatchObject({ kind: 'voice', language: 'en-us', origin: 'import', status: 'installed', licence: 'GPL-3.0', commercialUse: true, source: VOICE() });
    expect(voice.id).toMatch(/^test-voice-[0-9a-f]{8}$/);
    expect(await filesIn(join(modelsDir(home), voice.id))).toEqual(['test_voice.onnx', 'test_voice.onnx.json']);
    expect(voice.files.map((f) => f.sha256)).toEqual([sha(readFileSync(VOICE())), sha(readFileSync(`${VOICE()}.json`))]);

    const again = await importModel(db, home, { path: VOICE() });
    expect(again.id).toBe(voice.id);
    expect(await listModels(db)).toHaveLength(1);
  });
});

describe('activating a model', () => {
  it('switches the face detector that resolveModel answers and that face detection opens', async () => {
    const before = await resolveModel('face-detection');
    expect(before).toBe(YUNET());

    const dynamic = await importModel(db, home, { path: YUNET_DYNAMIC(), kind: 'face-detection', licence: 'MIT', commercialUse: true });
    expect(await resolveModel('face-detection')).toBe(before); // imported, not active yet

    const active = await activateModel(db, dynamic.id);
    expect(active.active).toBe(true);
    const path = await resolveModel('face-detection');
    expect(path).toBe(join(modelsDir(home), dynamic.id, 'yunet_s_dynamic.onnx'));

    const faces = await detectFaces(await decodeImage(sharedFile('fixtures/portrait_nasa_eileen_collins.png')));
    expect(faces).toHaveLength(1);
    expect((await findModelRow(db, dynamic.id))?.usage_count).toBe(1);

    await removeModel(db, home, dynamic.id);
    expect(await resolveModel('face-detection')).toBe(before);
    expect(existsSync(path)).toBe(false);
  });

  it('hands the active models to a thread without the database, which reports their use back', async () => {
    const dynamic = await importModel(db, home, { path: YUNET_DYNAMIC(), commercialUse: true });
    await activateModel(db, dynamic.id);
    const paths = await resolvedModelPaths();
    expect(paths).toEqual({ 'face-detection': join(modelsDir(home), dynamic.id, 'yunet_s_dynamic.onnx') });

    // As the render worker does: no registry, only what main sent.
    detach();
    const used: string[] = [];
    useResolvedModels(paths, (path) => used.push(path));
    try {
      expect(await resolveModel('face-detection')).toBe(paths['face-detection']);
      expect(await resolveModel('segmentation')).toBe(SINET()); // no active one: the catalogue's
      await detectFaces(await decodeImage(sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg')));
      expect(used).toEqual([paths['face-detection']]);
    } finally {
      useResolvedModels({});
    }

    detach = useModelRegistry(db, home);
    for (const path of used) await countModelUse(path);
    expect((await findModelRow(db, dynamic.id))?.usage_count).toBe(1);
  });

  it('refuses a model whose licence forbids commercial use unless acknowledged, and keeps one active model per kind', async () => {
    const sinet = await importModel(db, home, { path: SINET(), licence: 'research only' });
    expect(sinet.kind).toBe('segmentation');

    const refused = await activateModel(db, sinet.id).catch((e: unknown) => e);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect((refused as Error).message).toBe(
      'SINet_Softmax: its licence (research only) does not allow commercial use, so videos made with it may be used only as that licence allows. Acknowledge this to activate it (on the command line: --acknowledge-licence).',
    );
    expect(await resolveModel('segmentation')).toBe(SINET()); // still the catalogue's copy

    await activateModel(db, sinet.id, { acknowledgeLicence: true });
    expect(await resolveModel('segmentation')).toBe(join(modelsDir(home), sinet.id, 'SINet_Softmax.onnx'));

    const first = await importModel(db, home, { path: YUNET(), commercialUse: true });
    const second = await importModel(db, home, { path: YUNET_DYNAMIC(), commercialUse: true });
    await activateModel(db, first.id);
    await activateModel(db, second.id);
    const detectors = (await listModels(db)).filter((m) => m.kind === 'face-detection');
    expect(detectors.map((m) => [m.id, m.active])).toEqual([
      [second.id, true],
      [first.id, false],
    ]);
    expect((await getModelStatistics(db)).byKind['face-detection'].active).toBe(second.id);
  });

  it('says which face models a first photo avatar still needs, with their size', async () => {
    delete process.env.MOUTHPIECE_MODELS;
    const missing = await missingModels(db, home, 'photo-avatar');
    expect(missing.map((m) => [m.id, m.bytes])).toEqual([
      ['yunet', 232589],
      ['mediapipe-face-landmark', 2432529],
    ]);

    await activateModel(db, (await importModel(db, home, { path: YUNET_DYNAMIC(), commercialUse: true })).id);
    expect((await missingModels(db, home, 'photo-avatar')).map((m) => m.id)).toEqual(['mediapipe-face-landmark']);
  });
});

describe('measuring, ranking, searching and statistics', () => {
  it('records a latency per execution provider and ranks measured models first', async () => {
    const slow = await importModel(db, home, { path: YUNET(), commercialUse: true });
    const fast = await importModel(db, home, { path: YUNET_DYNAMIC(), commercialUse: true });

    const measured = await measureModel(db, slow.id, { runs: 2 });

    const cpu = measured.latency.cpu;
    expect(cpu && 'ms' in cpu ? cpu.ms : undefined).toBeGreaterThan(0);
    expect(cpu).toMatchObject({ runs: 2 });
    expect(measured.bestMs).toBe(cpu && 'ms' in cpu ? cpu.ms : null);
    expect(JSON.parse((await findModelRow(db, slow.id))!.latency_json!).cpu.ms).toBe(measured.bestMs);
    expect((await topModels(db, 'face-detection')).map((m) => m.id)).toEqual([slow.id, fast.id]);
  });

  it('ranks unmeasured models by how often they were opened for work', async () => {
    const a = await importModel(db, home, { path: YUNET(), commercialUse: true });
    const b = await importModel(db, home, { path: YUNET_DYNAMIC(), commercialUse: true });
    expect((await topModels(db, 'face-detection')).map((m) => m.id)).toEqual([a.id, b.id]); // by name

    await countModelUse(await resolveModel(b.id));

    expect((await topModels(db, 'face-detection')).map((m) => [m.id, m.usageCount])).toEqual([
      [b.id, 1],
      [a.id, 0],
    ]);
  });

  it('measures a voice and a voice activity detector with inputs of their real types', async () => {
    for (const path of [VOICE(), sharedFile('models/silero-vad/silero_vad.onnx')]) {
      const model = await importModel(db, home, { path });
      const measured = await measureModel(db, model.id, { providers: ['cpu'], runs: 1 });
      expect(measured.latency.cpu, model.kind).toHaveProperty('ms');
    }
  });

  it('searches by name, kind, language and licence a page at a time with the total', async () => {
    const imports = [
      { path: YUNET(), licence: 'MIT' },
      { path: YUNET_DYNAMIC(), licence: 'MIT' },
      { path: SINET(), licence: 'MIT, research data' },
      { path: sharedFile('models/pfld68/landmarks_68_pfld.onnx'), licence: 'MIT, 300-W non-commercial' },
      { path: sharedFile('models/mediapipe-face-landmark/face_landmark.onnx'), licence: 'Apache-2.0' },
      { path: VOICE(), licence: 'GPL-3.0' },
    ];
    for (const input of imports) await importModel(db, home, input);

    const pages = await Promise.all([0, 2, 4].map((offset) => searchModels(db, { limit: 2, offset })));
    expect(pages.map((p) => p.total)).toEqual([6, 6, 6]);
    const ids = pages.flatMap((p) => p.items.map((m) => m.id));
    expect(new Set(ids).size).toBe(6);
    expect(pages.map((p) => p.items.map((m) => m.kind))).toEqual([
      ['voice', 'face-detection'],
      ['face-detection', 'face-landmarks'],
      ['face-landmarks', 'segmentation'],
    ]);

    expect((await searchModels(db, { text: 'YUNET' })).items.map((m) => m.name).sort()).toEqual(['face_detection_yunet_2023mar', 'yunet_s_dynamic']);
    expect((await searchModels(db, { kind: 'face-landmarks' })).total).toBe(2);
    expect((await searchModels(db, { language: 'en' })).items.map((m) => m.kind)).toEqual(['voice']);
    expect((await searchModels(db, { language: 'de' })).total).toBe(0);
    expect((await searchModels(db, { licence: 'mit' })).total).toBe(4);
    expect((await searchModels(db, { licence: '100%' })).total).toBe(0);

    const stats = await getModelStatistics(db);
    expect(stats.installed).toBe(6);
    expect(stats.byKind['face-detection']).toEqual({
      installed: 2,
      bytes: (await stat(YUNET())).size + (await stat(YUNET_DYNAMIC())).size,
      active: null,
    });
    expect(stats.byKind.voice.bytes).toBe((await stat(VOICE())).size + (await stat(`${VOICE()}.json`)).size);
    expect(stats.bytes).toBe(Object.values(stats.byKind).reduce((n, k) => n + k.bytes, 0));
    expect(stats).toMatchObject({ downloads: 0, failures: 0, unused: 6 });
  });
});


