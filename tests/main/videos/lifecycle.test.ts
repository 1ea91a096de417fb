import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VIDEO_STATUSES } from '../../../src-shared/video';
import { openDatabase } from '../../../src-main/db/connection';
import { canTransition } from '../../../src-main/videos/lifecycle';
import { changeStatus, findVideo, insertVideo } from '../../../src-main/videos/repository';
import { parseProject } from '../../../src-main/videos/createVideo';

describe('video lifecycle', () => {
  it('allows exactly draft -> queued -> rendering -> completed|failed|cancelled, and retries', () => {
    const allowed = VIDEO_STATUSES.flatMap((from) => VIDEO_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`));
    expect(allowed.sort()).toEqual(
      [
        'draft>queued', 'queued>rendering', 'queued>cancelled', 'queued>failed', 'rendering>rendering', 'rendering>queued',
        'rendering>completed', 'rendering>failed', 'rendering>cancelled', 'completed>queued', 'failed>queued', 'cancelled>queued',
      ].sort(),
    );
  });

  it('refuses an illegal transition with ILLEGAL_TRANSITION and leaves the stored video as it was', async () => {
    const db = await openDatabase(join(mkdtempSync(join(tmpdir(), 'mp-life-')), 'db.sqlite'));
    const video = await insertVideo(db, parseProject({ scenes: [{ text: 'Hi there.' }] }));
    await expect(changeStatus(db, video.id, { status: 'completed' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect((await findVideo(db, video.id)).status).toBe('draft');
    await changeStatus(db, video.id, { status: 'queued' });
    await changeStatus(db, video.id, { status: 'rendering', stage: 'compose', progress: 0.5 });
    const row = await findVideo(db, video.id);
    expect([row.status, row.stage, row.progress]).toEqual(['rendering', 'compose', 0.5]);
    await db.destroy();
  });
});
