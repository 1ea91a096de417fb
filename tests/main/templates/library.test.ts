import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { findTemplate } from '../../../src-main/templates/catalogue';
import { deleteTemplate, duplicateTemplate, listTemplates, resolveTemplate, saveTemplate } from '../../../src-main/templates/library';
import { parseProject } from '../../../src-main/videos/createVideo';
import { getVideo } from '../../../src-main/videos/drafts';
import { changeStatus, insertVideo } from '../../../src-main/videos/repository';
import { resourcesDir } from '../../../src-main/paths';
import { listEvents } from '../../../src-main/audit/log';

let file: string;
let db: Db;

beforeEach(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'mp-tpl-')), 'mouthpiece.db');
  db = await openDatabase(file);
});
afterEach(async () => {
  await db.destroy();
});

async function reopen(): Promise<void> {
  await db.destroy();
  db = await openDatabase(file);
}

async function videoUsing(template: string) {
  return insertVideo(db, parseProject({ template, scenes: [{ text: 'Hello.' }] }));
}

describe('user templates', () => {
  test('a duplicated built-in is named "<name> copy", gets an id from that name, and starts as an exact copy', async () => {
    const copy = await duplicateTemplate(db, 'keynote');
    expect(copy.name).toBe('Keynote copy');
    expect(copy.id).toMatch(/^keynote-copy-[0-9a-f]{6}$/);
    expect(copy.builtin).toBe(false);
    expect(copy.template).toEqual({ ...findTemplate('keynote'), id: copy.id, name: 'Keynote copy' });
  });

  test('changes saved to a duplicate persist in the database file and are found again after reopening it', async () => {
    const copy = await duplicateTemplate(db, 'studio', 'Brand studio');
    const changed = { ...copy.template, transition: 'fade' as const, captions: { ...copy.template.captions, style: 'boxed' as const, size: 0.07 } };
    await saveTemplate(db, changed);
    await reopen();
    expect(await resolveTemplate(db, copy.id)).toEqual(changed);
    const listed = (await listTemplates(db)).find((t) => t.id === copy.id);
    expect(listed).toMatchObject({ name: 'Brand studio', builtin: false, template: changed });
    expect(findTemplate('studio').transition).toBe('cut');
  });

  test('the list holds the built-in templates first, then the user templates, newest first', async () => {
    const first = await duplicateTemplate(db, 'story', 'First');
    const second = await duplicateTemplate(db, first.id, 'Second');
    const ids = (await listTemplates(db)).map((t) => t.id);
    expect(ids.slice(-2)).toEqual([second.id, first.id]);
    expect(second.template.captions).toEqual(findTemplate('story').captions);
  });

  test('saving a built-in template is refused as forbidden, telling the user to duplicate it', async () => {
    const change = { ...findTemplate('studio'), name: 'Mine now' };
    await expect(saveTemplate(db, change)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('duplicate it first') });
    expect((await resolveTemplate(db, 'studio')).name).toBe('Studio');
  });

  test('an invalid template is refused, naming the field, and the stored one stays as it was', async () => {
    const copy = await duplicateTemplate(db, 'square');
    const bad = { ...copy.template, captions: { ...copy.template.captions, size: 0.5 }, avatar: { ...copy.template.avatar, layout: 'middle' } };
    const error = await saveTemplate(db, bad).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_INPUT' });
    expect((error as Error).message).toContain('template.captions.size');
    expect((error as Error).message).toContain('template.avatar.layout');
    expect(await resolveTemplate(db, copy.id)).toEqual(copy.template);
  });

  test('saving a template that was never duplicated is refused as not found', async () => {
    await expect(saveTemplate(db, { ...findTemplate('studio'), id: 'made-up-123456' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('an unknown id is refused, listing the built-in and the user template ids', async () => {
    const copy = await duplicateTemplate(db, 'studio');
    const error = await resolveTemplate(db, 'gone').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('"gone"') });
    expect((error as Error).message).toContain('feed-card');
    expect((error as Error).message).toContain(copy.id);
  });

  test('deleting a user template switches the videos that used it to the built-in template of its format', async () => {
    const landscape = await duplicateTemplate(db, 'newsroom');
    const portrait = await duplicateTemplate(db, 'story');
    const [a, b, other] = [await videoUsing(landscape.id), await videoUsing(portrait.id), await videoUsing('keynote')];
    const portraitVideo = await changeStatus(db, b.id, { status: 'queued' });
    await changeStatus(db, portraitVideo.id, { status: 'rendering' });
    await changeStatus(db, portraitVideo.id, { status: 'completed' });

    expect(await deleteTemplate(db, landscape.id)).toEqual({ templateId: landscape.id, switchedVideos: [a.id] });
    expect(await deleteTemplate(db, portrait.id)).toEqual({ templateId: portrait.id, switchedVideos: [b.id] });

    expect((await getVideo(db, a.id)).project).toMatchObject({ template: 'studio', scenes: [{ text: 'Hello.' }] });
    expect((await getVideo(db, b.id)).project).toMatchObject({ template: 'shorts' });
    expect((await getVideo(db, other.id)).project).toMatchObject({ template: 'keynote' });
    await expect(resolveTemplate(db, landscape.id)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect((await listTemplates(db)).some((t) => !t.builtin)).toBe(false);
  });

  test('deleting a template a rendering video uses is refused, and both are left as they were', async () => {
    const copy = await duplicateTemplate(db, 'explainer');
    const video = await videoUsing(copy.id);
    await changeStatus(db, video.id, { status: 'queued' });
    await changeStatus(db, video.id, { status: 'rendering' });
    await expect(deleteTemplate(db, copy.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('cancel') });
    expect(await resolveTemplate(db, copy.id)).toEqual(copy.template);
    expect((await getVideo(db, video.id)).project).toMatchObject({ template: copy.id });
  });

  test('creating, saving and deleting a user template are written to the audit log', async () => {
    const copy = await duplicateTemplate(db, 'studio', 'Mine');
    await saveTemplate(db, { ...copy.template, name: 'Mine, renamed' });
    await deleteTemplate(db, copy.id);
    const events = await listEvents(db, copy.id);
    expect(events.map((e) => [e.type, JSON.parse(e.data_json!).name])).toEqual([
      ['template.created', 'Mine'],
      ['template.saved', 'Mine, renamed'],
      ['template.deleted', 'Mine, renamed'],
    ]);
  });

  test('built-in templates cannot be deleted', async () => {
    await expect(deleteTemplate(db, 'shorts')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await listTemplates(db)).some((t) => t.id === 'shorts')).toBe(true);
  });
});

describe('user template thumbnails', () => {
  const saved = process.env.MOUTHPIECE_RESOURCES;
  afterEach(() => {
    if (saved === undefined) delete process.env.MOUTHPIECE_RESOURCES;
    else process.env.MOUTHPIECE_RESOURCES = saved;
  });

  test("a copy (and a copy of the copy) shows the thumbnail of the built-in it came from, not its format's default", async () => {
    const root = mkdtempSync(join(tmpdir(), 'mp-res-'));
    const dir = join(root, 'templates');
    mkdirSync(dir);
    const real = join(resourcesDir(), 'templates');
    for (const f of readdirSync(real).filter((f) => f.endsWith('.json'))) copyFileSync(join(real, f), join(dir, f));
    writeFileSync(join(dir, 'story.jpg'), Buffer.from('story still'));
    writeFileSync(join(dir, 'shorts.jpg'), Buffer.from('shorts still'));
    process.env.MOUTHPIECE_RESOURCES = root;

    const copy = await duplicateTemplate(db, 'story');
    const copyOfCopy = await duplicateTemplate(db, copy.id);
    await saveTemplate(db, { ...copyOfCopy.template, name: 'Renamed' });
    const storyStill = `data:image/jpeg;base64,${Buffer.from('story still').toString('base64')}`;
    const listed = (await listTemplates(db)).filter((t) => !t.builtin);
    expect(listed.map((t) => t.thumbnail)).toEqual([storyStill, storyStill]);
  });
});
