import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../../src-main/app';
import { ffmpegPath, ffprobe } from '../../../src-main/media/ffmpeg';
import { analysePhoto, centroid, mouthOpening } from '../../../src-main/avatars/faces';
import { PADDING } from '../../../src-main/render/stages';
import { openDatabase } from '../../../src-main/db/connection';
import { listEvents } from '../../../src-main/audit/log';
import { buildWav2LipTestGraph } from '../../support/onnxGraphs';
import { sharedFile, useSharedModels } from '../../support/shared';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const CLIP = sharedFile('fixtures/talking_head_grid_bbaf2n.mp4');

async function frameAt(file: string, t: number) {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-ss', t.toFixed(3), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 1 << 26,
  });
  return { width: 1280, height: 720, data: new Uint8Array(stdout) };
}

/** How far apart the lips are, in eye distances, found on the rendered frame itself. */
async function openingAt(file: string, t: number): Promise<number> {
  const { landmarks } = await analysePhoto(await frameAt(file, t), `frame at ${t}s`);
  const eyes = Math.hypot(centroid(landmarks.leftEye).x - centroid(landmarks.rightEye).x, centroid(landmarks.leftEye).y - centroid(landmarks.rightEye).y);
  return mouthOpening(landmarks) / eyes;
}

describe('talking clip', () => {
  let home: string;
  let app: App;
  useSharedModels();

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'mp-clip-'));
    app = await openApp({ home });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('speech longer than the clip plays the clip back and forth, with the mouth following the speech, not the clip', async () => {
    const { avatar, done } = await app.avatars.import(CLIP, { name: 'Me on camera' });
    expect(avatar.kind).toBe('clip');
    const ready = await done;
    expect(ready.status, ready.error ?? '').toBe('ready');
    expect(ready.hasPreview).toBe(true);

    const out = join(home, 'clip.mp4');
    const text = 'Hello! This clip is only three seconds long, but I can keep talking for much longer than that.';
    const { stderr } = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src-main/cli.ts'), '--text', text, '--avatar', ready.id, '-o', out], {
      env: { ...process.env, MOUTHPIECE_HOME: home },
    }).catch((e: { stderr: string }) => ({ stderr: e.stderr }));
    expect(existsSync(out), stderr).toBe(true);
    const probe = await ffprobe(out);
    expect(Number(probe.format.duration)).toBeGreaterThan(5);

    // In the lead silence the mouth is the reference's, nearly closed; while speaking it opens.
    const silent = Math.max(await openingAt(out, 0.05), await openingAt(out, PADDING.lead * 0.7));
    const speaking: number[] = [];
    for (let t = PADDING.lead + 0.2; t < Number(probe.format.duration) - PADDING.tail; t += 0.25) speaking.push(await openingAt(out, t));
    expect(Math.max(...speaking)).toBeGreaterThan(silent + 0.08);
    // Well past the clip's own three seconds the face is still there and still talking.
    expect(Math.max(...speaking.slice(-8))).toBeGreaterThan(silent + 0.05);
  });

  it('a clip renders with a Wav2Lip-compatible model too, recorded as such', async () => {
    const ready = (await app.avatars.list()).find((a) => a.kind === 'clip' && a.status === 'ready')!;
    const model = join(home, 'lipsync.onnx');
    writeFileSync(model, buildWav2LipTestGraph());
    const out = join(home, 'clip-wav2lip.mp4');
    const { stderr } = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src-main/cli.ts'), '--text', 'Neural lips on a clip.', '--avatar', ready.id, '--lipsync', model, '-o', out], {
      env: { ...process.env, MOUTHPIECE_HOME: home },
    }).catch((e: { stderr: string }) => ({ stderr: e.stderr }));
    expect(existsSync(out), stderr).toBe(true);
    const db = await openDatabase(join(home, 'mouthpiece.db'));
    const finished = (await listEvents(db)).filter((e) => e.type === 'render.finished').map((e) => JSON.parse(e.data_json!) as { engine: unknown });
    await db.destroy();
    expect(finished.at(-1)!.engine).toEqual({ name: 'wav2lip', provider: 'cpu' });
  });

  it('a two-second clip is refused with the limits, and no avatar is left ready', async () => {
    const short = join(home, 'short.mp4');
    await run(ffmpegPath(), ['-v', 'error', '-i', CLIP, '-t', '2', '-c:v', 'libx264', '-an', short]);
    const { done } = await app.avatars.import(short);
    const refused = await done;
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/short\.mp4/);
    expect(refused.error).toMatch(/3/);
  });
});
