import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listEvents } from '../../../src-main/audit/log';
import { openDatabase } from '../../../src-main/db/connection';
import { ffprobe, runFfmpeg } from '../../../src-main/media/ffmpeg';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
// node itself with tsx's loader, not the tsx launcher: a SIGKILL must reach the process that renders.
const node = [process.execPath, '--import', pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href, join(root, 'src-main/cli.ts')];

interface Line {
  type: string;
  videoId?: string;
  stage?: string;
  stageProgress?: number;
  fps?: number;
  etaSeconds?: number;
  duration?: number;
  message?: string;
}

async function cli(args: string[], home: string, limitKb?: number) {
  const [file, ...rest] = limitKb === undefined ? [...node, ...args] : ['bash', '-c', `ulimit -f ${limitKb}; exec "$@"`, 'cli', ...node, ...args];
  try {
    const { stdout, stderr } = await run(file, rest, { env: { ...process.env, MOUTHPIECE_HOME: home }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The file size limit of the "full disk" runs: above what the library's database and its
 * write-ahead log reach in one render, below one 10 s segment of the moving background's video.
 */
const FILE_LIMIT_KB = 3000;

const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

/**
 * A project whose background is noise: nothing in it compresses, so the video grows at the
 * encoder's full bitrate and ffmpeg, not the database or the speech, is what hits a file size limit.
 */
async function movingBackground(home: string): Promise<string> {
  const noise = join(home, 'noise.mp4');
  await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'nullsrc=s=640x360:r=25,geq=lum=random(1)*255:cb=128:cr=128', '-t', '1', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', noise] });
  const project = join(home, 'moving.json');
  const background = { type: 'video', path: noise };
  writeFileSync(project, JSON.stringify({ title: 'Full disk', quality: '720p', scenes: [{ text: 'This video has a moving background, so its file grows fast while it is written.', background }] }));
  return project;
}

/** About 25 s of speech: long enough that compose writes more than one checkpointed segment. */
const SCRIPT = Array.from({ length: 7 }, (_, i) => `Part ${i + 1}. The render queue keeps every job safe, even when the process dies halfway through.`).join(' ');

describe('npm run render -- --resume', () => {
  it('finishes a render whose process was killed mid-compose, without redoing its speech and mouth track', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-resume-'));
    const out = join(home, 'killed.mp4');
    const [file, ...args] = node;
    const child = spawn(file, [...args, '--text', SCRIPT, '--quality', '720p', '-o', out, '--json'], {
      env: { ...process.env, MOUTHPIECE_HOME: home },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const seen: Line[] = [];
    const killedAt = await new Promise<Line>((resolveKill, reject) => {
      createInterface({ input: child.stdout }).on('line', (text) => {
        const line = JSON.parse(text) as Line;
        seen.push(line);
        // Past the first 10 s segment of about 25 s, so compose has a finished segment to keep.
        if (line.type === 'progress' && line.stage === 'compose' && line.stageProgress! > 0.45 && line.stageProgress! < 0.9) {
          child.kill('SIGKILL');
          resolveKill(line);
        }
      });
      child.on('exit', () => reject(new Error(`the render ended before it could be killed: ${JSON.stringify(seen.at(-1))}`)));
    });
    await new Promise((r) => child.once('close', r));
    expect(killedAt.stage).toBe('compose');
    // Progress lines carry the pace once it is known.
    expect(seen.some((l) => l.fps !== undefined && l.fps > 0)).toBe(true);
    expect(seen.some((l) => l.etaSeconds !== undefined)).toBe(true);

    let db = await openDatabase(join(home, 'mouthpiece.db'));
    const [killed] = await db.selectFrom('videos').selectAll().execute();
    expect(killed.status).toBe('rendering');
    expect(existsSync(out)).toBe(false);
    await db.destroy();

    const resumed = await cli(['--resume', '--json'], home);
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = lines(resumed.stdout).at(-1)!;
    expect([done.type, done.videoId]).toEqual(['done', killed.id]);

    const probe = await ffprobe(out);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect([video.codec_name, video.width, video.height]).toEqual(['h264', 1280, 720]);
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
    expect(Math.abs(Number(probe.format.duration) - done.duration!)).toBeLessThan(0.2);
    expect(done.duration!).toBeGreaterThan(20);

    db = await openDatabase(join(home, 'mouthpiece.db'));
    const events = await listEvents(db, killed.id);
    expect(events.map((e) => e.type)).toEqual(['video.created', 'render.queued', 'render.started', 'render.resumed', 'render.started', 'render.finished', 'credits.spent']);
    const finished = JSON.parse(events.find((e) => e.type === 'render.finished')!.data_json!) as { resumed: string[]; composeResumedFrom?: number };
    // Speech and the mouth track come from their checkpoints; compose goes on after its finished segments.
    expect(finished.resumed).toEqual(expect.arrayContaining(['speech', 'mouth', 'compose']));
    expect(finished.composeResumedFrom).toBeGreaterThan(0);
    const [row] = await db.selectFrom('videos').selectAll().execute();
    expect(row.status).toBe('completed');
    await db.destroy();
    expect(existsSync(join(home, 'work', killed.id))).toBe(false);
    expect(readdirSync(home).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('fails a render cleanly, saying the disk is full, when ffmpeg hits the file size limit', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-full-'));
    const out = join(home, 'full.mp4');
    const project = await movingBackground(home);
    const result = await cli([project, '-o', out, '--json'], home, FILE_LIMIT_KB);
    expect(result.code).toBe(1);
    const error = lines(result.stdout).at(-1)!;
    expect(error.type).toBe('error');
    expect(error.message).toMatch(new RegExp(`the disk is full: writing in (${home}|${join(home, 'work')}\\S*) failed`));

    const db = await openDatabase(join(home, 'mouthpiece.db'));
    const [row] = await db.selectFrom('videos').selectAll().execute();
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/the disk is full/);
    await db.destroy();
    expect(readdirSync(home).filter((f) => f.startsWith('full.'))).toEqual([]);
    expect(readdirSync(home).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(existsSync(join(home, 'work', row.id))).toBe(false);
  });

  it('lists the library\'s renders with their status, duration, encoder and output or error', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-list-'));
    const out = join(home, 'listed.mp4');
    const made = await cli(['--text', 'Listed.', '-o', out], home);
    expect(made.code, made.stderr).toBe(0);
    const refused = await cli([await movingBackground(home), '-o', join(home, 'refused.mp4')], home, FILE_LIMIT_KB);
    expect(refused.code).toBe(1);

    const listed = await cli(['--list'], home);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = listed.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    const completed = rows.find((r) => r.includes(' completed '))!;
    expect(completed).toMatch(/^[0-9a-f-]{36}\s+completed\s+\d+\.\d s\s+libx264\s+/);
    expect(completed.endsWith(out)).toBe(true);
    expect(rows.find((r) => r.includes(' failed '))).toMatch(/error: the disk is full/);

    const json = lines((await cli(['--list', '--json'], home)).stdout);
    expect(json.map((r) => (r as unknown as { status: string }).status).sort()).toEqual(['completed', 'failed']);
  });

  it('says there is nothing to resume, and exits 0, when every render is finished', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-idle-'));
    const result = await cli(['--resume'], home);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('nothing to resume');
  });
});
