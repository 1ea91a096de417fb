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
import { detectFaces } from '../../../src-main/avatars/faces';
import { preparePhoto } from '../../../src-main/avatars/prepare';
import { personCrop, personMask } from '../../../src-main/avatars/segment';
import { decodeImage } from '../../../src-main/media/image';
import { composeStage } from '../../../src-main/render/compose';
import { bubbleShape, talkingPhotoStage } from '../../../src-main/render/talkingPhoto';
import { findTemplate } from '../../../src-main/templates/catalogue';
import { projectSchema } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';
import type { Timeline } from '../../../src-main/render/stages';

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

const context = { signal: new AbortController().signal, report: () => {} };
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const MAGENTA = [255, 0, 255];

/** A silent timeline of scenes of 1.2 s with 0.6 s pauses, and its WAV. */
async function silentTimeline(dir: string, scenes: number): Promise<Timeline> {
  const duration = 0.4 + scenes * 1.2 + (scenes - 1) * 0.6 + 0.6;
  const wavPath = join(dir, 'silence.wav');
  await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=22050:cl=mono', '-t', duration.toFixed(3), wavPath]);
  return {
    duration,
    wavPath,
    words: [],
    phonemes: [],
    scenes: Array.from({ length: scenes }, (_, i) => ({ start: 0.4 + i * 1.8, end: 1.6 + i * 1.8 })),
  };
}

function pixel(frame: { data: Uint8Array; width: number }, x: number, y: number): number[] {
  const p = (Math.round(y) * frame.width + Math.round(x)) * 3;
  return [frame.data[p], frame.data[p + 1], frame.data[p + 2]];
}

const near = (a: number[], b: number[], tolerance = 24) => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);

describe('photo avatar layouts', () => {
  let dir: string;
  let avatar: { dir: string; data: Awaited<ReturnType<typeof preparePhoto>> };
  useSharedModels();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-photo-layout-'));
    const avatarDir = join(dir, 'avatar');
    await run('mkdir', ['-p', avatarDir]);
    avatar = { dir: avatarDir, data: await preparePhoto(PORTRAIT, avatarDir, context) };
  });

  async function render(name: string, template: Template, scenes: object[], brand: object = {}) {
    const workDir = join(dir, name);
    await run('mkdir', ['-p', workDir]);
    const project = projectSchema.parse({ scenes, brand });
    const timeline = await silentTimeline(workDir, scenes.length);
    const size = { width: 1280, height: 720 };
    const frames = Array.from({ length: Math.ceil(timeline.duration * 30) }, () => ({ mouth: 'rest' as const, eyes: 'open' as const }));
    const stage = await talkingPhotoStage({ avatar, frames, fps: 30, project, template, timeline, size, workDir }, context);
    const outputPath = join(dir, `${name}.mp4`);
    await composeStage(
      {
        timeline,
        project,
        template,
        backgrounds: stage.backgrounds,
        avatar: stage.overlay,
        cues: [],
        size,
        fps: 30,
        workDir,
        outputPath,
        encoder: { binary: ffmpegPath(), encoder: 'libx264' },
        watermark: false,
      },
      context,
    );
    return { stage, timeline, outputPath };
  }

  const cutout = (layout: Template['avatar']['layout'], scale = 0.8): Template => ({ ...findTemplate('studio'), avatar: { layout, scale, background: 'cutout' } });

  it("a cut-out template stands the photo's person on the scene's colour: the photo's own background is gone and the face is where the layout puts it", async () => {
    const { stage, outputPath } = await render('cutout-full', cutout('full'), [{ text: 'a', background: { type: 'colour', colour: '#00ff00' } }]);
    expect(stage.backgrounds).toEqual([{ type: 'colour', colour: '#00ff00' }]);
    const [geometry] = stage.geometries;
    expect(geometry).toMatchObject({ layout: 'full', cutout: true });
    const frame = await frameAt(outputPath, 1.0, 1280, 720);
    const source = await decodeImage(PORTRAIT);
    const mask = await personMask(source, { crop: personCrop(avatar.data.face, source) });
    const scale = (x: number) => x * geometry.scale;
    // Every shown point of the photo that is plainly background (no person within 12 px) is green now.
    let background = 0;
    for (let sy = 12; sy < source.height - 12; sy += 15) {
      for (let sx = 12; sx < source.width - 12; sx += 15) {
        const clear = [-12, 0, 12].every((dy) => [-12, 0, 12].every((dx) => mask[(sy + dy) * source.width + sx + dx] === 0));
        const x = scale(sx) - geometry.view.x;
        const y = scale(sy) - geometry.view.y;
        if (!clear || x < 0 || y < 0 || x >= 1280 || y >= 720) continue;
        background++;
        expect(pixel(frame, x, y), `photo point ${sx},${sy}`).toSatisfy((p: number[]) => near(p, GREEN));
      }
    }
    expect(background).toBeGreaterThan(50);
    const [face] = await detectFaces(frame);
    const expected = { x: scale(avatar.data.face.x + avatar.data.face.width / 2) - geometry.view.x, y: scale(avatar.data.face.y + avatar.data.face.height / 2) - geometry.view.y };
    expect(Math.hypot(face.x + face.width / 2 - expected.x, face.y + face.height / 2 - expected.y)).toBeLessThan(face.width * 0.2);
    expect(near(pixel(frame, expected.x, expected.y), GREEN, 60)).toBe(false);
  });

  it('scenes switch layout at the pause: the cut-out person stands on the right in one scene, and the face sits in a ringed bubble in the bottom-right corner in the next', async () => {
    const { stage, timeline, outputPath } = await render(
      'right-then-bubble',
      cutout('right'),
      [
        { text: 'a', background: { type: 'colour', colour: '#00ff00' } },
        { text: 'b', background: { type: 'colour', colour: '#0000ff' }, avatarLayout: 'bubble' },
      ],
      { primary: '#ff00ff' },
    );
    const [right, bubble] = stage.geometries;
    expect(right).toMatchObject({ layout: 'right', cutout: true, scenes: [0] });
    expect(bubble).toMatchObject({ layout: 'bubble', cutout: false, scenes: [1] });

    const first = await frameAt(outputPath, (timeline.scenes[0].start + timeline.scenes[0].end) / 2, 1280, 720);
    const [face1] = await detectFaces(first);
    expect(face1.x).toBeGreaterThan(640);
    // The person stands on the frame's bottom edge, and beside them is the scene's colour only.
    expect(right.at.y + right.view.height).toBe(720);
    for (const [x, y] of [[100, 100], [400, 600], [640, 360], [right.at.x + 4, right.at.y + 4]]) {
      expect(pixel(first, x, y), `${x},${y}`).toSatisfy((p: number[]) => near(p, GREEN));
    }
    // No bubble in the first scene.
    expect(pixel(first, bubble.at.x + bubble.view.width / 2, bubble.at.y + 3)).not.toSatisfy((p: number[]) => near(p, MAGENTA, 80));

    const second = await frameAt(outputPath, (timeline.scenes[1].start + timeline.scenes[1].end) / 2, 1280, 720);
    const r = bubble.view.width / 2;
    const centre = { x: bubble.at.x + r, y: bubble.at.y + r };
    expect(centre.x).toBeGreaterThan(1280 - 720 * 0.34);
    expect(centre.y).toBeGreaterThan(720 - 720 * 0.34);
    const [face2] = await detectFaces(second);
    expect(Math.hypot(face2.x + face2.width / 2 - centre.x, face2.y + face2.height / 2 - centre.y)).toBeLessThan(r * 0.6);
    // The bubble shows the photo's own background inside the circle, and the scene's colour outside it.
    for (const angle of [0.3, 1.2, 2.5, 3.6, 4.5, 5.5]) {
      const outside = { x: centre.x + Math.cos(angle) * r * 1.08, y: centre.y + Math.sin(angle) * r * 1.08 };
      if (outside.x < 1280 && outside.y < 720) expect(pixel(second, outside.x, outside.y), `outside at ${angle}`).toSatisfy((p: number[]) => near(p, BLUE));
      const ringAt = r - bubbleShape(bubble.view.width).ring / 2;
      const ring = { x: centre.x + Math.cos(angle) * ringAt, y: centre.y + Math.sin(angle) * ringAt };
      expect(pixel(second, ring.x, ring.y), `ring at ${angle}: ${pixel(second, ring.x, ring.y)}`).toSatisfy((p: number[]) => near(p, MAGENTA, 80));
    }
    for (const [x, y] of [[100, 100], [640, 360], [right.at.x + 40, 600]]) {
      expect(pixel(second, x, y), `${x},${y}`).toSatisfy((p: number[]) => near(p, BLUE));
    }
  });

  it('a template that keeps the photo\'s background shows it as a card beside the scene\'s colour, and as the whole picture in a full scene', async () => {
    const keep: Template = { ...findTemplate('studio'), avatar: { layout: 'left', scale: 0.8, background: 'keep' } };
    const { stage, timeline, outputPath } = await render('card-then-full', keep, [
      { text: 'a', background: { type: 'colour', colour: '#00ff00' } },
      { text: 'b', background: { type: 'colour', colour: '#0000ff' }, avatarLayout: 'full' },
    ]);
    const [card, full] = stage.geometries;
    expect(card).toMatchObject({ layout: 'left', cutout: false, scenes: [0] });
    expect(full).toMatchObject({ layout: 'full', cutout: false, scenes: [1] });
    expect(stage.backgrounds[0]).toEqual({ type: 'colour', colour: '#00ff00' });
    expect(stage.backgrounds[1].type).toBe('image');

    const first = await frameAt(outputPath, (timeline.scenes[0].start + timeline.scenes[0].end) / 2, 1280, 720);
    const [face1] = await detectFaces(first);
    expect(face1.x).toBeGreaterThan(card.at.x);
    expect(face1.x + face1.width).toBeLessThan(card.at.x + card.view.width);
    // Inside the card near its corner is the photo's own background (the flag, not green); beside it, green.
    expect(near(pixel(first, card.at.x + 20, card.at.y + 40), GREEN, 60)).toBe(false);
    for (const [x, y] of [[900, 100], [1200, 650], [card.at.x + card.view.width + 40, 360]]) {
      expect(pixel(first, x, y), `${x},${y}`).toSatisfy((p: number[]) => near(p, GREEN));
    }

    const second = await frameAt(outputPath, (timeline.scenes[1].start + timeline.scenes[1].end) / 2, 1280, 720);
    const [face2] = await detectFaces(second);
    expect(face2.width).toBeGreaterThan(face1.width * 1.5);
    // The whole frame is the photo: no blue anywhere along the edges.
    for (const [x, y] of [[10, 10], [1270, 10], [10, 710], [1270, 710], [640, 710]]) {
      expect(near(pixel(second, x, y), BLUE, 60), `${x},${y}`).toBe(false);
    }
  });
});
