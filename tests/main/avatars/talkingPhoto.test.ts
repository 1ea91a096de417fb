import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../../src-main/app';
import { ffmpegPath, ffprobe } from '../../../src-main/media/ffmpeg';
import { analysePhoto } from '../../../src-main/avatars/faces';
import { PADDING } from '../../../src-main/render/stages';
import { openDatabase } from '../../../src-main/db/connection';
import { listEvents } from '../../../src-main/audit/log';
import { buildWav2LipTestGraph } from '../../support/onnxGraphs';
import { SHARED_DIR, sharedFile, useSharedModels } from '../../support/shared';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const PORTRAIT = sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg');

async function cli(args: string[], home: string) {
  try {
    const { stdout, stderr } = await run(tsx, [join(root, 'src-main/cli.ts'), ...args], {
      env: { ...process.env, MOUTHPIECE_HOME: home, MOUTHPIECE_MODELS: join(SHARED_DIR, 'models') },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** One RGB frame of the video at time t, decoded by ffmpeg. */
async function frameAt(file: string, t: number, width: number, height: number) {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 1 << 26,
  });
  return { width, height, data: new Uint8Array(stdout) };
}

type Box = { x: number; y: number; width: number; height: number };
function meanDiff(a: { data: Uint8Array; width: number }, b: { data: Uint8Array }, box: Box): number {
  let sum = 0;
  for (let y = Math.round(box.y); y < Math.round(box.y + box.height); y++) {
    for (let x = Math.round(box.x); x < Math.round(box.x + box.width); x++) {
      const p = (y * a.width + x) * 3;
      sum += Math.abs(a.data[p] - b.data[p]) + Math.abs(a.data[p + 1] - b.data[p + 1]) + Math.abs(a.data[p + 2] - b.data[p + 2]);
    }
  }
  return sum / (3 * Math.round(box.width) * Math.round(box.height));
}

describe('talking photo', () => {
  let home: string;
  let app: App;
  useSharedModels();

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'mp-photo-'));
    app = await openApp({ home });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('importing a portrait prepares it once, with a thumbnail and a preview of it speaking', async () => {
    const changes: string[] = [];
    const progress: number[] = [];
    const stop = app.onEvent((name, payload) => {
      if (name === 'avatars:changed') changes.push((payload as { status: string }).status);
      if (name === 'avatars:progress') progress.push((payload as { progress: number }).progress);
    });
    const { avatar, done } = await app.avatars.import(PORTRAIT, { name: 'Grace' });
    expect(avatar.status).toBe('preparing');
    const ready = await done;
    stop();
    expect(ready.status, ready.error ?? '').toBe('ready');
    expect(ready.thumbnail).toMatch(/^data:image\/png;base64,/);
    expect(ready.hasPreview).toBe(true);
    expect(changes).toEqual(['preparing', 'ready']);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.at(-1)).toBeGreaterThan(0.9);
    const preview = await app.avatars.preview(ready.id);
    expect(preview.url).toMatch(/^data:video\/mp4;base64,/);
    const list = await app.avatars.list();
    expect(list.map((a) => a.name)).toEqual(['Presenter (built in)', 'Grace']);
    expect(list[0].thumbnail).toMatch(/^data:image\/png;base64,iVBOR/);
  });

  it('cancelling a preparation marks the avatar cancelled and removes its files', async () => {
    const { avatar, done } = await app.avatars.import(PORTRAIT, { name: 'Cancelled' });
    const cancelled = await app.avatars.cancel(avatar.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await done).status).toBe('cancelled');
    expect(existsSync(join(home, 'avatars', avatar.id))).toBe(false);
    await app.avatars.delete(avatar.id);
    expect((await app.avatars.list()).some((a) => a.id === avatar.id)).toBe(false);
  });

  it('a render with the photo moves the mouth while speaking, rests it in silence, and leaves the background still', async () => {
    const out = join(home, 'grace.mp4');
    const result = await cli(['--text', 'Hello! I am Grace. Compilers are wonderful.', '--avatar', PORTRAIT, '-o', out], home);
    expect(result.code, result.stderr).toBe(0);
    const probe = await ffprobe(out);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect([video.codec_name, video.width, video.height]).toEqual(['h264', 1280, 720]);
    expect(probe.streams.some((s) => s.codec_type === 'audio')).toBe(true);

    // Find the mouth in the rendered video itself, on a frame before the speech starts.
    const silent = await frameAt(out, 0.05, 1280, 720);
    const quiet = await frameAt(out, PADDING.lead * 0.6, 1280, 720);
    const { face, landmarks } = await analysePhoto(silent, 'first frame');
    const xs = landmarks.mouthOuter.map((p) => p.x);
    const ys = landmarks.mouthOuter.map((p) => p.y);
    const mouth = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) + face.height * 0.1 };
    const duration = Number(probe.format.duration);
    const speaking: number[] = [];
    for (let t = PADDING.lead + 0.1; t < duration - PADDING.tail; t += 0.1) speaking.push(meanDiff(await frameAt(out, t, 1280, 720), silent, mouth));
    // Speech opens the mouth well beyond what the idle motion does in silence.
    const idle = meanDiff(quiet, silent, mouth);
    expect(Math.max(...speaking)).toBeGreaterThan(12);
    expect(Math.max(...speaking)).toBeGreaterThan(idle * 4 + 4);
    // Far from the face (the flag at the left, the uniform at the bottom corners) nothing moves
    // beyond the encoder's noise.
    const open = await frameAt(out, PADDING.lead + 0.1 + 0.1 * speaking.indexOf(Math.max(...speaking)), 1280, 720);
    for (const box of [
      { x: 0, y: 0, width: 200, height: 300 },
      { x: 0, y: 620, width: 200, height: 100 },
      { x: 1080, y: 620, width: 200, height: 100 },
    ]) {
      expect(meanDiff(open, silent, box), JSON.stringify(box)).toBeLessThan(2);
    }
  });

  it('a second render of the same photo reuses its avatar, and an avatar id works as --avatar', async () => {
    const before = (await app.avatars.list()).length;
    const first = await cli(['--text', 'Short.', '--avatar', PORTRAIT, '-o', join(home, 'again.mp4')], home);
    expect(first.code, first.stderr).toBe(0);
    const avatars = (await app.avatars.list()).filter((a) => a.kind === 'photo');
    expect(avatars.length + 1).toBe(before);
    const byId = await cli(['--text', 'By id.', '--avatar', avatars[0].id, '-o', join(home, 'by-id.mp4')], home);
    expect(byId.code, byId.stderr).toBe(0);
    expect(existsSync(join(home, 'by-id.mp4'))).toBe(true);
  });

  it('a photo without a face is refused with exit 2, naming the file, and leaves no avatar files or video behind', async () => {
    const blank = join(home, 'wall.png');
    await run(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=0x8899aa:s=640x480', '-frames:v', '1', blank]);
    const out = join(home, 'wall.mp4');
    const result = await cli(['--text', 'Hello.', '--avatar', blank, '-o', out], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/wall\.png: no face/);
    expect(existsSync(out)).toBe(false);
    const failed = (await app.avatars.list()).find((a) => a.status === 'failed');
    expect(failed?.error).toMatch(/wall\.png/);
    // Only the ready avatar's folder remains.
    expect(readdirSync(join(home, 'avatars'))).toHaveLength(1);
  });

  it('--lipsync with a Wav2Lip-compatible model animates the photo with it, and records the engine and provider', async () => {
    const model = join(home, 'lipsync.onnx');
    writeFileSync(model, buildWav2LipTestGraph());
    const out = join(home, 'wav2lip.mp4');
    const result = await cli(['--text', 'Hello there, this is the neural path.', '--avatar', PORTRAIT, '--lipsync', model, '-o', out], home);
    expect(result.code, result.stderr).toBe(0);
    // The test graph's output follows the speech's loudness, so the lower face changes with speech.
    const silent = await frameAt(out, 0.05, 1280, 720);
    const { face } = await analysePhoto(silent, 'first frame');
    const lowerFace = { x: face.x + face.width * 0.2, y: face.y + face.height * 0.65, width: face.width * 0.6, height: face.height * 0.3 };
    const speaking = meanDiff(await frameAt(out, PADDING.lead + 0.5, 1280, 720), silent, lowerFace);
    const quiet = meanDiff(await frameAt(out, PADDING.lead * 0.6, 1280, 720), silent, lowerFace);
    expect(speaking).toBeGreaterThan(quiet + 2);
    const db = await openDatabase(join(home, 'mouthpiece.db'));
    const finished = (await listEvents(db)).filter((e) => e.type === 'render.finished').map((e) => JSON.parse(e.data_json!) as { engine: unknown });
    await db.destroy();
    expect(finished.at(-1)!.engine).toEqual({ name: 'wav2lip', provider: 'cpu' });
    expect(finished[0].engine).toEqual({ name: 'warp', provider: 'js-workers' });
  });

  it('--lipsync with a file that is not a Wav2Lip model is refused with exit 2, naming it', async () => {
    const notOnnx = join(home, 'notes.onnx');
    writeFileSync(notOnnx, 'just some text');
    const result = await cli(['--text', 'Hello.', '--avatar', PORTRAIT, '--lipsync', notOnnx, '-o', join(home, 'bad.mp4')], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('notes.onnx');
    expect(existsSync(join(home, 'bad.mp4'))).toBe(false);
  });

  it('an unknown avatar id is refused before any work, naming it', async () => {
    const result = await cli(['--text', 'Hello.', '--avatar', 'not-an-avatar', '-o', join(home, 'x.mp4')], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/avatar "not-an-avatar" does not exist/);
  });
});
