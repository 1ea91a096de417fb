import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { ffmpegPath } from '../../src-main/media/ffmpeg';
import type { RenderProgress, RenderStats, VideoSummary } from '../../src-shared/video';
import { usePage } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';
const RENDER_TIMEOUT_MS = 120_000;
// Long enough to watch it render (and cancel it) on a slow machine, short enough to finish soon.
const LONGER_SCRIPT = 'This sentence is here so that the render lasts long enough to watch its progress. '.repeat(10);
const STAGES = /^(Speaking the script|Timing the mouth shapes|Animating the presenter|Composing the video) · step [1-4] of 4$/;
// What the page writes from a progress event's fps and time left: either, both, or nothing.
const PACE = /^(?:\d+(?:\.\d)? fps)?(?: · )?(?:about \d+ (?:s|min(?: \d+ s)?|h(?: \d+ min)?) left)?$/;
// Chromium will not load a file: URL into a page served over http; the desktop app loads its page from file:.
const FILE_REFUSED = /^Not allowed to load local resource: file:\/\//;

describe('the Renders screen in Chromium', () => {
  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });
  const ui = usePage({ viewport: { width: 1280, height: 800 } });

  const openScreen = (name: 'Videos' | 'Renders') => ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const compose = () => ui.page.getByRole('region', { name: 'New video' });
  const library = () => ui.page.getByRole('region', { name: 'Library' });
  const renders = () => ui.page.getByRole('region', { name: 'Renders' });
  const stats = () => ui.page.getByRole('region', { name: 'Statistics' });
  const row = (title: string) => renders().getByRole('listitem', { name: title, exact: true });
  const badge = (title: string) => row(title).locator('.badge');
  const statTotal = (name: string) => stats().locator('.stats__total').filter({ has: ui.page.getByText(name, { exact: true }) }).locator('dd');

  async function listed(): Promise<VideoSummary[]> {
    const answer = await ui.harness.app.handlers['videos:list']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }
  async function video(title: string): Promise<VideoSummary> {
    const found = (await listed()).find((v) => v.title === title);
    if (!found) throw new Error(`no video titled ${title}`);
    return found;
  }
  async function readStats(): Promise<RenderStats> {
    const answer = await ui.harness.app.handlers['stats:get']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }

  /** Queue a script from the Videos screen, as a user does, and wait until main has it. */
  async function renderScript(title: string, script: string): Promise<void> {
    await openScreen('Videos');
    await compose().getByLabel('Title').fill(title);
    await compose().getByLabel('Script').fill(script);
    await compose().getByRole('button', { name: 'Render' }).click();
    await library().getByRole('listitem', { name: title, exact: true }).waitFor();
  }

  test('a script rendered from the Videos screen shows its stage, progress and pace there, then its encoder, its file and the statistics', async () => {
    const progress: RenderProgress[] = [];
    const stop = ui.harness.app.onEvent((name, payload) => {
      if (name === 'render:progress') progress.push(payload as RenderProgress);
    });
    try {
      await openScreen('Renders');
      await renders().getByText('No renders yet').waitFor();

      await renderScript('Watched render', LONGER_SCRIPT);
      await openScreen('Renders');
      const bar = row('Watched render').getByRole('progressbar', { name: 'Progress of Watched render' });
      await bar.waitFor();
      await expect.poll(() => bar.evaluate((el) => (el as unknown as { value: number }).value), { timeout: RENDER_TIMEOUT_MS }).toBeGreaterThan(0);
      expect(await row('Watched render').locator('.render__stage-name').textContent()).toMatch(STAGES);
      expect(await row('Watched render').locator('.render__percent').textContent()).toMatch(/^\d{1,3}%$/);

      // A second render waits behind the first: the running one stays on top though it is older.
      await renderScript('Queued behind it', 'Hello! This one waits its turn.');
      await openScreen('Renders');
      await row('Queued behind it').getByText('Waiting in the queue').waitFor();
      expect(await renders().locator('.render__title').allTextContents()).toEqual(['Watched render', 'Queued behind it']);
      expect(await badge('Watched render').textContent()).toBe('Rendering');
      expect(await badge('Queued behind it').textContent()).toBe('Queued');

      // The pace, once main knows it, in the page's words.
      const pace = row('Watched render').locator('.render__pace');
      await pace.filter({ hasText: / left$/ }).waitFor({ timeout: RENDER_TIMEOUT_MS });
      expect(await pace.textContent()).toMatch(PACE);
      expect(progress.some((p) => p.etaSeconds !== undefined)).toBe(true);
      await ui.page.screenshot({ path: join(SHOTS, 'renders-running.png') });

      for (const title of ['Watched render', 'Queued behind it']) {
        await badge(title).filter({ hasText: /^Completed$/ }).waitFor({ timeout: RENDER_TIMEOUT_MS });
      }
    } finally {
      stop();
    }

    // Finished ones newest first; a finished render has no bar, and shows its encoder as main recorded it.
    expect(await renders().locator('.render__title').allTextContents()).toEqual(['Queued behind it', 'Watched render']);
    const watched = await video('Watched render');
    expect(watched.encoder).toMatch(/\S/);
    expect(await row('Watched render').getByRole('progressbar').count()).toBe(0);
    expect(await row('Watched render').locator('.render__encoder code').textContent()).toBe(watched.encoder);

    await row('Watched render').getByRole('button', { name: 'Show in folder' }).click();
    const revealed = row('Watched render').getByRole('status');
    await revealed.waitFor();
    const reveal = await ui.harness.app.handlers['render:reveal']({ videoId: watched.id });
    expect(reveal).toEqual({ ok: true, value: { path: watched.outputPath } });
    expect(await revealed.locator('code').textContent()).toBe(watched.outputPath);
    expect(statSync(watched.outputPath!).size).toBeGreaterThan(0);

    // The statistics, read again when the renders finished, agree with main's.
    const expected = await readStats();
    expect(expected.finished).toBe(2);
    const seconds = Math.round(expected.minutesOfVideo * 60);
    expect(seconds).toBe(Math.round((watched.durationSeconds ?? 0) + ((await video('Queued behind it')).durationSeconds ?? 0)));
    await expect.poll(() => statTotal('Completed').textContent()).toBe('2');
    expect(await statTotal('Video made').textContent()).toBe(seconds < 60 ? `${seconds} s` : `${(seconds / 60).toFixed(1)} min`);
    expect(await stats().getByRole('listitem', { name: 'Completed: 2' }).count()).toBe(1);
    const byEncoder = stats().getByRole('table', { name: 'By encoder' });
    const encoderRow = byEncoder.getByRole('row', { name: new RegExp(`^${watched.encoder}\\b`) });
    expect(await encoderRow.locator('td').allTextContents()).toEqual(['2', expect.stringMatching(/^\d+\.\d+× real time$/)]);
    expect(await stats().getByRole('table', { name: 'By execution provider' }).locator('tbody tr').count()).toBeGreaterThan(0);
    expect(ui.errors).toEqual([]);
    await ui.page.screenshot({ path: join(SHOTS, 'renders-finished.png') });
    await stats().screenshot({ path: join(SHOTS, 'renders-statistics.png') });

    // Play: the file itself, by its file: URL (which this http-served page may not load).
    await row('Watched render').getByRole('button', { name: 'Play' }).click();
    const player = row('Watched render').getByLabel('Video of Watched render');
    const link = row('Watched render').getByRole('link', { name: 'Open the file' });
    await link.waitFor();
    expect(fileURLToPath((await link.getAttribute('href'))!)).toBe(watched.outputPath);
    if ((await player.count()) > 0) expect(fileURLToPath((await player.getAttribute('src'))!)).toBe(watched.outputPath);
    expect(ui.errors.filter((error) => !FILE_REFUSED.test(error))).toEqual([]);
    await ui.page.screenshot({ path: join(SHOTS, 'renders-play.png') });
  });

  test('a render cancelled from the Renders screen shows cancelled at once, and Retry renders it to the end', async () => {
    await renderScript('Render to cancel', LONGER_SCRIPT);
    await openScreen('Renders');
    await row('Render to cancel').getByRole('progressbar').waitFor();
    await row('Render to cancel').getByRole('button', { name: 'Cancel' }).click();

    // Main stops a render within a second; five leave room for a busy machine.
    await badge('Render to cancel').filter({ hasText: /^Cancelled$/ }).waitFor({ timeout: 5_000 });
    expect((await video('Render to cancel')).status).toBe('cancelled');
    expect(await row('Render to cancel').getByRole('progressbar').count()).toBe(0);
    expect(await row('Render to cancel').locator('.render__reason').textContent()).toMatch(/\S/);
    expect(await row('Render to cancel').getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await expect.poll(async () => (await readStats()).byStatus.cancelled).toBe(1);
    await stats().getByRole('listitem', { name: 'Cancelled: 1' }).waitFor();

    await row('Render to cancel').getByRole('button', { name: 'Retry' }).click();
    await row('Render to cancel').getByRole('progressbar').waitFor();
    expect(await row('Render to cancel').getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await badge('Render to cancel').filter({ hasText: /^Completed$/ }).waitFor({ timeout: RENDER_TIMEOUT_MS });

    const done = await video('Render to cancel');
    expect(done.status).toBe('completed');
    expect(existsSync(done.outputPath!)).toBe(true);
    await statTotal('Completed').filter({ hasText: /^1$/ }).waitFor();
    await stats().getByRole('listitem', { name: 'Cancelled: 0' }).waitFor();
    expect(ui.errors).toEqual([]);
  });

  test('a render whose background image was deleted fails, and the Renders screen shows main\'s reason beside Retry', async () => {
    const background = join(ui.harness.uploads, 'background.png');
    await promisify(execFile)(ffmpegPath(), ['-y', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=navy:s=1280x720', '-frames:v', '1', background]);
    const created = await ui.harness.app.handlers['videos:create']({
      project: { title: 'Lost background', scenes: [{ text: 'The picture behind me is gone.', background: { type: 'image', path: background } }] },
    });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.value.status).toBe('draft');
    // The user moves the picture away after saving the draft.
    await rm(background);
    // The page may have read the library before the draft was made from here, behind its back.
    await ui.page.reload();

    await openScreen('Renders');
    await renders().getByText('No renders yet').waitFor();
    await openScreen('Videos');
    await library().getByRole('listitem', { name: 'Lost background', exact: true }).getByRole('button', { name: 'Render' }).click();
    await openScreen('Renders');
    await badge('Lost background').filter({ hasText: /^Failed$/ }).waitFor({ timeout: RENDER_TIMEOUT_MS });

    const failed = await video('Lost background');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(background);
    const actions = row('Lost background').locator('.render__actions');
    expect(await actions.locator('.render__reason').textContent()).toBe(failed.error);
    expect(await actions.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);
    expect(await row('Lost background').getByRole('button', { name: 'Show in folder' }).count()).toBe(0);
    await stats().getByRole('listitem', { name: 'Failed: 1' }).waitFor();
    expect(await statTotal('Completed').textContent()).toBe('0');
    expect(ui.errors).toEqual([]);
    await ui.page.screenshot({ path: join(SHOTS, 'renders-failed.png') });

    // Edit opens the project in the editor, where the background can be picked again.
    await actions.getByRole('button', { name: 'Edit' }).click();
    const editor = ui.page.getByRole('region', { name: 'Editor' });
    await expect.poll(() => editor.getByLabel('Title').inputValue()).toBe('Lost background');
  });
});
