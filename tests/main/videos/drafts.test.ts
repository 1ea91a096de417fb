import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MAX_SCRIPT_CHARS } from '../../../src-shared/project';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { createVideo } from '../../../src-main/videos/createVideo';
import { getVideo, saveDraft } from '../../../src-main/videos/drafts';
import { changeStatus } from '../../../src-main/videos/repository';

let file: string;
let db: Db;

beforeEach(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'mp-draft-')), 'mouthpiece.db');
  db = await openDatabase(file);
});
afterEach(async () => {
  await db.destroy();
});

describe('editor drafts', () => {
  test('a half-typed project (an empty scene, a background being picked) is saved as it is and read back after reopening', async () => {
    const video = await createVideo(db, { text: 'The first scene.' });
    const draft = {
      version: 2,
      title: 'Quarterly update',
      template: 'keynote',
      scenes: [{ text: 'The first scene.' }, { text: '' }, { text: 'Half a sent', background: { type: 'gradient', from: '#000000' } }],
    };
    const saved = await saveDraft(db, video.id, draft);
    expect(saved.title).toBe('Quarterly update');
    expect(saved.status).toBe('draft');
    await db.destroy();
    db = await openDatabase(file);
    const { video: read, project } = await getVideo(db, video.id);
    expect(project).toEqual(draft);
    expect(read).toMatchObject({ id: video.id, title: 'Quarterly update', status: 'draft' });
  });

  test('a draft with no title, or a blank one, keeps the title the video had', async () => {
    const video = await createVideo(db, { text: 'Hello there, everyone.', title: 'Greeting' });
    expect((await saveDraft(db, video.id, { title: '   ', scenes: [] })).title).toBe('Greeting');
    expect((await saveDraft(db, video.id, { scenes: [{ text: 'Hi' }] })).title).toBe('Greeting');
  });

  test('saving while the video is queued or rendering is refused, saying to cancel first, and the saved project stays', async () => {
    const video = await createVideo(db, { text: 'Keep me.' });
    await changeStatus(db, video.id, { status: 'queued' });
    await expect(saveDraft(db, video.id, { scenes: [{ text: 'Changed' }] })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await changeStatus(db, video.id, { status: 'rendering', stage: 'speech', progress: 0.1 });
    await expect(saveDraft(db, video.id, { scenes: [{ text: 'Changed' }] })).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
      message: expect.stringContaining('cancel the render first'),
    });
    expect((await getVideo(db, video.id)).project.scenes).toEqual([{ text: 'Keep me.' }]);
    await changeStatus(db, video.id, { status: 'cancelled' });
    await saveDraft(db, video.id, { scenes: [{ text: 'Changed' }] });
    expect((await getVideo(db, video.id)).project.scenes).toEqual([{ text: 'Changed' }]);
  });

  test('a draft over the size limits is refused, naming the field', async () => {
    const video = await createVideo(db, { text: 'Short.' });
    await expect(saveDraft(db, video.id, { scenes: [{ text: 'x'.repeat(MAX_SCRIPT_CHARS + 1) }] })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('project.scenes.0.text'),
    });
  });

  test('an unknown video is not found', async () => {
    await expect(getVideo(db, '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(saveDraft(db, '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b', { scenes: [] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
