import { mkdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { estimateSeconds, type ProjectInput } from '../../src-shared/project';
import { usePage } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';

describe('the editor in Chromium', () => {
  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });
  const ui = usePage({ viewport: { width: 1280, height: 800 } });
  afterEach(async () => {
    // A preview still being drawn writes into the app's folder, which closing the harness deletes.
    await expect.poll(() => ui.page.locator('.preview__frame[aria-busy="true"]').count(), { timeout: 60_000 }).toBe(0);
  });

  const editor = () => ui.page.getByRole('region', { name: 'Editor' });
  const scenes = () => editor().getByRole('list', { name: 'Scenes' });
  const sceneText = () => editor().getByLabel('Scene text');
  const saved = () => editor().getByRole('status').filter({ hasText: /^Saved$/ });

  async function openNewDraft(): Promise<string> {
    await ui.page.getByRole('region', { name: 'New video' }).getByRole('button', { name: 'Open in the editor' }).click();
    await sceneText().waitFor();
    const listed = await ui.harness.app.handlers['videos:list']({});
    if (!listed.ok || listed.value.length !== 1) throw new Error(`expected one video, got ${JSON.stringify(listed)}`);
    return listed.value[0].id;
  }

  async function savedProject(videoId: string): Promise<ProjectInput> {
    const answer = await ui.harness.app.handlers['videos:get']({ videoId });
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value.project as ProjectInput;
  }

  async function sceneTexts(): Promise<string[]> {
    return scenes().locator('.scene-row__text').allTextContents();
  }

  test('scenes typed, styled, reordered, duplicated and deleted are saved and come back after a reload', async () => {
    const videoId = await openNewDraft();
    expect(await sceneTexts()).toHaveLength(1);
    // The only scene cannot be deleted.
    expect(await scenes().getByRole('button', { name: 'Delete scene 1' }).isDisabled()).toBe(true);

    await editor().getByLabel('Title').fill('Editor tour');
    await sceneText().fill('Welcome to the tour of the editor.');
    await editor().getByRole('button', { name: 'Add scene' }).click();
    await editor().getByRole('heading', { name: 'Scene 2' }).waitFor();
    await sceneText().fill('This second scene has a red background and the presenter on the left.');
    await editor().getByLabel('Background', { exact: true }).selectOption('colour');
    await editor().getByLabel('Background colour').fill('#cc2200');
    await editor().getByLabel('Avatar layout').selectOption('left');
    await ui.page.screenshot({ path: `${SHOTS}/editor-two-scenes.png` });

    // Scene 2 moves to the front.
    await scenes().getByRole('button', { name: 'Move scene 2 up' }).click();
    expect(await sceneTexts()).toEqual([
      'This second scene has a red background and the presenter on the left.',
      'Welcome to the tour of the editor.',
    ]);

    await scenes().getByRole('button', { name: 'Duplicate scene 2' }).click();
    expect(await sceneTexts()).toEqual([
      'This second scene has a red background and the presenter on the left.',
      'Welcome to the tour of the editor.',
      'Welcome to the tour of the editor.',
    ]);
    await scenes().getByRole('button', { name: 'Delete scene 1' }).click();
    expect(await sceneTexts()).toEqual(['Welcome to the tour of the editor.', 'Welcome to the tour of the editor.']);
    await editor().getByRole('button', { name: 'Undo' }).click();
    expect(await sceneTexts()).toEqual([
      'This second scene has a red background and the presenter on the left.',
      'Welcome to the tour of the editor.',
      'Welcome to the tour of the editor.',
    ]);

    // A burst of typing is one undo step, taken back by Ctrl+Z.
    await scenes().getByRole('button', { name: /^Scene 3/ }).click();
    await sceneText().press('End');
    await sceneText().pressSequentially(' And goodbye.');
    await ui.page.keyboard.press('Control+z');
    expect(await sceneText().inputValue()).toBe('Welcome to the tour of the editor.');
    await ui.page.keyboard.press('Control+Shift+z');
    expect(await sceneText().inputValue()).toBe('Welcome to the tour of the editor. And goodbye.');

    await editor().getByRole('radio', { name: 'Shorts' }).check();
    await saved().waitFor();

    const project = await savedProject(videoId);
    expect(project.title).toBe('Editor tour');
    expect(project.template).toBe('shorts');
    expect(project.scenes.map((s) => s.text)).toEqual([
      'This second scene has a red background and the presenter on the left.',
      'Welcome to the tour of the editor.',
      'Welcome to the tour of the editor. And goodbye.',
    ]);
    expect(project.scenes[0].background).toEqual({ type: 'colour', colour: '#cc2200' });
    expect(project.scenes[0].avatarLayout).toBe('left');
    expect(project.scenes[1].background).toBeUndefined();

    // The length and cost come from the saved project and the real account.
    const account = await ui.harness.app.handlers['account:get']({});
    if (!account.ok) throw new Error(account.error.message);
    const seconds = Math.round(estimateSeconds(project));
    expect(seconds).toBeLessThan(60);
    expect(await editor().getByTestId('estimate').textContent()).toBe(`≈ ${seconds} s · 1 credit · ${account.value.tier}: ${account.value.credits} left`);
    await ui.page.screenshot({ path: `${SHOTS}/editor-saved.png` });

    await ui.page.reload();
    await sceneText().waitFor();
    expect(await editor().getByLabel('Title').inputValue()).toBe('Editor tour');
    expect(await sceneTexts()).toEqual([
      'This second scene has a red background and the presenter on the left.',
      'Welcome to the tour of the editor.',
      'Welcome to the tour of the editor. And goodbye.',
    ]);
    expect(await sceneText().inputValue()).toBe('This second scene has a red background and the presenter on the left.');
    expect(await editor().getByLabel('Background', { exact: true }).inputValue()).toBe('colour');
    expect(await editor().getByLabel('Background colour').inputValue()).toBe('#cc2200');
    expect(await editor().getByLabel('Avatar layout').inputValue()).toBe('left');
    expect(await editor().getByRole('radio', { name: 'Shorts' }).isChecked()).toBe(true);
    await ui.page.screenshot({ path: `${SHOTS}/editor-reloaded.png` });
    expect(ui.errors).toEqual([]);
  });

  test('the preview shows the still main draws, or the reason it gives', async () => {
    const videoId = await openNewDraft();
    const preview = editor().getByRole('region', { name: 'Preview' });
    const image = preview.getByRole('img', { name: 'Preview of scene 1' });
    const refusal = preview.getByRole('alert');
    await image.or(refusal).waitFor({ timeout: 60_000 });
    await ui.page.screenshot({ path: `${SHOTS}/editor-preview.png` });
    // Asked again once the page's request is answered: main keeps only the newest request.
    const answer = await ui.harness.app.handlers['editor:preview']({ project: await savedProject(videoId), sceneIndex: 0 });
    if (answer.ok) {
      await expect.poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(answer.value.width);
      expect(await refusal.count()).toBe(0);
    } else {
      expect(await refusal.textContent()).toBe(`The preview could not be made: ${answer.error.message}`);
    }
  });

  test('a draft from the library opens with Edit, and Render names the scene main refuses', async () => {
    const created = await ui.harness.app.handlers['videos:create']({ text: 'First paragraph.\n\nSecond paragraph.', title: 'From the library' });
    if (!created.ok) throw new Error(created.error.message);
    // Made behind the page's back, so the page is loaded again to list it.
    await ui.page.reload();
    const item = ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'From the library' });
    await item.getByRole('button', { name: 'Edit', exact: true }).click();
    await sceneText().waitFor();
    expect(await sceneTexts()).toEqual(['First paragraph.', 'Second paragraph.']);

    await scenes().getByRole('button', { name: /^Scene 2/ }).click();
    await sceneText().fill('');
    await scenes().getByRole('button', { name: /^Scene 1/ }).click();
    await editor().getByRole('button', { name: 'Render' }).click();
    const alert = editor().locator('#render-error');
    await alert.waitFor();
    // The scene main names is the one shown.
    await editor().getByRole('heading', { name: 'Scene 2' }).waitFor();
    const started = await ui.harness.app.handlers['render:start']({ videoId: created.value.id });
    expect(started.ok).toBe(false);
    expect(await alert.textContent()).toBe(started.ok ? null : started.error.message);
    expect(await alert.textContent()).toContain('scenes.1.text');

    await sceneText().fill('Second paragraph, now spoken.');
    await editor().getByRole('button', { name: 'Render' }).click();
    // Queued, the editor closes and the library shows the render.
    await item.getByRole('progressbar', { name: 'Progress of From the library' }).waitFor();
    expect(await editor().count()).toBe(0);
    const listed = await ui.harness.app.handlers['videos:list']({});
    expect(listed.ok && ['queued', 'rendering', 'completed'].includes(listed.value[0].status)).toBe(true);
    await ui.harness.app.handlers['render:cancel']({ videoId: created.value.id });
  });

  test('a script opened in the editor is a scene per paragraph, and dragging a scene moves it', async () => {
    await ui.page.getByRole('region', { name: 'New video' }).getByLabel('Script').fill('First.\n\nSecond.\n\nThird.');
    const videoId = await openNewDraft();
    expect(await sceneTexts()).toEqual(['First.', 'Second.', 'Third.']);
    await scenes().getByRole('listitem', { name: 'Scene 3' }).dragTo(scenes().getByRole('listitem', { name: 'Scene 1' }));
    expect(await sceneTexts()).toEqual(['Third.', 'First.', 'Second.']);
    await saved().waitFor();
    expect((await savedProject(videoId)).scenes.map((s) => s.text)).toEqual(['Third.', 'First.', 'Second.']);
  });

  test('a duplicated and renamed template becomes the project\'s template', async () => {
    const videoId = await openNewDraft();
    await editor().getByRole('radio', { name: 'Studio' }).waitFor();
    expect(await editor().getByRole('radio', { name: 'Studio' }).isChecked()).toBe(true);
    await editor().getByRole('button', { name: 'Duplicate template' }).click();
    await editor().getByLabel('Template name').fill('My studio');
    await editor().getByRole('button', { name: 'Save name' }).click();
    const mine = editor().getByRole('radio', { name: 'My studio' });
    await mine.waitFor();
    expect(await mine.isChecked()).toBe(true);
    await saved().waitFor();

    const listed = await ui.harness.app.handlers['templates:list']({});
    if (!listed.ok) throw new Error(listed.error.message);
    const copy = listed.value.find((t) => t.name === 'My studio');
    expect(copy?.builtin).toBe(false);
    expect(copy?.format).toBe('16:9');
    expect((await savedProject(videoId)).template).toBe(copy?.id);
    await ui.page.screenshot({ path: `${SHOTS}/editor-template-copy.png` });
  });

  test('2160p is offered only to accounts that may render it', async () => {
    await openNewDraft();
    const account = await ui.harness.app.handlers['account:get']({});
    if (!account.ok) throw new Error(account.error.message);
    expect(account.value.maxQuality).toBe('1080p');
    const quality = editor().getByLabel('Quality');
    // The page asks main for the account when the editor opens; until it answers nothing is disabled.
    await expect.poll(() => quality.locator('option[value="2160p"]').isDisabled()).toBe(true);
    expect(await quality.locator('option[value="1080p"]').isDisabled()).toBe(false);
    expect(await editor().getByText('renders up to 1080p', { exact: false }).isVisible()).toBe(true);
  });
});
