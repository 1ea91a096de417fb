import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ffmpegPath } from '../../src-main/media/ffmpeg';
import { sharedFile, useSharedModels } from '../support/shared';
import { usePage } from './harness';

const PREPARE_TIMEOUT_MS = 90_000;
const PHOTO = sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg');
// What main names an avatar imported without a name: the file's name without its extension.
const PHOTO_NAME = 'portrait_usnavy_grace_hopper';

// The page's drag-and-drop types, spelled out because the tests compile without lib "DOM".
interface PageDnd {
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => object;
  DataTransfer: new () => { items: { add(file: object): void } };
  DragEvent: new (type: string, init: { bubbles: boolean; cancelable: boolean; dataTransfer: object }) => object;
}

describe('the Avatars screen in Chromium', () => {
  useSharedModels();

  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-avatars-'));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });
  const ui = usePage();

  const openScreen = (name: 'Videos' | 'Avatars') =>
    ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name }).click();
  const avatars = () => ui.page.getByRole('region', { name: 'Avatars' });
  const card = (name: string) => avatars().getByRole('listitem', { name, exact: true });
  const picker = () => avatars().getByLabel('Photo or clip to import');

  async function listed() {
    const answer = await ui.harness.app.handlers['avatars:list']({});
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.value;
  }

  test('lists the built-in presenter, which can be neither renamed nor deleted', async () => {
    await openScreen('Avatars');
    const [builtin] = await listed();
    const presenter = card(builtin!.name);
    await presenter.waitFor();
    expect(await avatars().getByRole('listitem').count()).toBe(1);
    expect(await presenter.getByText('Built in', { exact: true }).isVisible()).toBe(true);
    expect(await presenter.getByText('Ready', { exact: true }).isVisible()).toBe(true);
    expect(await presenter.getByRole('button').allTextContents()).toEqual([]);
    expect(ui.errors).toEqual([]);
  });

  test('a photo imported with the picker is prepared, previewed, renamed for good, offered by the editor and deleted', async () => {
    await openScreen('Avatars');
    await picker().setInputFiles(PHOTO);

    const preparing = card(PHOTO_NAME);
    await preparing.getByRole('progressbar', { name: `Preparing ${PHOTO_NAME}` }).waitFor();
    expect(await preparing.getByText('Preparing', { exact: true }).isVisible()).toBe(true);

    await preparing.getByText('Ready', { exact: true }).waitFor({ timeout: PREPARE_TIMEOUT_MS });
    expect(await preparing.getByRole('progressbar').count()).toBe(0);
    const avatar = (await listed()).find((a) => a.name === PHOTO_NAME);
    expect(avatar?.status).toBe('ready');
    expect(avatar?.kind).toBe('photo');
    // The thumbnail main made, decoded by the browser.
    const thumbnail = preparing.getByRole('img', { name: `Thumbnail of ${PHOTO_NAME}` });
    expect(await thumbnail.getAttribute('src')).toBe(avatar?.thumbnail);
    expect(await thumbnail.evaluate((img: { naturalWidth: number }) => img.naturalWidth)).toBeGreaterThan(0);

    await preparing.getByRole('button', { name: 'Preview' }).click();
    const video = preparing.locator('video');
    // A video the page may not load (CSP) or cannot decode has a NaN duration and an error.
    await expect
      .poll(() => video.evaluate((v: { duration: number; error: unknown }) => (v.error ? -1 : v.duration)), { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(await video.evaluate((v: { videoWidth: number }) => v.videoWidth)).toBeGreaterThan(0);

    await preparing.getByRole('button', { name: 'Close preview' }).click();
    await preparing.getByRole('button', { name: 'Rename' }).click();
    const nameField = preparing.getByRole('textbox', { name: `New name for ${PHOTO_NAME}` });
    expect(await nameField.inputValue()).toBe(PHOTO_NAME);
    await nameField.fill('  Grace  ');
    await nameField.press('Enter');
    await card('Grace').getByRole('heading', { name: 'Grace' }).waitFor();
    expect(await card(PHOTO_NAME).count()).toBe(0);
    expect((await listed()).map((a) => a.name)).toContain('Grace');

    await ui.page.reload();
    await openScreen('Avatars');
    await card('Grace').getByText('Ready', { exact: true }).waitFor();

    // The editor offers the presenter and the ready avatar, and a video made with it names it.
    await openScreen('Videos');
    const compose = ui.page.getByRole('region', { name: 'New video' });
    const choice = compose.getByLabel('Avatar');
    const [builtin] = await listed();
    expect(await choice.locator('option').allTextContents()).toEqual([builtin!.name, 'Grace']);
    expect(await choice.inputValue()).toBe(builtin!.id);
    await choice.selectOption({ label: 'Grace' });
    await compose.getByLabel('Title').fill('Spoken by Grace');
    await compose.getByLabel('Script').fill('Hello from Grace.');
    await compose.getByRole('button', { name: 'Render' }).click();
    await ui.page.getByRole('region', { name: 'Library' }).getByRole('listitem', { name: 'Spoken by Grace' }).waitFor();
    const stored = await ui.harness.app.db.selectFrom('videos').select('project_json').executeTakeFirstOrThrow();
    expect(JSON.parse(stored.project_json)).toMatchObject({
      title: 'Spoken by Grace',
      avatar: avatar!.id,
      scenes: [{ text: 'Hello from Grace.' }],
    });

    await openScreen('Avatars');
    const grace = card('Grace');
    await grace.getByRole('button', { name: 'Delete' }).click();
    await grace.getByRole('group', { name: 'Delete Grace?' }).getByRole('button', { name: 'Delete' }).click();
    await grace.waitFor({ state: 'detached' });
    expect((await listed()).map((a) => a.id)).toEqual([builtin!.id]);
    // Deleting an avatar leaves the file it was made from.
    const uploaded = join(ui.harness.uploads, '1', 'portrait_usnavy_grace_hopper.jpg');
    expect(await readFile(uploaded)).toEqual(await readFile(PHOTO));
    await openScreen('Videos');
    expect(await choice.locator('option').allTextContents()).toEqual([builtin!.name]);
    expect(ui.errors).toEqual([]);

    await ui.page.screenshot({ path: '/tmp/e2e-avatars.png', fullPage: true });
  });

  test('cancelling a preparation marks the avatar cancelled', async () => {
    await openScreen('Avatars');
    await picker().setInputFiles(PHOTO);
    const preparing = card(PHOTO_NAME);
    await preparing.getByRole('progressbar', { name: `Preparing ${PHOTO_NAME}` }).waitFor();
    await preparing.getByRole('button', { name: 'Cancel' }).click();

    await preparing.getByText('Cancelled', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await preparing.getByRole('progressbar').count()).toBe(0);
    expect((await listed()).find((a) => a.name === PHOTO_NAME)?.status).toBe('cancelled');
    expect(await preparing.getByRole('button', { name: 'Preview' }).count()).toBe(0);
    expect(ui.errors).toEqual([]);
  });

  test('a photo without a face and a text file, dropped on the screen, are refused with messages naming each file', async () => {
    const gray = join(scratch, 'gray.png');
    await promisify(execFile)(ffmpegPath(), ['-y', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=640x480', '-frames:v', '1', gray]);
    await openScreen('Avatars');

    // What a drop from the file manager delivers: a DataTransfer holding the File.
    const bytes = [...(await readFile(gray))];
    await avatars()
      .getByText('Drop a photo or a short clip of yourself here')
      .evaluate((title, data) => {
        const page = globalThis as unknown as PageDnd;
        const transfer = new page.DataTransfer();
        transfer.items.add(new page.File([new Uint8Array(data)], 'gray.png', { type: 'image/png' }));
        transfer.items.add(new page.File([new TextEncoder().encode('not a face')], 'notes.txt', { type: 'text/plain' }));
        for (const type of ['dragenter', 'dragover', 'drop']) {
          title.dispatchEvent(new page.DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
        }
      }, bytes);

    // main refuses the text file at once, naming it; it never becomes an avatar.
    const alert = avatars().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/notes\.txt: not a photo or clip we can read \(\.txt\)/);

    const refused = card('gray');
    await refused.getByText('Failed', { exact: true }).waitFor({ timeout: PREPARE_TIMEOUT_MS });
    const avatar = (await listed()).find((a) => a.name === 'gray');
    expect(avatar?.status).toBe('failed');
    expect(avatar?.error).toMatch(/gray\.png: no face found/);
    expect(await refused.getByText(avatar!.error!, { exact: true }).isVisible()).toBe(true);
    expect(await refused.getByRole('button').allTextContents()).toEqual(['Delete']);

    await refused.getByRole('button', { name: 'Delete' }).click();
    await refused.getByRole('group', { name: 'Delete gray?' }).getByRole('button', { name: 'Delete' }).click();
    await refused.waitFor({ state: 'detached' });
    expect((await listed()).map((a) => a.kind)).toEqual(['builtin']);
    expect(existsSync(join(ui.harness.uploads, '1', 'gray.png'))).toBe(true);
    expect(ui.errors).toEqual([]);
  });
});
