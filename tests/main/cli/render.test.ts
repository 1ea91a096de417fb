import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ffmpegPath, ffprobe } from '../../../src-main/media/ffmpeg';
import { renderPresenterSprites } from '../../../src-main/avatars/presenter';
import { openDatabase } from '../../../src-main/db/connection';
import { listEvents } from '../../../src-main/audit/log';
import { PADDING } from '../../../src-main/render/stages';
import { RENDER_STAGES, type RenderStage } from '../../../src-shared/video';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');

async function cli(args: string[], home: string) {
  try {
    const { stdout, stderr } = await run(tsx, [join(root, 'src-main/cli.ts'), ...args], {
      env: { ...process.env, MOUTHPIECE_HOME: home },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Grey frames of a region, one per time, decoded by ffmpeg. */
async function regionFrames(file: string, times: number[], box: { x: number; y: number; w: number; h: number }) {
  const frames: Buffer[] = [];
  for (const t of times) {
    const { stdout } = await run(
      ffmpegPath(),
      ['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1', '-vf', `crop=${box.w}:${box.h}:${box.x}:${box.y},format=gray`, '-f', 'rawvideo', '-'],
      { encoding: 'buffer', maxBuffer: 1 << 24 },
    );
    frames.push(stdout);
  }
  return frames;
}

const meanDiff = (a: Buffer, b: Buffer) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;

describe('npm run render', () => {
  it('renders a playable MP4 whose length is the speech plus padding and whose mouth moves only while speaking', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const out = join(home, 'hello.mp4');
    const result = await cli(['--text', 'Hello! I am your presenter, made by Mouthpiece.', '-o', out, '--json'], home);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: string; duration?: number });
    // Stages in order; a stage over in a moment (the mouth track) may fold into the next, as events are throttled to five a second.
    const stages = events.filter((e) => e.type === 'progress').map((e) => RENDER_STAGES.indexOf(e.stage as RenderStage));
    expect([stages[0], stages.at(-1)]).toEqual([0, RENDER_STAGES.indexOf('compose')]);
    expect(stages.every((stage, i) => i === 0 || stage >= stages[i - 1])).toBe(true);
    const done = events.at(-1)!;
    expect(done.type).toBe('done');

    const probe = await ffprobe(out);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    const audio = probe.streams.find((s) => s.codec_type === 'audio')!;
    expect([video.codec_name, video.width, video.height]).toEqual(['h264', 1280, 720]);
    expect(audio.codec_name).toBe('aac');
    const duration = Number(probe.format.duration);
    expect(Math.abs(duration - done.duration!)).toBeLessThan(0.2);

    // The timeline the render used: speech starts after the lead padding and ends before the tail.
    const db = await openDatabase(join(home, 'mouthpiece.db'));
    const [row] = await db.selectFrom('videos').selectAll().execute();
    expect([row.status, row.output_path]).toEqual(['completed', out]);
    // The encoder the probe chose is printed and kept in the render's record; captions and a thumbnail lie beside the video.
    expect((done as { encoder?: string }).encoder).toBe(row.encoder);
    expect(row.encoder).toMatch(/^(libx264|h264_nvenc|hevc_nvenc|h264_qsv|h264_amf|h264_videotoolbox|h264_vaapi)$/);
    for (const extension of ['srt', 'vtt', 'jpg']) expect(existsSync(out.replace(/mp4$/, extension)), extension).toBe(true);
    const audit = await listEvents(db, row.id);
    expect(audit.map((e) => e.type)).toEqual(['video.created', 'render.queued', 'render.started', 'render.finished', 'credits.spent']);
    // A render that ran straight through reused nothing; its cost is recorded for the account sync to settle.
    expect(JSON.parse(audit[3].data_json!)).toMatchObject({ resumed: [], encoder: row.encoder });
    expect(JSON.parse(audit[4].data_json!)).toEqual({ credits: 1, durationSeconds: row.duration_seconds, spendId: expect.any(String) });
    // Signed out, the spend counts against the free month on this machine only.
    const outbox = await db.selectFrom('account_outbox').selectAll().execute();
    expect(outbox.map((op) => [op.kind, op.state, op.credits])).toEqual([['spend', 'local', 1]]);
    await db.destroy();
    const speechEnd = duration - PADDING.tail;
    expect(speechEnd - PADDING.lead).toBeGreaterThan(1.5);

    // The mouth region, located from the sprite the render used (full layout, centred, bottom-aligned).
    const sprites = await renderPresenterSprites(join(home, 'cache', 'presenter'), 2 * Math.round((0.92 * 720) / 2));
    const x0 = Math.round(1280 / 2 - sprites.width / 2);
    const y0 = 720 - sprites.height + Math.round(720 * 0.01) + 3;
    const m = sprites.mouthBox;
    const box = { x: x0 + m.x - 6, y: y0 + m.y - 4, w: m.width + 12, h: m.height + 8 };
    const speaking = await regionFrames(out, [0.9, 1.1, 1.3, 1.5, 1.7, 1.9, 2.1, 2.3], box);
    const silent = await regionFrames(out, [0.05, 0.15, 0.25, 0.35], box);
    const speakingChange = Math.max(...speaking.slice(1).map((f, i) => meanDiff(f, speaking[i])));
    const silentChange = Math.max(...silent.slice(1).map((f, i) => meanDiff(f, silent[i])));
    expect(speakingChange).toBeGreaterThan(4);
    expect(silentChange).toBeLessThan(speakingChange / 3);
  });

  it('lists the templates with their formats, the user\'s among them', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const result = await cli(['--list-templates'], home);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const format of ['16:9', '9:16', '1:1']) expect(lines.filter((l) => l.split(/\s+/)[1] === format).length, format).toBeGreaterThanOrEqual(2);
    expect(lines.find((l) => l.startsWith('studio '))).toMatch(/^studio\s+16:9\s+\S/);
  });

  it('forces an encoder with --encoder, and refuses one that does not work here naming why', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const out = join(home, 'forced.mp4');
    const forced = await cli(['--text', 'Forced.', '--encoder', 'libx264', '-o', out], home);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('(encoder libx264)');
    // Where no NVIDIA GPU is, NVENC is a real failing candidate (Debian's ffmpeg lists it; the bundled one lacks it).
    const nvenc = await cli(['--text', 'No GPU.', '--encoder', 'h264_nvenc', '-o', join(home, 'nvenc.mp4')], home);
    if (nvenc.code === 0) {
      expect(nvenc.stdout, 'a machine with NVENC uses it').toContain('(encoder h264_nvenc)');
    } else {
      expect(nvenc.code).toBe(2);
      expect(nvenc.stderr).toMatch(/encoder h264_nvenc does not work here \(.+\); encoders that work here: .*libx264/);
      expect(existsSync(join(home, 'nvenc.mp4'))).toBe(false);
    }
    const unknown = await cli(['--text', 'Hi.', '--encoder', 'Not An Encoder', '-o', join(home, 'x.mp4')], home);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/encoder: an ffmpeg encoder name like libx264/);
  });

  it('renders the shipped three-scene example', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const out = join(home, 'welcome.mp4');
    const result = await cli([join(root, 'resources/examples/welcome.json'), '-o', out], home);
    expect(result.code, result.stderr).toBe(0);
    const probe = await ffprobe(out);
    expect(Number(probe.format.duration)).toBeGreaterThan(10);
  });

  it.each([
    ['an empty script', ['--text', '   '], /script is empty/],
    ['a 50,000-character script', ['--text', 'x'.repeat(50_000)], /50000 characters; the limit is 40000/],
    ['an unknown template', ['--text', 'Hi.', '--template', 'nope'], /template "nope" does not exist; use one of: /],
    ['an unknown voice', ['--text', 'Hi.', '--voice', 'espeak:xx-nope'], /voice "espeak:xx-nope"/],
    ['an unknown quality', ['--text', 'Hi.', '--quality', '480p'], /quality/],
    ['an unwritable output folder', ['--text', 'Hi.', '-o', '/nonexistent-dir/out.mp4'], /\/nonexistent-dir.*does not exist or is not writable/],
    ['an output that is not .mp4', ['--text', 'Hi.', '-o', 'out.avi'], /must end in \.mp4/],
    ['a missing project file', ['missing-project.json'], /missing-project\.json: cannot read the project file/],
    ['a script with a batch variable', ['--text', 'Hi {{first_name}}.'], /: \{\{first_name\}\} is a batch variable with no value here; render this project with a CSV/],
  ])('refuses %s with exit 2, a message naming it, and nothing written', async (_label, args, message) => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const result = await cli(args as string[], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(readdirSync(home).filter((f) => f.endsWith('.mp4') || f.endsWith('.partial'))).toEqual([]);
  });

  it('refuses a corrupt project file naming the file', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mp-cli-'));
    const file = join(home, 'broken.json');
    writeFileSync(file, '{"scenes": [');
    const result = await cli([file, '-o', join(home, 'x.mp4')], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('broken.json: not valid JSON');
    expect(existsSync(join(home, 'x.mp4'))).toBe(false);
  });
});
