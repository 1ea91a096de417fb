import { statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { usePage } from './harness';

const RENDER_TIMEOUT_MS = 90_000;

describe('the library in Chromium', () => {
  const ui = usePage();

  const compose = () => ui.page.getByRole('region', { name: 'New video' });
  const library = () => ui.page.getByRole('region', { name: 'Library' });

  test('a new library says there are no videos yet', async () => {
    await library().getByText('No videos yet').waitFor();
    expect(await library().getByRole('listitem').count()).toBe(0);
    expect(await ui.page.title()).toBe('Mouthpiece');
    expect(ui.errors).toEqual([]);
  });

  test('rendering an empty script shows the error main answers, and adds nothing', async () => {
    await library().getByText('No videos yet').waitFor();
    await compose().getByRole('button', { name: 'Render' }).click();

    const alert = compose().getByRole('alert');
    await alert.waitFor();
    const shown = await alert.textContent();
    // The very message the handler gives for the same input, not one the page made up.
    const answer = await ui.harness.app.handlers['videos:create']({ text: '' });
    expect(answer.ok).toBe(false);
    expect(shown).toBe(answer.ok ? null : answer.error.message);
    expect(await library().getByRole('listitem').count()).toBe(0);
    expect(await ui.harness.app.handlers['videos:list']({})).toEqual({ ok: true, value: [] });
  });

  test('a short script renders to completion and the library shows where the video was saved', async () => {
    await library().getByText('No videos yet').waitFor();
    await compose().getByLabel('Title').fill('Hello from the e2e test');
    await compose().getByLabel('Script').fill('Hello! This is a short test of Mouthpiece.');
    await compose().getByRole('button', { name: 'Render' }).click();

    const item = library().getByRole('listitem', { name: 'Hello from the e2e test' });
    await item.waitFor();
    // The form is cleared once main has queued the render.
    await expect.poll(() => compose().getByLabel('Script').inputValue()).toBe('');

    await item.getByText('Completed', { exact: true }).waitFor({ timeout: RENDER_TIMEOUT_MS });
    const shownPath = await item.locator('.video__output code').textContent();

    const listed = await ui.harness.app.handlers['videos:list']({});
    expect(listed.ok).toBe(true);
    const video = listed.ok ? listed.value.find((v) => v.title === 'Hello from the e2e test') : undefined;
    expect(video?.status).toBe('completed');
    expect(shownPath).toBe(video?.outputPath);
    expect(statSync(shownPath!).size).toBeGreaterThan(0);
    // The encoder the render recorded, as main lists it.
    expect(video?.encoder).toMatch(/\S/);
    expect(await item.locator('.video__encoder').textContent()).toBe(`Encoded with ${video?.encoder}`);
    expect(await item.getByRole('progressbar').count()).toBe(0);
    expect(ui.errors).toEqual([]);

    await ui.page.screenshot({ path: '/tmp/e2e-library.png', fullPage: true });
  });

  test('cancelling a render from the library marks it cancelled', async () => {
    await library().getByText('No videos yet').waitFor();
    await compose().getByLabel('Title').fill('A render to cancel');
    const sentence = 'This sentence is here so that the render takes long enough to be cancelled. ';
    await compose().getByLabel('Script').fill(sentence.repeat(30));
    await compose().getByRole('button', { name: 'Render' }).click();

    const item = library().getByRole('listitem', { name: 'A render to cancel' });
    await item.getByRole('progressbar', { name: 'Progress of A render to cancel' }).waitFor();
    await item.getByRole('button', { name: 'Cancel' }).click();

    await item.getByText('Cancelled', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await item.getByRole('progressbar').count()).toBe(0);
    const listed = await ui.harness.app.handlers['videos:list']({});
    expect(listed.ok && listed.value.map((v) => v.status)).toEqual(['cancelled']);
    // A cancelled video can be queued again from the library.
    expect(await item.getByRole('button', { name: 'Render again' }).isVisible()).toBe(true);
  });
});
