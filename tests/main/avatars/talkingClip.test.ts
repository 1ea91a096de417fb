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
import { detectFaces } from '../../../src-main/avatars/faces';
import { prepareClip, PROXY_FILE } from '../../../src-main/avatars/prepare';
import { personMask, writeMaskCache } from '../../../src-main/avatars/segment';
import { readFrames } from '../../../src-main/media/frames';
import { composeStage } from '../../../src-main/render/compose';
import { MASKS_FILE, clipCrop, clipMasks, talkingClipStage } from '../../../src-main/render/talkingClip';
import { findTemplate } from '../../../src-main/templates/catalogue';
import { projectSchema } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';

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

describe('clip cut-out', () => {
  let dir: string;
  let avatar: { dir: string; data: Awaited<ReturnType<typeof prepareClip>> };
  const context = { signal: new AbortController().signal, report: () => {} };
  useSharedModels();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-clip-cutout-'));
    await mkdir(join(dir, 'avatar'));
    avatar = { dir: join(dir, 'avatar'), data: await prepareClip(CLIP, join(dir, 'avatar'), context) };
  });

  it("a clip's masks are computed once and kept in its folder: a later call reads them, and a damaged file is computed again", async () => {
    const first = await clipMasks(avatar, context.signal);
    const path = join(avatar.dir, MASKS_FILE);
    expect(first.count).toBe(avatar.data.frameCount);
    const written = readFileSync(path);
    // Masks that SINet could never produce stand in the cache: the next call must answer them.
    const pixels = avatar.data.width * avatar.data.height;
    await writeMaskCache(path, avatar.data.width, avatar.data.height, Array.from({ length: avatar.data.frameCount }, () => new Uint8Array(pixels).fill(7)));
    const cached = await clipMasks(avatar, context.signal);
    expect(cached.frame(10).every((v) => v === 7)).toBe(true);
    // Cut short, as if a render had died while writing it without the rename: computed again.
    truncateSync(path, statSync(path).size - 100);
    const again = await clipMasks(avatar, context.signal);
    expect(again.frame(10)).toEqual(first.frame(10));
    expect(readFileSync(path).equals(written)).toBe(true);
  });

  it('the smoothed masks change less from frame to frame along the edge than the raw ones', async () => {
    const smoothed = await clipMasks(avatar, context.signal);
    const { data } = avatar;
    const raw: Uint8Array[] = [];
    const crop = clipCrop(data);
    for await (const frame of readFrames(join(avatar.dir, PROXY_FILE), data, 0, data.frameCount)) {
      raw.push(await personMask({ width: data.width, height: data.height, data: frame }, { crop }));
    }
    const change = (masks: (i: number) => Uint8Array) => {
      let sum = 0;
      for (let i = 1; i < data.frameCount; i++) {
        const a = masks(i - 1);
        const b = masks(i);
        for (let p = 0; p < a.length; p++) sum += Math.abs(a[p] - b[p]);
      }
      return sum;
    };
    const rawChange = change((i) => raw[i]);
    const smoothChange = change((i) => smoothed.frame(i));
    expect(rawChange).toBeGreaterThan(0);
    expect(smoothChange).toBeLessThan(rawChange * 0.8);
    // Smoothing does not lose the person: the face centre stays opaque in every frame.
    const face = data.reference.face;
    for (let i = 0; i < data.frameCount; i += 10) {
      expect(smoothed.frame(i)[Math.round(face.y + face.height / 2) * data.width + Math.round(face.x + face.width / 2)]).toBeGreaterThan(240);
    }
  });

  it("with a cut-out template the clip's person stands on the scene's colour, the clip's own background gone", async () => {
    const template: Template = { ...findTemplate('studio'), avatar: { layout: 'full', scale: 0.9, background: 'cutout' } };
    const project = projectSchema.parse({ scenes: [{ text: 'a', background: { type: 'colour', colour: '#00ff00' } }] });
    const workDir = join(dir, 'render');
    await mkdir(workDir);
    const wavPath = join(workDir, 'silence.wav');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=22050:cl=mono', '-t', '2', wavPath]);
    const timeline = { duration: 2, wavPath, words: [], phonemes: [], scenes: [{ start: 0.4, end: 1.4 }] };
    const size = { width: 1280, height: 720 };
    const frames = Array.from({ length: 60 }, () => ({ mouth: 'rest' as const, eyes: 'open' as const }));
    const stage = await talkingClipStage({ avatar, frames, fps: 30, project, template, timeline, size, workDir }, context);
    expect(stage.overlay.inputArgs).toContain('rgba');
    const outputPath = join(dir, 'cutout.mp4');
    await composeStage(
      { timeline, project, template, backgrounds: stage.backgrounds, avatar: stage.overlay, cues: [], size, fps: 30, workDir, outputPath, encoder: { binary: ffmpegPath(), encoder: 'libx264' }, watermark: false },
      context,
    );
    const frame = await frameAt(outputPath, 1.0);
    const [geometry] = stage.geometries;
    const masks = await clipMasks(avatar, context.signal);
    const mask = masks.frame(0);
    const { data } = avatar;
    let background = 0;
    // Every shown point of the clip that is plainly background (no person within 6 px) is green.
    for (let sy = 6; sy < data.height - 6; sy += 8) {
      for (let sx = 6; sx < data.width - 6; sx += 8) {
        if (![-6, 0, 6].every((dy) => [-6, 0, 6].every((dx) => mask[(sy + dy) * data.width + sx + dx] === 0))) continue;
        const x = Math.round(sx * geometry.scale - geometry.view.x);
        const y = Math.round(sy * geometry.scale - geometry.view.y);
        if (x < 0 || y < 0 || x >= 1280 || y >= 720) continue;
        background++;
        const p = (y * 1280 + x) * 3;
        const rgb = [frame.data[p], frame.data[p + 1], frame.data[p + 2]];
        expect(Math.abs(rgb[0]) + Math.abs(255 - rgb[1]) + Math.abs(rgb[2]), `clip point ${sx},${sy}: ${rgb}`).toBeLessThan(60);
      }
    }
    expect(background).toBeGreaterThan(30);
    const faces = await detectFaces(frame);
    expect(faces).toHaveLength(1);
  });

  it('a clip that keeps its background plays in a card in one scene and in a ringed bubble in the bottom-right corner in the next', async () => {
    const template: Template = { ...findTemplate('studio'), avatar: { layout: 'left', scale: 0.8, background: 'keep' } };
    const project = projectSchema.parse({
      scenes: [
        { text: 'a', background: { type: 'colour', colour: '#00ff00' } },
        { text: 'b', background: { type: 'colour', colour: '#00ff00' }, avatarLayout: 'bubble' },
      ],
      brand: { primary: '#ff00ff' },
    });
    const workDir = join(dir, 'render-card');
    await mkdir(workDir);
    const wavPath = join(workDir, 'silence.wav');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=22050:cl=mono', '-t', '3.6', wavPath]);
    const timeline = { duration: 3.6, wavPath, words: [], phonemes: [], scenes: [{ start: 0.4, end: 1.4 }, { start: 2.0, end: 3.0 }] };
    const size = { width: 1280, height: 720 };
    const frames = Array.from({ length: 108 }, () => ({ mouth: 'rest' as const, eyes: 'open' as const }));
    const stage = await talkingClipStage({ avatar, frames, fps: 30, project, template, timeline, size, workDir }, context);
    expect(stage.overlay.inputArgs).toContain('rgb24');
    const outputPath = join(dir, 'card-bubble.mp4');
    await composeStage(
      { timeline, project, template, backgrounds: stage.backgrounds, avatar: stage.overlay, cues: [], size, fps: 30, workDir, outputPath, encoder: { binary: ffmpegPath(), encoder: 'libx264' }, watermark: false },
      context,
    );
    const [card, bubble] = stage.geometries;
    const green = (p: number[]) => Math.abs(p[0]) + Math.abs(255 - p[1]) + Math.abs(p[2]) < 60;
    const at = (f: { data: Uint8Array }, x: number, y: number) => {
      const p = (Math.round(y) * 1280 + Math.round(x)) * 3;
      return [f.data[p], f.data[p + 1], f.data[p + 2]];
    };
    const first = await frameAt(outputPath, 0.9);
    const [face1] = await detectFaces(first);
    expect(face1.x).toBeGreaterThan(card.at.x);
    expect(face1.x + face1.width).toBeLessThan(card.at.x + card.view.width);
    expect(green(at(first, card.at.x + 10, card.at.y + 10))).toBe(false);
    expect(green(at(first, 1000, 200))).toBe(true);

    const second = await frameAt(outputPath, 2.5);
    const r = bubble.view.width / 2;
    const centre = { x: bubble.at.x + r, y: bubble.at.y + r };
    const [face2] = await detectFaces(second);
    expect(Math.hypot(face2.x + face2.width / 2 - centre.x, face2.y + face2.height / 2 - centre.y)).toBeLessThan(r * 0.6);
    expect(green(at(second, card.at.x + 10, card.at.y + 10))).toBe(true);
    expect(green(at(second, centre.x - r * 1.08, centre.y))).toBe(true);
    const ring = at(second, centre.x, bubble.at.y + 3);
    expect(ring[0] > 180 && ring[1] < 90 && ring[2] > 180, `ring ${ring}`).toBe(true);
  });
});
