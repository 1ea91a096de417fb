import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src-shared/batch';
import { ffprobe } from '../../../src-main/media/ffmpeg';
import { openDatabase } from '../../../src-main/db/connection';
import { listEvents } from '../../../src-main/audit/log';
import { sharedFile, useSharedModels } from '../../support/shared';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');

async function cli(args: string[], home: string) {
  try {
    const { stdout, stderr } = await run(tsx, [join(root, 'src-main/cli.ts'), ...args], { cwd: home, env: { ...process.env, MOUTHPIECE_HOME: join(home, 'library') }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A folder with a short project that greets {{first_name}} from {{shop}}, and a CSV. */
function batchFolder(csv: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mp-cli-batch-'));
  writeFileSync(join(dir, 'project.json'), JSON.stringify({ title: 'Hello {{first_name}}', scenes: [{ text: 'Hi {{first_name}}, from {{shop}}.' }] }));
  writeFileSync(join(dir, 'rows.csv'), csv);
  return dir;
}

describe('npm run render -- project.json --batch rows.csv', () => {
  useSharedModels();

  it('renders one playable MP4 per row and a results CSV mapping each row, with its own columns, to its video', async () => {
    const dir = batchFolder('first_name,shop,email\nAnna,Corner,anna@example.com\n"Chloé","Corner, Leeds",chloe@example.com\nBen,Corner,ben@example.com\n');
    const result = await cli(['project.json', '--batch', 'rows.csv', '--out-dir', 'out', '--json'], dir);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Progress names the row it is for; each row's end is one line; the last line sums up.
    expect(events.filter((e) => e.type === 'progress').every((e) => [2, 3, 4].includes(e.row as number))).toBe(true);
    expect(events.filter((e) => e.type === 'row').map((e) => [e.row, e.status]).sort()).toEqual([[2, 'completed'], [3, 'completed'], [4, 'completed']]);
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: 'batch-done', status: 'completed', rows: 3, completed: 3, failed: 0, cancelled: 0, results: join(dir, 'out', 'results.csv') });

    const results = parseCsv(readFileSync(join(dir, 'out', 'results.csv'), 'utf8'));
    expect(results.columns).toEqual(['row', 'first_name', 'shop', 'email', 'status', 'output', 'duration_seconds', 'error']);
    expect(results.rows.map((r) => r.values.slice(0, 6))).toEqual([
      ['2', 'Anna', 'Corner', 'anna@example.com', 'completed', join(dir, 'out', '002-anna.mp4')],
      ['3', 'Chloé', 'Corner, Leeds', 'chloe@example.com', 'completed', join(dir, 'out', '003-chloe.mp4')],
      ['4', 'Ben', 'Corner', 'ben@example.com', 'completed', join(dir, 'out', '004-ben.mp4')],
    ]);
    for (const { values } of results.rows) {
      const [output, duration, error] = values.slice(5);
      expect(error).toBe('');
      const probe = await ffprobe(output);
      const video = probe.streams.find((s) => s.codec_type === 'video');
      const audio = probe.streams.find((s) => s.codec_type === 'audio');
      expect([video?.codec_name, video?.width, video?.height, audio?.codec_name]).toEqual(['h264', 1280, 720, 'aac']);
      // About a second of greeting plus the padding, as the results file says.
      const seconds = Number(probe.format.duration);
      expect(seconds).toBeGreaterThan(1);
      expect(seconds).toBeLessThan(8);
      expect(Math.abs(seconds - Number(duration))).toBeLessThan(0.2);
    }
    // The batch's shared work folder is gone once every row has ended.
    expect(readdirSync(join(dir, 'library', 'work'))).toEqual([]);
  });

  it('prints a line per row and the results file without --json', async () => {
    const dir = batchFolder('first_name,shop\nAnna,Corner\n');
    const result = await cli(['project.json', '--batch', 'rows.csv', '--out-dir', 'out'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['row 2: out/002-anna.mp4', 'results: out/results.csv', expect.stringMatching(/^1 of 1 videos made in \d+\.\d s$/)]);
  });

  it('prepares an --avatar photo once for the whole batch', async () => {
    const dir = batchFolder('first_name,shop\nAnna,Corner\nBen,Corner\n');
    const photo = sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg');
    const result = await cli(['project.json', '--batch', 'rows.csv', '--out-dir', 'out', '--avatar', photo], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.mp4')).sort()).toEqual(['002-anna.mp4', '003-ben.mp4']);
    const db = await openDatabase(join(dir, 'library', 'mouthpiece.db'));
    try {
      const avatars = await db.selectFrom('avatars').select(['id', 'status']).where('kind', '=', 'photo').execute();
      expect(avatars.map((a) => a.status)).toEqual(['ready']);
      expect((await listEvents(db, avatars[0].id)).filter((e) => e.type === 'avatar.prepared')).toHaveLength(1);
      // Both rows were made with that avatar.
      const rows = await db.selectFrom('videos').select('project_json').where('batch_id', 'is not', null).execute();
      expect(rows.map((r) => JSON.parse(r.project_json).avatar)).toEqual([avatars[0].id, avatars[0].id]);
    } finally {
      await db.destroy();
    }
  });

  it('Ctrl-C cancels the rows not yet made, keeps the ones made, and exits 1 with the results saying which', async () => {
    const dir = batchFolder('first_name,shop\nAnna,Corner\nBen,Corner\nCat,Corner\n');
    const child = spawn(tsx, [join(root, 'src-main/cli.ts'), 'project.json', '--batch', 'rows.csv', '--out-dir', 'out', '--json'], {
      cwd: dir,
      env: { ...process.env, MOUTHPIECE_HOME: join(dir, 'library') },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The first row made: interrupt the rest.
      if (stdout.includes('"type":"row"') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    const done = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(done).toMatchObject({ type: 'batch-done', status: 'cancelled', rows: 3, completed: 1, cancelled: 2 });
    const results = parseCsv(readFileSync(join(dir, 'out', 'results.csv'), 'utf8'));
    expect(results.rows.map((r) => r.values.slice(0, 4))).toEqual([
      ['2', 'Anna', 'Corner', 'completed'],
      ['3', 'Ben', 'Corner', 'cancelled'],
      ['4', 'Cat', 'Corner', 'cancelled'],
    ]);
    expect(readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.mp4'))).toEqual(['002-anna.mp4']);
  });

  it('refuses bad CSVs with exit code 2, naming each problem with its row, and renders nothing', async () => {
    const missing = batchFolder('first_name,email\nAnna,anna@example.com\n');
    const noColumn = await cli(['project.json', '--batch', 'rows.csv', '--out-dir', 'out'], missing);
    expect(noColumn.code).toBe(2);
    expect(noColumn.stderr).toContain('the project uses {{shop}} but rows.csv has no "shop" column (its columns are first_name, email)');

    const bad = batchFolder('first_name,shop\nAnna,Corner\nBen,\nCat,Corner,Leeds\n');
    const refused = await cli(['project.json', '--batch', 'rows.csv', '--out-dir', 'out'], bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('rows.csv: 2 problems, so nothing was rendered');
    expect(refused.stderr).toContain('row 3: shop is empty; fill it in, or remove the row');
    expect(refused.stderr).toContain('row 4 has 3 values but the header has 2 columns; put a value that contains a comma in double quotes');
    expect(existsSync(join(bad, 'out'))).toBe(false);

    const notFound = await cli(['project.json', '--batch', 'nobody.csv'], bad);
    expect([notFound.code, notFound.stderr]).toEqual([2, expect.stringContaining(`${join(bad, 'nobody.csv')} does not exist`)]);
    const both = await cli(['project.json', '--batch', 'rows.csv', '--out', 'one.mp4'], bad);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('--out names one video; a --batch makes one per row')]);
    const dirWithout = await cli(['project.json', '--out-dir', 'out'], bad);
    expect([dirWithout.code, dirWithout.stderr]).toEqual([2, expect.stringContaining('--out-dir is the folder of a --batch')]);
  });
});
