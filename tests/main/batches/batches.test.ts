import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv, type BatchSummary } from '../../../src-shared/batch';
import type { RenderProgress, VideoSummary } from '../../../src-shared/video';
import { recordSpend } from '../../../src-main/account/account';
import { openApp, type App } from '../../../src-main/app';
import { listEvents } from '../../../src-main/audit/log';
import { ffprobe } from '../../../src-main/media/ffmpeg';
import { sharedDirOf } from '../../../src-main/render/queue';
import { createVideo } from '../../../src-main/videos/createVideo';
import { previewProject } from '../../../src-main/render/preview';

const project = { title: 'Hello {{first_name}}', scenes: [{ text: 'Hi {{first_name}}, from {{shop}}.' }] };

/** An app in a fresh library, a saved video with the project above, and a folder for CSVs. */
async function setUp() {
  const home = mkdtempSync(join(tmpdir(), 'mp-batch-'));
  const app = await openApp({ home });
  const video = await createVideo(app.db, { project });
  const summaries: BatchSummary[] = [];
  app.onEvent((name, payload) => {
    if (name === 'batches:changed') summaries.push(payload as BatchSummary);
  });
  const csv = (name: string, text: string | Buffer) => {
    writeFileSync(join(home, name), text);
    return join(home, name);
  };
  return { home, app, videoId: video.id, summaries, csv };
}

const readResults = (path: string) => parseCsv(readFileSync(path, 'utf8'));

function nextVideoEvent(app: App, match: (v: VideoSummary) => boolean): Promise<VideoSummary> {
  return new Promise((resolve) => {
    const stop = app.onEvent((name, payload) => {
      if (name === 'videos:changed' && match(payload as VideoSummary)) {
        stop();
        resolve(payload as VideoSummary);
      }
    });
  });
}

describe('Batches', () => {
  it('renders one video per row through the render queue, writes the results CSV and reports the batch as it goes', async () => {
    const { home, app, videoId, summaries, csv } = await setUp();
    try {
      const rows = csv('people.csv', 'first_name,shop,email\nAnna,Corner,a@example.com\nBen,"Corner, Leeds",b@example.com\n');
      const { batch, done } = await app.batches.start({ videoId, csvPath: rows });
      expect(batch).toMatchObject({ title: 'Hello {{first_name}}', status: 'rendering', rows: 2, completed: 0 });
      // Without an outDir, a new folder in the library's videos folder named after the project and the batch.
      expect(batch.outDir).toBe(join(home, 'videos', `hello-${batch.id.slice(0, 8)}`));
      // Open at once, the results file lists every row, none ended yet (the first may have started).
      const early = readResults(batch.resultsPath).rows;
      expect(early.map((r) => r.values[0])).toEqual(['2', '3']);
      expect(early.map((r) => r.values[4])).toEqual([expect.stringMatching(/^(queued|rendering)$/), 'queued']);

      // What the rows share (made by the renders) is removed once the batch ends.
      mkdirSync(join(sharedDirOf(home, batch.id), 'avatar'), { recursive: true });
      const final = await done;
      expect(final).toMatchObject({ id: batch.id, status: 'completed', rows: 2, completed: 2, failed: 0, cancelled: 0, progress: 1 });
      const results = readResults(final.resultsPath);
      expect(results.columns).toEqual(['row', 'first_name', 'shop', 'email', 'status', 'output', 'duration_seconds', 'error']);
      expect(results.rows.map((r) => r.values.slice(0, 6))).toEqual([
        ['2', 'Anna', 'Corner', 'a@example.com', 'completed', join(batch.outDir, '002-anna.mp4')],
        ['3', 'Ben', 'Corner, Leeds', 'b@example.com', 'completed', join(batch.outDir, '003-ben.mp4')],
      ]);
      for (const { values } of results.rows) {
        const probe = await ffprobe(values[5]);
        expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      }
      // Each row is a video of its own that names its batch and row, with that row's words in it.
      const videos = await app.db.selectFrom('videos').selectAll().where('batch_id', '=', batch.id).orderBy('batch_row').execute();
      expect(videos.map((v) => [v.batch_row, v.title, JSON.parse(v.project_json).scenes[0].text])).toEqual([
        [2, 'Hello Anna', 'Hi Anna, from Corner.'],
        [3, 'Hello Ben', 'Hi Ben, from Corner, Leeds.'],
      ]);
      expect(final.videoIds).toEqual(videos.map((v) => v.id));
      // Summaries went out as rows changed, ending with the finished batch; progress never went back.
      expect(summaries.at(-1)).toEqual(final);
      expect(summaries.some((s) => s.status === 'rendering' && s.completed === 1)).toBe(true);
      const progress = summaries.map((s) => s.progress);
      expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
      const events = await listEvents(app.db, batch.id);
      expect(events.map((e) => e.type)).toEqual(['batch.started', 'batch.finished']);
      expect(JSON.parse(events[1].data_json!)).toEqual({ status: 'completed', rows: 2, completed: 2, failed: 0, cancelled: 0 });
      expect(existsSync(sharedDirOf(home, batch.id))).toBe(false);
      expect(await app.batches.list()).toEqual([final]);
      // Asked for again (the Renders screen's "show results"), the file is brought up to date and the batch does not end twice.
      expect(await app.batches.resultsPath(batch.id)).toBe(final.resultsPath);
      expect((await listEvents(app.db, batch.id)).map((e) => e.type)).toEqual(['batch.started', 'batch.finished']);
    } finally {
      await app.close();
    }
  });

  it('a batch\'s project is refused as one video (its variables would be spoken as written) and previews with their names', async () => {
    const { app, videoId } = await setUp();
    try {
      await expect(app.queue.enqueue(videoId)).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: expect.stringContaining('title: {{first_name}} is a batch variable with no value here; render this project with a CSV'),
      });
      expect((await app.db.selectFrom('videos').select('status').where('id', '=', videoId).executeTakeFirstOrThrow()).status).toBe('draft');
      expect(previewProject(project, 0).scenes[0].text).toBe('Hi first name, from shop.');
    } finally {
      await app.close();
    }
  });

  it('refuses a batch the credits do not cover as a whole, before anything is recorded or made', async () => {
    const { home, app, videoId, csv } = await setUp();
    try {
      // Two credits of the free ten left: each row costs one, so two rows fit and three do not.
      await recordSpend(app.db, { credits: 8 });
      const three = csv('three.csv', 'first_name,shop\nAnna,Corner\nBen,Corner\nCat,Corner\n');
      const outDir = join(home, 'out');
      await expect(app.batches.start({ videoId, csvPath: three, outDir })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining('these 3 videos cost 3 credits together (1 per started minute of each video) and 2 are left this month'),
      });
      expect(await app.db.selectFrom('batches').selectAll().execute()).toEqual([]);
      expect(await app.db.selectFrom('videos').select('id').where('batch_id', 'is not', null).execute()).toEqual([]);
      expect(existsSync(outDir)).toBe(false);
      expect((await app.batches.check(videoId, three)).credits).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('refuses a CSV with problems, listing them by row, and names a CSV file it cannot read', async () => {
    const { home, app, videoId, csv } = await setUp();
    try {
      const bad = csv('bad.csv', 'first_name,shop\nAnna,\n,Corner\n');
      const check = await app.batches.check(videoId, bad);
      expect(check.issues.map((i) => [i.row, i.column])).toEqual([[2, 'shop'], [3, 'first_name']]);
      await expect(app.batches.start({ videoId, csvPath: bad })).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: 'bad.csv: 2 problems, so nothing was rendered:\nrow 2: shop is empty; fill it in, or remove the row\nrow 3: first_name is empty; fill it in, or remove the row',
      });
      const unreadable: [string, RegExp][] = [
        [join(home, 'none.csv'), /none\.csv does not exist; choose the CSV file again/],
        [home, /is a folder; choose a \.csv file in it/],
        [csv('empty.csv', '\uFEFF\n'), /empty\.csv is empty; its first row should name the columns/],
        [csv('photo.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13])), /photo\.csv is not a text file/],
        [csv('latin1.csv', Buffer.from('first_name\nChlo\xe9\n', 'latin1')), /latin1\.csv is not UTF-8 text .* save it from your spreadsheet as "CSV UTF-8/],
      ];
      for (const [path, message] of unreadable) await expect(app.batches.check(videoId, path), path).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
      // An avatar the library does not have is one problem for the whole batch.
      const other = await createVideo(app.db, { project: { ...project, avatar: 'nobody' } });
      const noAvatar = await app.batches.check(other.id, csv('ok.csv', 'first_name,shop\nAnna,Corner\n'));
      expect(noAvatar.issues).toEqual([{ row: null, message: expect.stringContaining('nobody') }]);
    } finally {
      await app.close();
    }
  });

  it('cancelling a batch keeps the rows made and cancels the others, and the results say so in the CSV\'s own form', async () => {
    const { app, videoId, csv } = await setUp();
    try {
      // As Excel saves "CSV UTF-8" where the decimal separator is a comma: a byte-order mark and semicolons.
      const rows = csv('people.csv', '\uFEFFfirst_name;shop\r\nAnna;Corner\r\nBen;Corner\r\nCat;Corner\r\n');
      const firstMade = nextVideoEvent(app, (v) => v.batchRow === 2 && v.status === 'completed');
      const { batch, done } = await app.batches.start({ videoId, csvPath: rows });
      await firstMade;
      const cancelled = await app.batches.cancel(batch.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', completed: 1, cancelled: 2, failed: 0 });
      expect(await done).toEqual(cancelled);
      const results = readResults(batch.resultsPath).rows.map((r) => r.values.slice(0, 5));
      expect(results).toEqual([
        ['2', 'Anna', 'Corner', 'completed', join(batch.outDir, '002-anna.mp4')],
        ['3', 'Ben', 'Corner', 'cancelled', ''],
        ['4', 'Cat', 'Corner', 'cancelled', ''],
      ]);
      expect(readFileSync(batch.resultsPath, 'utf8').startsWith('\uFEFFrow;first_name;shop;status;output;duration_seconds;error\r\n')).toBe(true);
      expect(existsSync(join(batch.outDir, '002-anna.mp4'))).toBe(true);
      expect(existsSync(join(batch.outDir, '003-ben.mp4'))).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('a batch closed mid-way resumes in a new app, which completes its results CSV', async () => {
    const { home, app, videoId, csv } = await setUp();
    const rows = csv('people.csv', 'first_name,shop\nAnna,Corner\nBen,Corner\n');
    const outDir = join(home, 'out');
    mkdirSync(outDir);
    // A file already there keeps its name: the batch's video for that row takes another.
    writeFileSync(join(outDir, '002-anna.mp4'), 'mine');
    const composing = new Promise<void>((resolve) =>
      app.onEvent((name, payload) => name === 'render:progress' && (payload as RenderProgress).stage === 'compose' && resolve()),
    );
    const { batch } = await app.batches.start({ videoId, csvPath: rows, outDir });
    await composing;
    await app.close();
    expect(readResults(batch.resultsPath).rows.map((r) => r.values[3])).toEqual(['rendering', 'queued']);

    const again = await openApp({ home });
    try {
      const resumed = await again.queue.resumeUnfinished();
      expect(resumed).toHaveLength(2);
      const final = await again.batches.settled(batch.id);
      expect(final).toMatchObject({ status: 'completed', completed: 2 });
      const results = readResults(batch.resultsPath).rows.map((r) => r.values.slice(3, 5));
      expect(results).toEqual([
        ['completed', join(outDir, '002-anna-2.mp4')],
        ['completed', join(outDir, '003-ben.mp4')],
      ]);
      expect(readFileSync(join(outDir, '002-anna.mp4'), 'utf8')).toBe('mine');
      expect((await listEvents(again.db, batch.id)).map((e) => e.type)).toEqual(['batch.started', 'batch.finished']);
    } finally {
      await again.close();
    }
  });
});
