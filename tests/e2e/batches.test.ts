import { mkdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseCsv, type BatchSummary } from '../../src-shared/batch';
import type { VideoSummary } from '../../src-shared/video';
import { usePage } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';
const BATCH_TIMEOUT_MS = 180_000;

/** The results file as rows of cells, its header first. */
async function readResults(path: string): Promise<string[][]> {
  const { columns, rows } = parseCsv(await readFile(path, 'utf8'));
  return [columns, ...rows.map((r) => r.values)];
}

describe('personalised batches in Chromium', () => {
  // The CSVs the test picks, as if from the user's disk: the harness answers their real paths.
  let scratch: string;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    scratch = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-batches-'));
    // Row 3 (the second person) has no first name.
    await writeFile(join(scratch, 'missing-name.csv'), 'first_name,email\nAnna,anna@example.com\n,ben@example.com\n');
    await writeFile(join(scratch, 'people.csv'), 'first_name,email\nAnna,anna@example.com\nBen,ben@example.com\n');
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });
  const ui = usePage(() => ({ viewport: { width: 1280, height: 900 }, localFolders: [scratch] }));
  afterEach(async () => {
    // A preview still being drawn writes into the app's folder, which closing the harness deletes.
    await expect.poll(() => ui.page.locator('.preview__frame[aria-busy="true"]').count(), { timeout: 60_000 }).toBe(0);
  });

  const editor = () => ui.page.getByRole('region', { name: 'Editor' });
  const batchPanel = () => editor().getByRole('region', { name: 'Personalise with a CSV' });
  const sceneText = () => editor().getByLabel('Scene text');
  const batches = () => ui.page.getByRole('region', { name: 'Batches' });
  const renders = () => ui.page.getByRole('region', { name: 'Renders' });

  async function listed<T>(channel: 'videos:list' | 'batches:list'): Promise<T[]> {
    const answer = await ui.harness.app.handlers[channel]({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value as T[];
  }

  /** A new draft in the editor with these scenes, one per text. */
  async function writeDraft(title: string, texts: string[]): Promise<void> {
    await ui.page.getByRole('region', { name: 'New video' }).getByRole('button', { name: 'Open in the editor' }).click();
    await sceneText().waitFor();
    await editor().getByLabel('Title').fill(title);
    for (const [i, text] of texts.entries()) {
      if (i > 0) {
        await editor().getByRole('button', { name: 'Add scene' }).click();
        await editor().getByRole('heading', { name: `Scene ${i + 1}` }).waitFor();
      }
      await sceneText().fill(text);
    }
  }

  test('a CSV with an empty value is refused with its row number; a clean one renders a video per row, shown as a batch on the Renders screen with its results CSV', async () => {
    const outDir = join(scratch, 'out');
    const changes: BatchSummary[] = [];
    const stop = ui.harness.app.onEvent((name, payload) => {
      if (name === 'batches:changed') changes.push(payload as BatchSummary);
    });
    try {
      await writeDraft('Welcome batch', ['Hi {{first_name}}!', 'See you soon.']);

      // Nothing to render until a CSV is picked.
      expect(await batchPanel().getByRole('button', { name: /^Render/ }).count()).toBe(0);

      await batchPanel().getByLabel('CSV file').setInputFiles(join(scratch, 'missing-name.csv'));
      const problems = batchPanel().getByRole('alert').getByRole('list', { name: 'Problems with the CSV' });
      await problems.waitFor();
      const issues = await problems.getByRole('listitem').allTextContents();
      expect(issues.length).toBeGreaterThan(0);
      expect(issues.every((issue) => /^row 3\b/.test(issue))).toBe(true);
      expect(issues.join(' ')).toContain('first_name');
      expect(await batchPanel().getByRole('button', { name: 'Render 2 videos' }).isDisabled()).toBe(true);
      await editor().screenshot({ path: join(SHOTS, 'batch-refused.png') });

      // Picking again checks again: the clean file has no problems, and its figures are main's.
      await batchPanel().getByLabel('CSV file').setInputFiles(join(scratch, 'people.csv'));
      const render = batchPanel().getByRole('button', { name: 'Render 2 videos' });
      await expect.poll(() => render.isEnabled()).toBe(true);
      expect(await batchPanel().getByRole('alert').count()).toBe(0);
      const [draft] = await listed<VideoSummary>('videos:list');
      const checked = await ui.harness.app.handlers['batches:check']({ videoId: draft.id, csvPath: join(scratch, 'people.csv') });
      if (!checked.ok) throw new Error(checked.error.message);
      expect(checked.value).toMatchObject({ rows: 2, variables: ['first_name'], columns: ['first_name', 'email'], issues: [] });
      const facts = batchPanel().getByTestId('batch-check');
      expect(await facts.locator('dd').first().textContent()).toBe('2');
      expect(await facts.getByText('first_name', { exact: true }).count()).toBe(1);
      expect(await facts.getByText('first_name, email', { exact: true }).count()).toBe(1);
      expect(await facts.getByTestId('batch-estimate').textContent()).toContain(`${checked.value.credits} ${checked.value.credits === 1 ? 'credit' : 'credits'}`);

      await batchPanel().getByLabel('Output folder (optional)').fill(outDir);
      await render.click();

      // The app moves to the Renders screen, where the batch shows how far it has got.
      await batches().waitFor();
      expect(await ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Renders', exact: true }).getAttribute('aria-current')).toBe('page');
      const row = batches().getByRole('listitem', { name: 'Welcome batch', exact: true });
      await row.locator('.badge').filter({ hasText: /^Completed$/ }).waitFor({ timeout: BATCH_TIMEOUT_MS });
      expect(await row.locator('.batch-row__counts').textContent()).toBe('2 of 2 made');
      expect(await row.getByRole('progressbar', { name: 'Progress of Welcome batch' }).getAttribute('aria-valuenow')).toBe('100');
      expect(await row.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    } finally {
      stop();
    }

    // Main told the page of the batch while it rendered, not only once it had finished.
    expect(changes.some((batch) => batch.status === 'rendering' && batch.completed < 2)).toBe(true);
    expect(changes.at(-1)).toMatchObject({ status: 'completed', completed: 2, failed: 0, rows: 2 });

    // Each row is one render, named as a row of the batch.
    const made = (await listed<VideoSummary>('videos:list')).filter((video) => video.batchId !== null);
    expect(made.map((video) => video.batchRow).sort()).toEqual([2, 3]);
    for (const video of made) {
      const item = renders().getByRole('listitem', { name: video.title, exact: true });
      await item.locator('.render__batch').filter({ hasText: `row ${video.batchRow} of the batch “Welcome batch”` }).waitFor();
    }

    // Show results answers the results CSV, which maps each row to its MP4 in the folder asked for.
    const row = batches().getByRole('listitem', { name: 'Welcome batch', exact: true });
    await row.getByRole('button', { name: 'Show results' }).click();
    const shown = row.getByRole('status');
    await shown.waitFor();
    const [batch] = await listed<BatchSummary>('batches:list');
    expect(await shown.locator('code').textContent()).toBe(batch.resultsPath);
    expect(dirname(batch.resultsPath)).toBe(outDir);
    const [header, ...rows] = await readResults(batch.resultsPath);
    const results = rows.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i]])));
    expect(results.map(({ row, first_name, status }) => ({ row, first_name, status }))).toEqual([
      { row: '2', first_name: 'Anna', status: 'completed' },
      { row: '3', first_name: 'Ben', status: 'completed' },
    ]);
    for (const { row, output } of results) {
      expect(dirname(output)).toBe(outDir);
      expect(statSync(output).size).toBeGreaterThan(0);
      expect(made.find((video) => video.batchRow === Number(row))?.outputPath).toBe(output);
    }
    expect(ui.errors).toEqual([]);
    await ui.page.screenshot({ path: join(SHOTS, 'batch-completed.png') });
  });
  test('the CSV is checked again as the script changes, and a batch the credits do not cover is refused with the credits notice', async () => {
    const account = await ui.harness.app.handlers['account:get']({});
    if (!account.ok) throw new Error(account.error.message);
    // One credit a row (each video is under a minute): one row more than the credits left.
    const people = Array.from({ length: account.value.credits + 1 }, (_, i) => `Person${i + 1}`);
    await writeFile(join(scratch, 'crowd.csv'), `first_name\n${people.join('\n')}\n`);

    await writeDraft('Crowd batch', ['Hi {{first_name}}!']);
    await batchPanel().getByLabel('CSV file').setInputFiles(join(scratch, 'crowd.csv'));
    const render = batchPanel().getByRole('button', { name: `Render ${people.length} videos` });
    await expect.poll(() => render.isEnabled()).toBe(true);
    // Said before Render is clicked.
    expect(await batchPanel().getByText(/so it will not render/).count()).toBe(1);

    // A variable the CSV has no column for, typed after the check, is found without picking the file again.
    await sceneText().fill('Hi {{first_name}} from {{shop}}!');
    const problems = batchPanel().getByRole('list', { name: 'Problems with the CSV' });
    await problems.getByText(/\{\{shop\}\}/).waitFor();
    expect(await render.isDisabled()).toBe(true);
    await sceneText().fill('Hi {{first_name}}!');
    await expect.poll(() => render.isEnabled()).toBe(true);
    expect(await problems.count()).toBe(0);

    await render.click();
    const refusal = batchPanel().getByRole('alert').filter({ hasText: 'Not enough credits to render' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain(`these ${people.length} videos cost ${people.length} credits together`);
    // Nothing was queued, and the editor stays open on the draft.
    expect(await listed<BatchSummary>('batches:list')).toEqual([]);
    expect((await listed<VideoSummary>('videos:list')).map((video) => video.status)).toEqual(['draft']);
    expect(await editor().isVisible()).toBe(true);
    expect(ui.errors).toEqual([]);
  });

  test('a batch cancelled from the Renders screen shows its rows cancelled, and its results CSV says so', async () => {
    await writeFile(join(scratch, 'three.csv'), 'first_name\nAnna\nBen\nChloé\n');
    // Long enough that the batch is still rendering when Cancel is clicked.
    await writeDraft('Batch to cancel', [`Hi {{first_name}}! ${'This sentence is here so that the render lasts long enough to cancel it. '.repeat(6)}`]);
    await batchPanel().getByLabel('CSV file').setInputFiles(join(scratch, 'three.csv'));
    const render = batchPanel().getByRole('button', { name: 'Render 3 videos' });
    await expect.poll(() => render.isEnabled()).toBe(true);
    await render.click();

    const row = batches().getByRole('listitem', { name: 'Batch to cancel', exact: true });
    await row.locator('.badge').filter({ hasText: /^Rendering$/ }).waitFor();
    await row.getByRole('button', { name: 'Cancel' }).click();
    await row.locator('.badge').filter({ hasText: /^Cancelled$/ }).waitFor({ timeout: 10_000 });

    const [batch] = await listed<BatchSummary>('batches:list');
    expect(batch.status).toBe('cancelled');
    expect(batch.cancelled).toBeGreaterThan(0);
    expect(batch.completed + batch.cancelled).toBe(3);
    expect(await row.locator('.batch-row__counts').textContent()).toBe(`${batch.completed} of 3 made · ${batch.cancelled} cancelled`);
    expect(await row.getByRole('button', { name: 'Cancel' }).count()).toBe(0);

    await row.getByRole('button', { name: 'Show results' }).click();
    await row.getByRole('status').waitFor();
    const [header, ...rows] = await readResults(batch.resultsPath);
    const statuses = rows.map((cells) => cells[header.indexOf('status')]);
    expect(statuses.filter((status) => status === 'cancelled')).toHaveLength(batch.cancelled);
    expect(ui.errors).toEqual([]);
  });
});
