import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { EncoderReport } from '../../src-shared/ipc';
import { usePage } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';

describe('the settings screen in Chromium', () => {
  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });
  const ui = usePage({ viewport: { width: 1280, height: 800 } });

  const settings = () => ui.page.getByRole('region', { name: 'Settings' });
  const encoders = () => settings().getByRole('table', { name: 'Encoders' });
  const ffmpegField = () => settings().getByLabel('System ffmpeg');
  /** The ffmpeg form's own section: the screen has other forms with a Save button. */
  const ffmpegSection = () => settings().getByRole('region', { name: 'ffmpeg' });

  async function openSettings(): Promise<void> {
    await ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Settings' }).click();
    await encoders().waitFor();
    await expect.poll(() => ffmpegField().isEnabled()).toBe(true);
  }

  async function realReport(): Promise<EncoderReport> {
    const answer = await ui.harness.app.handlers['encoders:list']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }

  async function savedFfmpeg(): Promise<string | null> {
    const answer = await ui.harness.app.handlers['settings:get']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value.ffmpegPath;
  }

  test('the encoder report shows libx264 working, the reason each other candidate failed, and which one renders use', async () => {
    await openSettings();
    const report = await realReport();

    const libx264 = encoders().getByRole('row', { name: /^libx264\b/ });
    expect(await libx264.getByText('Works', { exact: true }).count()).toBe(1);
    const chosen = encoders().getByRole('row', { name: new RegExp(`^${report.chosen}\\b`) });
    expect(await chosen.getByText('In use', { exact: true }).count()).toBe(1);
    expect(await encoders().getByText('In use', { exact: true }).count()).toBe(1);

    // Every row the probe answered is shown, and a failed one says why in main's words.
    expect(await encoders().locator('tbody tr').count()).toBe(report.candidates.length);
    for (const candidate of report.candidates.filter((c) => !c.ok)) {
      expect(candidate.reason).toMatch(/\S/);
      const row = encoders().getByRole('row', { name: new RegExp(`^${candidate.name}\\b`) });
      expect(await row.locator('td').textContent()).toBe(candidate.reason);
      expect(await row.getByText('Works', { exact: true }).count()).toBe(0);
    }
    expect(await settings().getByText(report.ffmpeg, { exact: true }).count()).toBe(1);
    expect(await settings().getByText('Renders use the first encoder in this list that works here.').isVisible()).toBe(true);

    // The probe is cached per binary, so checking again answers the same report.
    await settings().getByRole('button', { name: 'Check again' }).click();
    await settings().getByRole('button', { name: 'Check again' }).waitFor();
    expect(await encoders().locator('tbody tr').count()).toBe(report.candidates.length);

    const account = await ui.harness.app.handlers['account:get']({});
    expect(account.ok && account.value.tier).toBe('free');
    expect(await settings().getByText(/Free · \d+ credits? · renders up to 1080p/).isVisible()).toBe(true);
    expect(ui.errors).toEqual([]);

    await ui.page.screenshot({ path: join(SHOTS, 'settings.png') });
    await ui.page.screenshot({ path: join(SHOTS, 'settings-full.png'), fullPage: true });
  });

  test('how many renders run at once is chosen here and kept by main', async () => {
    await openSettings();
    const field = settings().getByLabel('Renders at once');
    await expect.poll(() => field.isEnabled()).toBe(true);
    expect(await field.inputValue()).toBe('1');
    await field.selectOption('2');
    await expect
      .poll(async () => {
        const answer = await ui.harness.app.handlers['settings:get']({});
        return answer.ok ? answer.value.renderConcurrency : undefined;
      })
      .toBe(2);
    await ui.page.reload();
    await openSettings();
    await expect.poll(() => settings().getByLabel('Renders at once').inputValue()).toBe('2');
  });

  test('the About section shows the version from package.json, the data folder in use and the cpu provider as available', async () => {
    await openSettings();
    const about = settings().getByRole('region', { name: 'About Mouthpiece' });
    const providers = about.getByRole('table', { name: 'Execution providers' });
    await providers.waitFor();

    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await about.getByRole('definition').first().textContent()).toBe(version);
    expect(await about.getByText(ui.harness.home, { exact: true }).count()).toBe(1);
    const cpu = providers.getByRole('row', { name: /^cpu\b/ });
    expect(await cpu.getByText('Available', { exact: true }).count()).toBe(1);

    // Every provider main answered is listed, and one it could not load says why in main's words.
    const answer = await ui.harness.app.handlers['app:info']({});
    if (!answer.ok) throw new Error(answer.error.message);
    expect(await about.getByText(answer.value.ffmpeg, { exact: true }).count()).toBe(1);
    expect(await providers.locator('tbody tr').count()).toBe(answer.value.providers.length);
    for (const provider of answer.value.providers.filter((p) => !p.available)) {
      const row = providers.getByRole('row', { name: new RegExp(`^${provider.name}\\b`) });
      expect(await row.locator('td').textContent()).toBe(provider.reason);
    }
    expect(ui.errors).toEqual([]);

    await about.scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: join(SHOTS, 'settings-about.png') });
  });

  test('saving an ffmpeg path that does not exist shows main\'s message naming it, and keeps the setting as it was', async () => {
    await openSettings();
    const missing = join(ui.harness.home, 'no-such-folder', 'ffmpeg');
    await ffmpegField().fill(missing);
    await ffmpegSection().getByRole('button', { name: 'Save' }).click();

    const alert = ffmpegSection().getByRole('alert');
    await alert.waitFor();
    const answer = await ui.harness.app.handlers['settings:save']({ ffmpegPath: missing });
    expect(answer.ok).toBe(false);
    expect(await alert.textContent()).toBe(answer.ok ? null : answer.error.message);
    expect(await alert.textContent()).toContain(missing);
    expect(await savedFfmpeg()).toBeNull();
    await ui.page.screenshot({ path: join(SHOTS, 'settings-bad-path.png') });
  });

  test('an ffmpeg path that exists is saved and shown again on the next visit; an empty one goes back to PATH', async () => {
    await openSettings();
    // The ffmpeg the probe ran is a real program on any machine.
    const { ffmpeg } = await realReport();
    await ffmpegField().fill(ffmpeg);
    await ffmpegSection().getByRole('button', { name: 'Save' }).click();
    await ffmpegSection().getByRole('status').filter({ hasText: /^Saved/ }).waitFor();
    expect(await savedFfmpeg()).toBe(ffmpeg);

    await ui.page.reload();
    await openSettings();
    expect(await ffmpegField().inputValue()).toBe(ffmpeg);

    await ffmpegField().fill('');
    await ffmpegSection().getByRole('button', { name: 'Save' }).click();
    await ffmpegSection().getByRole('status').filter({ hasText: 'the ffmpeg on PATH is used' }).waitFor();
    expect(await savedFfmpeg()).toBeNull();
    expect(await settings().getByRole('alert').count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });
});
