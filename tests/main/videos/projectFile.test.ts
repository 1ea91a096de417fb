import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { getVideo } from '../../../src-main/videos/drafts';
import { importProjectFile, readProjectFile } from '../../../src-main/videos/projectFile';

let dir: string;
let db: Db;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mp-projectfile-'));
  db = await openDatabase(join(dir, 'mouthpiece.db'));
});
afterEach(() => db.destroy());

describe('project files', () => {
  test('every path in a project file is read relative to the file: backgrounds, recordings and the logo', async () => {
    const file = join(dir, 'talk.mouthpiece');
    writeFileSync(
      file,
      JSON.stringify({
        title: 'Talk',
        brand: { logo: { path: 'brand/logo.png' } },
        scenes: [
          { text: 'One.', background: { type: 'image', path: 'slides/one.png' } },
          { text: 'Two.', background: { type: 'video', path: '/abs/loop.mp4' } },
          { text: '', audio: { path: 'me.wav' } },
        ],
      }),
    );
    const project = await readProjectFile(file);
    expect(project.brand?.logo?.path).toBe(join(dir, 'brand/logo.png'));
    expect(project.scenes.map((s) => s.background?.type === 'image' || s.background?.type === 'video' ? s.background.path : s.audio?.path)).toEqual([
      join(dir, 'slides/one.png'),
      '/abs/loop.mp4',
      join(dir, 'me.wav'),
    ]);
  });

  test('a project file opened from the system joins the library as a draft', async () => {
    const file = join(dir, 'hello.mouthpiece');
    writeFileSync(file, JSON.stringify({ title: 'Hello file', scenes: [{ text: 'Hello from a file.' }] }));
    const row = await importProjectFile(db, file);
    const { video, project } = await getVideo(db, row.id);
    expect([video.title, video.status]).toEqual(['Hello file', 'draft']);
    expect(project.scenes).toEqual([expect.objectContaining({ text: 'Hello from a file.' })]);
  });

  test('a file that is not JSON is refused naming it, and nothing is added', async () => {
    const file = join(dir, 'broken.mouthpiece');
    writeFileSync(file, '{"scenes": [');
    await expect(importProjectFile(db, file)).rejects.toThrow(/broken\.mouthpiece: not valid JSON/);
    expect(await db.selectFrom('videos').selectAll().execute()).toEqual([]);
  });
});
