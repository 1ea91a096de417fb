import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { VoiceSummary } from '../../src-shared/voice';
import { buildWav2LipTestGraph } from '../support/onnxGraphs';
import { sharedFile, useSharedModels } from '../support/shared';
import { usePage } from './harness';

const PIPER_VOICE = sharedFile('models/piper-test-voice/test_voice.onnx');
const RECORDING = sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav');

// The page's elements, spelled out because the tests compile without lib "DOM".
interface PageAudio {
  duration: number;
  error: unknown;
}
interface PageElement {
  getAttribute(name: string): string | null;
}
const labelsOf = (items: PageElement[]) => items.map((item) => item.getAttribute('aria-label'));

describe('the Voices screen and the editor’s voice choices in Chromium', () => {
  useSharedModels();

  // Files the tests pick, as if from the user's disk: the harness answers their real paths.
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-voices-'));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });
  const ui = usePage(() => ({ localFolders: [dirname(PIPER_VOICE), dirname(RECORDING), scratch] }));

  const openScreen = (name: 'Videos' | 'Voices') => ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name }).click();
  const voicesScreen = () => ui.page.getByRole('region', { name: 'Voices' });
  const language = (name: string) => voicesScreen().getByRole('group', { name, exact: true });
  const row = (languageName: string, voiceName: string) => language(languageName).getByRole('listitem', { name: voiceName, exact: true });
  const shownLanguages = () => voicesScreen().getByRole('heading', { level: 3 }).allTextContents();
  const shownVoices = () => voicesScreen().getByRole('listitem').evaluateAll(labelsOf);
  const compose = () => ui.page.getByRole('region', { name: 'New video' });

  async function listed(): Promise<VoiceSummary[]> {
    const answer = await ui.harness.app.handlers['voices:list']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }

  async function storedProjects(): Promise<Record<string, unknown>[]> {
    const rows = await ui.harness.app.db.selectFrom('videos').select('project_json').orderBy('created_at').execute();
    return rows.map((r) => JSON.parse(r.project_json) as Record<string, unknown>);
  }

  test('lists every espeak-ng voice grouped by language, and the search narrows them by name or language', async () => {
    await openScreen('Voices');
    await row('English', 'English (America)').waitFor();
    const voices = await listed();
    expect(voices.length).toBeGreaterThan(100);
    expect(voices.every((v) => v.engine === 'espeak' && v.builtin)).toBe(true);
    expect((await shownVoices()).sort()).toEqual(voices.map((v) => v.name).sort());

    // A language's voices share a group; English has espeak-ng's eight accents of it.
    const english = voices.filter((v) => v.language === 'en' || v.language.startsWith('en-')).map((v) => v.name);
    expect(english.length).toBeGreaterThan(3);
    const englishRows = await language('English').getByRole('listitem').evaluateAll(labelsOf);
    expect(englishRows.sort()).toEqual(english.sort());
    const languages = await shownLanguages();
    expect(languages.length).toBeLessThan(voices.length);
    expect(new Set(languages).size).toBe(languages.length);
    expect(languages).toEqual([...languages].sort((a, b) => a.localeCompare(b)));
    const german = row('German', 'German');
    expect(await german.getByText('GPL-3.0 (espeak-ng)').isVisible()).toBe(true);
    expect(await german.getByText('de', { exact: true }).isVisible()).toBe(true);
    expect(await german.getByRole('button', { name: 'Delete' }).count()).toBe(0);

    const search = voicesScreen().getByRole('searchbox', { name: 'Search voices' });
    await search.fill('german');
    await expect.poll(shownLanguages).toEqual(['German']);
    expect(await shownVoices()).toEqual(['German']);
    expect(await voicesScreen().getByText(`1 of ${voices.length} voices`).isVisible()).toBe(true);

    await search.fill('de');
    await expect.poll(shownLanguages).toEqual(['German']);

    // A code finds its variants; a name finds voices in any language.
    await search.fill('pt');
    await expect.poll(shownVoices).toEqual(['Portuguese (Brazil)', 'Portuguese (Portugal)']);
    await search.fill('Scotland');
    await expect.poll(shownVoices).toEqual(['English (Scotland)']);

    await search.fill('no such language');
    await voicesScreen().getByText('No voice matches “no such language”.').waitFor();
    expect(await shownVoices()).toEqual([]);

    await search.fill('');
    await expect.poll(async () => (await shownVoices()).length).toBe(voices.length);
    expect(ui.errors).toEqual([]);
  });

  test('playing a voice shows a spinner while main synthesises, then plays its sample; one plays at a time', async () => {
    await openScreen('Voices');
    const american = row('English', 'English (America)');
    await american.waitFor();

    // Hold main's answer, so the spinner is seen for certain rather than by luck.
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    await ui.page.route('**/invoke/voices%3Apreview', async (route) => {
      await held;
      await route.continue();
    });
    await american.getByRole('button', { name: 'Play English (America)' }).click();
    await american.getByRole('status').getByText('Synthesising a sample…').waitFor();
    expect(await american.getByRole('button', { name: 'Stop English (America)' }).getAttribute('aria-busy')).toBe('true');
    expect(await american.locator('audio').count()).toBe(0);
    release();

    const audio = american.getByLabel('Sample of English (America)');
    // A sample the page may not load (CSP) or cannot decode has a NaN duration and an error.
    await expect.poll(() => audio.evaluate((a: PageAudio) => (a.error ? -1 : a.duration)), { timeout: 30_000 }).toBeGreaterThan(1);
    expect(await audio.getAttribute('src')).toMatch(/^data:audio\/wav;base64,/);
    expect(await american.getByRole('status').count()).toBe(0);

    const german = row('German', 'German');
    await german.getByRole('button', { name: 'Play German' }).click();
    await expect.poll(() => german.getByLabel('Sample of German').evaluate((a: PageAudio) => (a.error ? -1 : a.duration)), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await ui.page.locator('audio').count()).toBe(1);
    expect(await american.getByRole('button', { name: 'Play English (America)' }).isVisible()).toBe(true);

    await german.getByRole('button', { name: 'Stop German' }).click();
    expect(await ui.page.locator('audio').count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });

  test('a Piper voice imported with the picker is listed first under English, offered by the editor, and deleted', async () => {
    await openScreen('Voices');
    await row('English', 'English (America)').waitFor();
    await voicesScreen().getByLabel('Piper voice to import').setInputFiles(PIPER_VOICE);

    await expect.poll(async () => (await listed()).filter((v) => v.engine === 'piper').length).toBe(1);
    const piper = (await listed()).find((v) => v.engine === 'piper')!;
    expect(piper.builtin).toBe(false);
    expect(piper.language).toMatch(/^en/);
    const imported = row('English', piper.name);
    await imported.waitFor();
    expect(await imported.getByText('Piper', { exact: true }).isVisible()).toBe(true);
    // The fixture's .onnx.json states a dataset but no licence, which the row says.
    expect(piper.licence).toBeNull();
    expect(await imported.getByText('Licence not stated in its .onnx.json', { exact: false }).isVisible()).toBe(true);
    expect(await row('English', 'English (America)').getByText('Licence not stated', { exact: false }).count()).toBe(0);
    // Languages holding the user's voices come first, and their voices first in them.
    expect((await shownLanguages())[0]).toBe('English');
    expect((await shownVoices())[0]).toBe(piper.name);
    const copied = join(ui.harness.home, 'voices', piper.id.slice('piper:'.length), 'test_voice.onnx');
    expect(existsSync(copied)).toBe(true);
    expect(existsSync(`${copied}.json`)).toBe(true);
    await ui.page.screenshot({ path: '/tmp/e2e-voices.png' });

    await openScreen('Videos');
    const voiceChoice = compose().getByLabel('Voice', { exact: true });
    expect(await compose().getByLabel('Language').inputValue()).toBe('en');
    expect(await voiceChoice.locator('option').allTextContents()).toContain(`${piper.name} (Piper)`);

    await openScreen('Voices');
    await imported.getByRole('button', { name: 'Delete' }).click();
    await imported.getByRole('group', { name: `Delete ${piper.name}?` }).getByRole('button', { name: 'Delete' }).click();
    await imported.waitFor({ state: 'detached' });
    expect((await listed()).some((v) => v.engine === 'piper')).toBe(false);
    expect(existsSync(copied)).toBe(false);
    expect(existsSync(PIPER_VOICE)).toBe(true);

    await openScreen('Videos');
    expect(await voiceChoice.locator('option').allTextContents()).not.toContain(`${piper.name} (Piper)`);
    expect(ui.errors).toEqual([]);
  });

  test('an imported voice shows the licence its .onnx.json states', async () => {
    const voice = join(scratch, 'licensed_voice.onnx');
    await copyFile(PIPER_VOICE, voice);
    const config = JSON.parse(await readFile(`${PIPER_VOICE}.json`, 'utf8')) as Record<string, unknown>;
    await writeFile(`${voice}.json`, JSON.stringify({ ...config, license: 'CC-BY-4.0 (made up for this test)' }));
    await openScreen('Voices');
    await row('English', 'English (America)').waitFor();
    await voicesScreen().getByLabel('Piper voice to import').setInputFiles(voice);

    const imported = row('English', 'licensed_voice');
    await imported.getByText('CC-BY-4.0 (made up for this test)', { exact: true }).waitFor();
    expect(await imported.getByText('Licence not stated', { exact: false }).count()).toBe(0);
    expect((await listed()).find((v) => v.engine === 'piper')?.licence).toBe('CC-BY-4.0 (made up for this test)');
    expect(ui.errors).toEqual([]);
  });

  test('a text file named .onnx is refused with main’s message naming the file, with or without its .onnx.json', async () => {
    const notes = join(scratch, 'notes.onnx');
    await writeFile(notes, 'these are my notes, not a voice\n');
    await copyFile(`${PIPER_VOICE}.json`, `${notes}.json`);
    const lonely = join(scratch, 'lonely.onnx');
    await writeFile(lonely, 'no voice here either\n');
    await openScreen('Voices');
    const picker = voicesScreen().getByLabel('Piper voice to import');

    for (const file of [notes, lonely]) {
      const answer = await ui.harness.app.handlers['voices:import']({ path: file });
      expect(answer.ok).toBe(false);
      const refusal = answer.ok ? '' : answer.error.message;
      expect(refusal).toContain(file.slice(scratch.length + 1));

      await picker.setInputFiles(file);
      await voicesScreen().getByRole('alert').getByText(refusal, { exact: true }).waitFor();
    }
    expect((await listed()).some((v) => v.engine === 'piper')).toBe(false);
    expect(ui.errors).toEqual([]);
  });

  test('a video made in the editor stores the chosen voice and speed, and the next visit starts in its language', async () => {
    const languageChoice = compose().getByLabel('Language');
    const voiceChoice = compose().getByLabel('Voice', { exact: true });
    await expect.poll(() => languageChoice.isEnabled()).toBe(true);
    expect(await languageChoice.inputValue()).toBe('en');
    expect(await voiceChoice.inputValue()).toBe('espeak:en-us');

    await languageChoice.selectOption({ label: 'Portuguese' });
    expect(await voiceChoice.locator('option').allTextContents()).toEqual(['Portuguese (Brazil)', 'Portuguese (Portugal)']);
    await voiceChoice.selectOption({ label: 'Portuguese (Portugal)' });

    const speed = compose().getByLabel('Speed');
    expect(await speed.inputValue()).toBe('1');
    await speed.focus();
    for (let i = 0; i < 5; i++) await speed.press('ArrowRight');
    expect(await compose().locator('output').textContent()).toBe('1.25×');

    await compose().getByLabel('Title').fill('Em português');
    await compose().getByLabel('Script').fill('Olá! [pause 1s] Como vai?');
    expect(await compose().getByText('[pause 1s]', { exact: true }).isVisible()).toBe(true);
    await compose().getByRole('button', { name: 'Render' }).click();
    await ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'Em português' }).waitFor();
    expect(await storedProjects()).toMatchObject([
      { title: 'Em português', voice: 'espeak:pt', speed: 1.25, lipSync: 'warp', scenes: [{ text: 'Olá! [pause 1s] Como vai?' }] },
    ]);

    await ui.page.reload();
    await expect.poll(() => languageChoice.isEnabled()).toBe(true);
    expect(await languageChoice.inputValue()).toBe('pt');
    expect(await voiceChoice.inputValue()).toBe('espeak:pt');
    expect(await speed.inputValue()).toBe('1');
    expect(ui.errors).toEqual([]);
  });

  test('a recording chosen in the editor speaks the video, with the script as its transcript', async () => {
    await compose().getByLabel('Use your own recording instead of a voice').setInputFiles(RECORDING);
    expect(await compose().getByTestId('recording-name').textContent()).toBe(basename(RECORDING));
    await compose().getByLabel('Title').fill('My own voice');
    await compose().getByLabel('Script').fill('A transcript of the recording.');
    await compose().getByRole('button', { name: 'Render' }).click();
    await ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'My own voice' }).waitFor();
    expect((await storedProjects()).find((p) => p.title === 'My own voice')).toMatchObject({
      scenes: [{ text: 'A transcript of the recording.', audio: { path: RECORDING, trim: true } }],
    });
    await expect.poll(() => compose().getByTestId('recording-name').count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });

  test('a Wav2Lip model chosen in the editor is checked: a text file is refused, a real one shows its licence and is rendered with', async () => {
    const fake = join(scratch, 'not-wav2lip.onnx');
    await writeFile(fake, 'not a model\n');
    const model = join(scratch, 'wav2lip.onnx');
    await writeFile(model, buildWav2LipTestGraph());
    const lipSync = compose().getByRole('group', { name: 'Lip sync' });
    expect(await lipSync.getByRole('radio', { name: 'Landmark warp (built in)' }).isChecked()).toBe(true);
    expect(await lipSync.getByText('Only photo and clip avatars use this', { exact: false }).isVisible()).toBe(true);

    const refused = await ui.harness.app.handlers['lipsync:check']({ path: fake });
    expect(refused.ok).toBe(false);
    let chooser = ui.page.waitForEvent('filechooser');
    await lipSync.getByRole('radio', { name: 'Wav2Lip model…' }).click();
    await (await chooser).setFiles(fake);
    await lipSync.getByRole('alert').getByText(refused.ok ? '' : refused.error.message, { exact: true }).waitFor();
    expect(refused.ok ? '' : refused.error.message).toContain('not-wav2lip.onnx');

    // Rendering without a model that passed the check is refused in the page, before main.
    await compose().getByLabel('Script').fill('Hello there.');
    await compose().getByRole('button', { name: 'Render' }).click();
    await compose().getByText('Choose a Wav2Lip model that passes the check', { exact: false }).waitFor();
    expect(await storedProjects()).toEqual([]);

    const accepted = await ui.harness.app.handlers['lipsync:check']({ path: model });
    if (!accepted.ok) throw new Error(accepted.error.message);
    chooser = ui.page.waitForEvent('filechooser');
    await lipSync.getByRole('button', { name: 'Choose model…' }).click();
    await (await chooser).setFiles(model);
    await lipSync.getByText(accepted.value.licence, { exact: true }).waitFor();
    expect(await lipSync.getByText('wav2lip.onnx', { exact: true }).isVisible()).toBe(true);
    expect(await compose().getByRole('alert').count()).toBe(0);
    await ui.page.screenshot({ path: '/tmp/e2e-voices-editor.png' });

    await compose().getByLabel('Title').fill('Lips by model');
    await compose().getByRole('button', { name: 'Render' }).click();
    await ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'Lips by model' }).waitFor();
    expect(await storedProjects()).toMatchObject([{ title: 'Lips by model', lipSync: model }]);

    // Back to the warp: the next video says so.
    await lipSync.getByRole('radio', { name: 'Landmark warp (built in)' }).click();
    await compose().getByLabel('Title').fill('Lips by warp');
    await compose().getByLabel('Script').fill('Hello again.');
    await compose().getByRole('button', { name: 'Render' }).click();
    await ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'Lips by warp' }).waitFor();
    expect((await storedProjects())[1]).toMatchObject({ title: 'Lips by warp', lipSync: 'warp' });
    expect(ui.errors).toEqual([]);
  });
});
