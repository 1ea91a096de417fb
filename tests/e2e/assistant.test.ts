import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startFakeChat, type FakeChat } from '../support/fakeChat';
import { usePage } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';

const SCRIPT = {
  title: 'Welcome to Spoke & Chain',
  scenes: [
    { text: 'Hi, and welcome to Spoke & Chain, your neighbourhood bike shop.' },
    { text: 'Bring your bike in any weekday for a free safety check.' },
    { text: 'See you soon, and ride safe!' },
  ],
};
const CONTENT = JSON.stringify(SCRIPT);

describe('the script assistant in Chromium', () => {
  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });
  const ui = usePage({ viewport: { width: 1280, height: 800 } });
  let fake: FakeChat;
  beforeEach(async () => {
    fake = await startFakeChat();
  });
  afterEach(async () => {
    await fake.close();
  });

  const editor = () => ui.page.getByRole('region', { name: 'Editor' });
  const dialog = () => ui.page.getByRole('dialog', { name: 'Write it for me' });
  const settings = () => ui.page.getByRole('region', { name: 'Settings' });
  const sceneTexts = () => editor().getByRole('list', { name: 'Scenes' }).locator('.scene-row__text').allTextContents();
  const screen = (name: string) => ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name }).click();

  async function setUpInSettings(endpoint: string): Promise<void> {
    await screen('Settings');
    const endpointField = settings().getByLabel('Endpoint');
    await expect.poll(() => endpointField.isEnabled()).toBe(true);
    await endpointField.fill(endpoint);
    await settings().getByLabel('Model').fill('llama3.2');
    await settings().getByRole('region', { name: 'Script assistant' }).getByRole('button', { name: 'Save' }).click();
    await settings().getByRole('status').filter({ hasText: 'scripts are written by llama3.2' }).waitFor();
  }

  async function openNewDraft(): Promise<void> {
    await screen('Videos');
    await ui.page.getByRole('region', { name: 'New video' }).getByRole('button', { name: 'Open in the editor' }).click();
    await editor().getByLabel('Scene text').waitFor();
  }

  test('a brief becomes scenes as the text streams in; replacing them is one undo step', async () => {
    await setUpInSettings(fake.endpoint);
    const saved = await ui.harness.app.handlers['assistant:get']({});
    expect(saved).toEqual({ ok: true, value: { endpoint: fake.endpoint, model: 'llama3.2', hasKey: false } });

    await openNewDraft();
    await editor().getByLabel('Title').fill('');
    await editor().getByLabel('Scene text').fill('The old scene.');
    expect(await sceneTexts()).toEqual(['The old scene.']);

    // The reply stops partway until the test lets it go on, so the text so far can be seen.
    fake.reply({ kind: 'stream', content: CONTENT, pieces: 10, writes: 12, holdAfter: 6 });
    await editor().getByRole('button', { name: 'Write it for me' }).click();
    await dialog().getByLabel('What should the video say?').fill('a 20-second welcome for new customers of a bike shop, friendly');
    await dialog().getByRole('button', { name: 'Write', exact: true }).click();
    const stream = dialog().getByLabel('What the assistant writes');
    // The title and scenes as they arrive, not the JSON they come in.
    await expect.poll(() => stream.textContent()).toContain('Welcome to Spoke');
    expect(await stream.textContent()).not.toContain('{');
    expect(await dialog().getByRole('button', { name: 'Replace the scenes' }).count()).toBe(0);
    await ui.page.screenshot({ path: `${SHOTS}/assistant-streaming.png` });
    fake.release();

    await dialog().getByRole('status').filter({ hasText: '3 scenes, about' }).waitFor();
    await expect.poll(() => stream.textContent()).toBe([SCRIPT.title, ...SCRIPT.scenes.map((s) => s.text)].join('\n\n'));
    expect(await dialog().getByRole('list', { name: 'Written scenes' }).getByRole('listitem').allTextContents()).toEqual(SCRIPT.scenes.map((s) => s.text));
    await ui.page.screenshot({ path: `${SHOTS}/assistant-written.png` });
    // The project went along: the endpoint was told how many scenes the video has now.
    expect(fake.requests.at(-1)!.body.messages![1].content).toContain('1 scene now');

    await dialog().getByRole('button', { name: 'Replace the scenes' }).click();
    expect(await dialog().count()).toBe(0);
    expect(await sceneTexts()).toEqual(SCRIPT.scenes.map((s) => s.text));
    expect(await editor().getByLabel('Title').inputValue()).toBe(SCRIPT.title);

    await editor().getByRole('button', { name: 'Undo' }).click();
    expect(await sceneTexts()).toEqual(['The old scene.']);
    expect(await editor().getByLabel('Title').inputValue()).toBe('');
  });

  test('without an endpoint the dialog says to set one in Settings; an unreachable one is a clear error', async () => {
    await openNewDraft();
    await editor().getByRole('button', { name: 'Write it for me' }).click();
    await dialog().getByRole('alert').filter({ hasText: 'not set up yet' }).waitFor();
    await dialog().getByRole('button', { name: 'Open Settings' }).click();
    // The dialog closes and the Settings screen shows, with the assistant's section.
    await ui.page.getByRole('region', { name: 'Script assistant' }).waitFor();
    expect(await dialog().count()).toBe(0);

    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((done) => closed.close(() => done()));
    await setUpInSettings(`http://127.0.0.1:${port}/v1`);

    await screen('Editor');
    await editor().getByRole('button', { name: 'Write it for me' }).click();
    await dialog().getByLabel('What should the video say?').fill('a short hello');
    await dialog().getByRole('button', { name: 'Write', exact: true }).click();
    const alert = dialog().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`http://127.0.0.1:${port}/v1/chat/completions cannot be reached (ECONNREFUSED): is Ollama or LM Studio running? Check the endpoint in Settings`);
    await ui.page.screenshot({ path: `${SHOTS}/assistant-unreachable.png` });
  });

  test('an API key is stored without being shown again, and can be removed', async () => {
    await screen('Settings');
    const section = settings().getByRole('region', { name: 'Script assistant' });
    await expect.poll(() => section.getByLabel('Endpoint').isEnabled()).toBe(true);
    await section.getByLabel('Endpoint').fill('ftp://127.0.0.1/v1');
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByRole('alert').waitFor();
    expect(await section.getByRole('alert').textContent()).toMatch(/^endpoint: "ftp:\/\/127\.0\.0\.1\/v1" is not an http or https address/);

    await section.getByLabel('Endpoint').fill(fake.endpoint);
    await section.getByLabel('API key').fill('sk-test-0123456789');
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByText('A key is stored.').waitFor();
    await section.screenshot({ path: `${SHOTS}/assistant-settings.png` });
    expect(await section.getByLabel('API key').inputValue()).toBe('');
    expect(await ui.page.content()).not.toContain('sk-test');

    await section.getByRole('button', { name: 'Remove' }).click();
    await section.getByRole('status').filter({ hasText: 'The API key was removed.' }).waitFor();
    expect(await section.getByText('A key is stored.').count()).toBe(0);
    expect(await ui.harness.app.handlers['assistant:get']({})).toEqual({ ok: true, value: { endpoint: fake.endpoint, model: null, hasKey: false } });
  });
});
