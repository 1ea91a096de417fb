import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resourcesDir } from '../../src-main/paths';
import type { CatalogueModel } from '../../src-main/models/catalogue';
import { insertModelRow } from '../../src-main/models/repository';
import type { ModelSummary } from '../../src-shared/model';
import { serveModels, type ModelServer, type Served } from '../main/models/modelServer';
import { sharedFile } from '../support/shared';
import { usePage } from './harness';

const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';
const YUNET = sharedFile('models/yunet/face_detection_yunet_2023mar.onnx');
const SINET = sharedFile('models/sinet-portrait/SINet_Softmax.onnx');
const FACE_MESH = sharedFile('models/mediapipe-face-landmark/face_landmark.onnx');
const VOICE = sharedFile('models/piper-test-voice/test_voice.onnx');
const YUNET_NAME = 'face_detection_yunet_2023mar';
const SINET_NAME = 'SINet_Softmax';
const MEASURE_TIMEOUT_MS = 60_000;
const DOWNLOAD_TIMEOUT_MS = 30_000;

describe('the Models screen in Chromium', () => {
  let scratch: string;
  let server: ModelServer;
  // What the local server answers for each catalogue file; a test changes an entry to make it fail or stall.
  const served: Record<string, Served> = {};
  const catalogue: Record<string, CatalogueModel> = {};
  const saved = { resources: process.env.MOUTHPIECE_RESOURCES, models: process.env.MOUTHPIECE_MODELS };

  const pathOf = (model: CatalogueModel) => `/${model.id}/${model.file}`;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-models-'));
    mkdirSync(SHOTS, { recursive: true });
    await writeFile(join(scratch, 'notes.onnx'), 'These are my notes, not a model.\n');
    server = await serveModels(served);

    // The app's resources as shipped, but with a catalogue whose addresses are this server: the
    // downloads run for real, over HTTP, without the internet this machine does not have.
    const real = resourcesDir();
    const resources = join(scratch, 'resources');
    await mkdir(join(resources, 'models'), { recursive: true });
    for (const entry of await readdir(real)) if (entry !== 'models') await symlink(join(real, entry), join(resources, entry));
    const { models } = JSON.parse(await readFile(join(real, 'models', 'catalogue.json'), 'utf8')) as { models: CatalogueModel[] };
    for (const model of models) {
      model.url = server.url(pathOf(model));
      for (const companion of model.companions ?? []) companion.url = server.url(`/${model.id}/${companion.file}`);
      catalogue[model.id] = model;
    }
    await writeFile(join(resources, 'models', 'catalogue.json'), JSON.stringify({ models }));
    for (const [id, file] of [['yunet', YUNET], ['sinet-portrait', SINET], ['mediapipe-face-landmark', FACE_MESH]] as const) {
      served[pathOf(catalogue[id]!)] = { bytes: await readFile(file) };
    }
    process.env.MOUTHPIECE_RESOURCES = resources;
    // So the face models are missing here, as on a new machine, and the Avatars screen offers them.
    delete process.env.MOUTHPIECE_MODELS;
  });
  afterAll(async () => {
    for (const [name, value] of [['MOUTHPIECE_RESOURCES', saved.resources], ['MOUTHPIECE_MODELS', saved.models]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const ui = usePage(() => ({ viewport: { width: 1280, height: 800 }, localFolders: [dirname(YUNET), dirname(SINET), dirname(VOICE), scratch] }));

  const openScreen = (name: 'Models' | 'Avatars') => ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const installed = () => ui.page.getByRole('region', { name: 'Models', exact: true });
  const installedOf = (kind: string) => installed().getByRole('list', { name: `Installed ${kind} models` });
  const row = (name: string) => installed().getByRole('listitem', { name, exact: true });
  const catalogueRow = (name: string) => ui.page.getByRole('region', { name: 'Catalogue' }).getByRole('listitem', { name, exact: true });
  const stat = (id: string) => ui.page.getByTestId(id);

  async function listed(): Promise<ModelSummary[]> {
    const answer = await ui.harness.app.handlers['models:list']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }

  async function importFile(path: string, options: { commercialUse?: boolean } = {}) {
    if (options.commercialUse) await installed().getByLabel('Its licence allows commercial use').check();
    await installed().getByLabel('Model file to import').setInputFiles(path);
  }

  test('an imported model is listed under its kind with size and licence; a text file named .onnx is refused by name', async () => {
    await openScreen('Models');
    await installed().getByText('No models installed yet', { exact: false }).waitFor();
    await importFile(YUNET);

    const yunet = installedOf('face detector').getByRole('listitem', { name: YUNET_NAME });
    await yunet.waitFor();
    const [model] = await listed();
    expect(model).toMatchObject({ name: YUNET_NAME, kind: 'face-detection', status: 'installed', bytes: 232_589, commercialUse: false });
    expect(await yunet.getByText('233 KB', { exact: true }).isVisible()).toBe(true);
    expect(await yunet.getByText(model!.licence, { exact: true }).isVisible()).toBe(true);
    // Imported without a licence that says otherwise: not for commercial use, and said plainly.
    expect(await yunet.getByText('Not for commercial use', { exact: true }).isVisible()).toBe(true);
    expect(await installed().getByRole('status').textContent()).toBe(`Imported ${YUNET_NAME} as a face detector model.`);
    await expect.poll(() => stat('models-installed').textContent()).toBe('1');

    await importFile(join(scratch, 'notes.onnx'));
    const refusal = installed().getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^notes\.onnx: is not an ONNX model; onnxruntime could not open it \(.+\)\. Choose the \.onnx file of the model\.$/);
    expect((await listed()).map((m) => m.name)).toEqual([YUNET_NAME]);
    await expect.poll(() => stat('models-failures').textContent()).toBe('1');
    await ui.page.screenshot({ path: join(SHOTS, 'models-imported.png') });

    await yunet.getByRole('button', { name: 'Remove' }).click();
    await yunet.getByRole('group', { name: `Remove ${YUNET_NAME}` }).getByRole('button', { name: 'Remove' }).click();
    await installed().getByText('No models installed yet', { exact: false }).waitFor();
    expect(await listed()).toEqual([]);
    expect(ui.errors).toEqual([]);
  });

  test('a model whose licence forbids commercial use is activated only after the acknowledgement', async () => {
    await openScreen('Models');
    await importFile(SINET);
    const sinet = row(SINET_NAME);
    await sinet.getByRole('button', { name: 'Use for portrait segmentation' }).click();

    const acknowledgement = sinet.getByRole('group', { name: `Licence of ${SINET_NAME}` });
    await acknowledgement.waitFor();
    expect(await acknowledgement.textContent()).toContain('not for commercial use');
    expect((await listed()).find((m) => m.name === SINET_NAME)?.active).toBe(false);
    await ui.page.screenshot({ path: join(SHOTS, 'models-acknowledge.png') });

    await acknowledgement.getByRole('button', { name: 'I understand, use it for portrait segmentation' }).click();
    await sinet.getByText('Active for portrait segmentation', { exact: true }).waitFor();
    expect((await listed()).find((m) => m.name === SINET_NAME)?.active).toBe(true);

    // One whose licence allows commercial use is activated by the one click.
    await importFile(YUNET, { commercialUse: true });
    const yunet = row(YUNET_NAME);
    await yunet.getByRole('button', { name: 'Use for face detector' }).click();
    await yunet.getByText('Active for face detector', { exact: true }).waitFor();
    expect(await yunet.getByText('Not for commercial use').count()).toBe(0);
    expect((await listed()).find((m) => m.name === YUNET_NAME)).toMatchObject({ active: true, commercialUse: true });
    expect(ui.errors).toEqual([]);
  });

  test('measuring a model shows its latency per provider and ranks it among the top performing', async () => {
    await openScreen('Models');
    await importFile(YUNET);
    const yunet = row(YUNET_NAME);
    await yunet.getByText('not measured yet', { exact: true }).waitFor();

    await yunet.getByRole('button', { name: 'Measure' }).click();
    const latency = yunet.getByLabel(`Latency of ${YUNET_NAME}`).getByRole('listitem');
    await latency.first().waitFor({ timeout: MEASURE_TIMEOUT_MS });
    const measured = (await listed())[0]!;
    expect(measured.latency.cpu).toMatchObject({ runs: 5 });
    expect(measured.bestMs).toBeGreaterThan(0);
    expect(await latency.filter({ hasText: 'CPU' }).textContent()).toMatch(/^CPU [\d.]+ m?s$/);

    const top = ui.page.getByRole('list', { name: 'Top face detector models' });
    await top.getByText(YUNET_NAME).waitFor();
    expect(await top.textContent()).not.toContain('not measured');
    await ui.page.screenshot({ path: join(SHOTS, 'models-measured.png') });
    expect(ui.errors).toEqual([]);
  });

  test('searching by name, kind, language and licence narrows the installed models', async () => {
    await openScreen('Models');
    await importFile(YUNET);
    await row(YUNET_NAME).waitFor();
    await installed().getByLabel('Licence (optional)').fill('MIT (Portrait-Segmentation)');
    await importFile(SINET, { commercialUse: true });
    await row(SINET_NAME).waitFor();
    // A Piper voice, with its .onnx.json beside it: main reads its language from there.
    await importFile(VOICE);
    await row('test').waitFor();
    const names = () => installed().getByRole('listitem').evaluateAll((items) => items.map((item) => item.getAttribute('aria-label')).filter(Boolean));
    const search = installed().getByRole('searchbox', { name: 'Search models' });
    const filter = (name: string) => installed().getByRole('combobox', { name: `Filter by ${name}` });
    const field = (name: string) => installed().getByRole('textbox', { name: `Filter by ${name}` });
    await expect.poll(names).toEqual(['test', YUNET_NAME, SINET_NAME]);

    await search.fill('sinet');
    await expect.poll(names).toEqual([SINET_NAME]);
    expect(await installed().getByText('1 installed matching').isVisible()).toBe(true);
    await search.fill('');

    await filter('kind').selectOption({ label: 'Face detector' });
    await expect.poll(names).toEqual([YUNET_NAME]);
    await filter('kind').selectOption({ label: 'Every kind' });

    await field('language').fill('en-us');
    await expect.poll(names).toEqual(['test']);
    await field('language').fill('');

    await field('licence').fill('mit');
    await expect.poll(names).toEqual([SINET_NAME]);
    await field('licence').fill('');

    await filter('commercial use').selectOption({ label: 'Not for commercial use' });
    await expect.poll(names).toEqual(['test', YUNET_NAME]);

    await search.fill('no such model');
    await installed().getByText('No installed model matches.').waitFor();
    expect(ui.errors).toEqual([]);
  });

  test('the installed models come a page at a time', async () => {
    // Registry entries as an import leaves them; their files are never opened by a listing.
    for (let i = 1; i <= 12; i++) {
      const n = String(i).padStart(2, '0');
      await insertModelRow(ui.harness.app.db, {
        id: `detector-${n}`,
        name: `Detector ${n}`,
        kind: 'face-detection',
        version: null,
        language: null,
        origin: 'import',
        dir: join(ui.harness.home, 'models', `detector-${n}`),
        files_json: JSON.stringify([{ name: 'detector.onnx', bytes: 1000, sha256: n.repeat(32) }]),
        bytes: 1000,
        sha256: n.repeat(32),
        licence: 'MIT',
        commercial_use: 1,
        source_url: null,
        status: 'installed',
        error: null,
        received_bytes: 0,
        active: 0,
        usage_count: 0,
        latency_json: null,
      });
    }
    await openScreen('Models');
    const pages = installed().getByRole('navigation', { name: 'Pages of models' });
    const names = () => installedOf('face detector').getByRole('listitem').evaluateAll((items) => items.map((item) => item.getAttribute('aria-label')).filter(Boolean));
    await expect.poll(() => pages.textContent()).toContain('1–10 of 12');
    expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `Detector ${String(i + 1).padStart(2, '0')}`));
    expect(await pages.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);

    await pages.getByRole('button', { name: 'Next' }).click();
    await expect.poll(names).toEqual(['Detector 11', 'Detector 12']);
    expect(await pages.textContent()).toContain('11–12 of 12');
    expect(await pages.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    // A new search starts again at the first page.
    await installed().getByRole('searchbox', { name: 'Search models' }).fill('Detector 0');
    await expect.poll(names).toEqual(Array.from({ length: 9 }, (_, i) => `Detector 0${i + 1}`));
    expect(await pages.count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });

  test('a catalogue download shows its progress, can be cancelled, and then installs the verified model', async () => {
    const sinet = catalogue['sinet-portrait']!;
    const file = served[pathOf(sinet)]!;
    // The server sends part of the file, then holds the connection: the download is under way.
    file.stallAfter = 100_000;
    await openScreen('Models');
    const entry = catalogueRow(sinet.name);
    expect(await entry.getByText('Not for commercial use', { exact: true }).isVisible()).toBe(true);
    expect(await entry.getByText(`Licence: ${sinet.licence}`, { exact: true }).isVisible()).toBe(true);
    await entry.getByRole('button', { name: 'Download (439 KB)' }).click();

    const bar = entry.getByRole('progressbar', { name: `Downloading ${sinet.name}` });
    await bar.waitFor();
    await expect.poll(() => bar.evaluate((p: { value: number }) => p.value)).toBeGreaterThan(0);
    expect(await bar.evaluate((p: { value: number; max: number }) => p.value < p.max)).toBe(true);
    expect((await listed())[0]).toMatchObject({ id: 'sinet-portrait', status: 'downloading' });
    await ui.page.screenshot({ path: join(SHOTS, 'models-downloading.png') });

    await entry.getByRole('button', { name: 'Cancel' }).click();
    await entry.getByRole('button', { name: 'Download (439 KB)' }).waitFor();
    expect(await entry.getByRole('progressbar').count()).toBe(0);
    expect(await listed()).toEqual([]);

    delete file.stallAfter;
    await entry.getByRole('button', { name: 'Download (439 KB)' }).click();
    await entry.getByText('Installed', { exact: true }).waitFor({ timeout: DOWNLOAD_TIMEOUT_MS });
    expect((await listed())[0]).toMatchObject({ id: 'sinet-portrait', status: 'installed', sha256: sinet.sha256, origin: 'catalogue' });
    await installedOf('portrait segmentation').getByRole('listitem', { name: sinet.name }).waitFor();
    await entry.screenshot({ path: join(SHOTS, 'models-downloaded.png') });
    await expect.poll(() => stat('models-downloads').textContent()).toBe('1');
    expect(ui.errors).toEqual([]);
  });

  test('a failed download shows why, and Retry downloads it', async () => {
    const yunet = catalogue.yunet!;
    const file = served[pathOf(yunet)]!;
    file.status = 404;
    await openScreen('Models');
    const entry = catalogueRow(yunet.name);
    await entry.getByRole('button', { name: /^Download/ }).click();

    const failure = entry.getByRole('alert');
    await failure.waitFor({ timeout: DOWNLOAD_TIMEOUT_MS });
    expect(await failure.textContent()).toBe(
      `The download failed: ${yunet.name}: ${yunet.url} answered HTTP 404: the file is not there (the catalogue's address is out of date); ` +
        `update the app, or set MOUTHPIECE_MODELS to a folder that has ${yunet.file} (sha256 ${yunet.sha256})`,
    );
    await ui.page.screenshot({ path: join(SHOTS, 'models-failed.png') });

    delete file.status;
    await entry.getByRole('button', { name: 'Retry' }).click();
    await entry.getByText('Installed', { exact: true }).waitFor({ timeout: DOWNLOAD_TIMEOUT_MS });
    expect(await entry.getByRole('alert').count()).toBe(0);
    expect((await listed())[0]).toMatchObject({ id: 'yunet', status: 'installed', error: null });
    expect(ui.errors).toEqual([]);
  });

  test('the Avatars screen offers the missing face models with their size and downloads them', async () => {
    await openScreen('Avatars');
    const offer = ui.page.getByRole('region', { name: 'Face models' });
    await offer.waitFor();
    const text = await offer.textContent();
    for (const id of ['yunet', 'mediapipe-face-landmark']) expect(text).toContain(catalogue[id]!.name);
    // 232,589 + 2,432,529 bytes.
    expect(text).toContain('Photo avatars need face models (2.7 MB)');
    await ui.page.screenshot({ path: join(SHOTS, 'avatars-face-models.png') });

    await offer.getByRole('button', { name: 'Download (2.7 MB)' }).click();
    await ui.page.getByRole('status').getByText('The face models are installed', { exact: false }).waitFor({ timeout: DOWNLOAD_TIMEOUT_MS });
    expect(await offer.count()).toBe(0);
    await ui.page.screenshot({ path: join(SHOTS, 'avatars-face-models-ready.png') });
    const models = await listed();
    expect(models.map((m) => [m.id, m.status]).sort()).toEqual([
      ['mediapipe-face-landmark', 'installed'],
      ['yunet', 'installed'],
    ]);
    expect(ui.errors).toEqual([]);
  });
});
