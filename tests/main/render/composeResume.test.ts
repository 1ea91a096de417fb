import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCancelled } from '../../../src-shared/errors';
import { projectSchema } from '../../../src-shared/project';
import type { Template } from '../../../src-shared/template';
import type { Viseme } from '../../../src-shared/visemes';
import { prepareClip, preparePhoto } from '../../../src-main/avatars/prepare';
import { SOFTWARE_ENCODER } from '../../../src-main/media/encoders';
import { pingPong, pingPongFrames } from '../../../src-main/media/frames';
import { ffmpegPath, ffprobe } from '../../../src-main/media/ffmpeg';
import { SEGMENTS_DIR, composeCheckpoint, composeStage, presenterOverlay, type AvatarOverlay, type ComposeInput, type ComposeOutput } from '../../../src-main/render/compose';
import { presenterStage, type AvatarFrame, type Timeline } from '../../../src-main/render/stages';
import { talkingClipStage } from '../../../src-main/render/talkingClip';
import { talkingPhotoStage } from '../../../src-main/render/talkingPhoto';
import { findTemplate } from '../../../src-main/templates/catalogue';
import { buildWav2LipTestGraph } from '../../support/onnxGraphs';
import { sharedFile, useSharedModels } from '../../support/shared';

const run = promisify(execFile);
const FPS = 30;
const SIZE = { width: 640, height: 360 };
const ENCODER = { binary: ffmpegPath(), encoder: SOFTWARE_ENCODER };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mp-compose-resume-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A timeline of one scene over `seconds` of quiet sound, and its WAV. */
async function quietTimeline(workDir: string, seconds: number): Promise<Timeline> {
  const wavPath = join(workDir, 'speech.wav');
  await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=220:r=22050', '-af', 'volume=0.05', '-t', seconds.toFixed(3), '-fflags', '+bitexact', '-flags:a', '+bitexact', wavPath]);
  return { duration: seconds, wavPath, words: [], phonemes: [], scenes: [{ start: 0.4, end: seconds - 0.6 }] };
}

/** The mouth wide open for four frames, closed for four: any frame out of place shows. */
function flappingMouth(seconds: number): AvatarFrame[] {
  return Array.from({ length: Math.ceil(seconds * FPS) }, (_, i) => ({ mouth: (i % 8 < 4 ? 'AI' : 'rest') as Viseme, eyes: 'open' as const }));
}

/** Where an interrupted compose's feed waits to be cancelled: a few segments in. */
const HOLD_AT = 3 * FPS;

/**
 * The avatar overlay with its fed frames held back at frame `at` until `hold` is aborted, the way a
 * slow avatar engine holds up a real compose: cancelling there always finds some segments
 * finished and some not. Only the `call`-th feed holds (a failed first encode's is not read).
 */
function holding(overlay: AvatarOverlay, hold: AbortSignal, at: number, call: number): AvatarOverlay {
  const held = new Promise<void>((resolve) => hold.addEventListener('abort', () => resolve(), { once: true }));
  const feed = overlay.feed!;
  let calls = 0;
  return {
    ...overlay,
    feed: (write, from = 0) => {
      let index = from;
      const holds = ++calls === call;
      return feed(async (frame) => {
        if (holds && index++ === at) await held;
        await write(frame);
      }, from);
    },
  };
}

/** The presenter, which has no feed, with a transparent fed input over it to hold back. */
function withFeed(overlay: AvatarOverlay, frames: number): AvatarOverlay {
  return {
    ...overlay,
    inputArgs: [...overlay.inputArgs, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', '2x2', '-framerate', String(FPS), '-i', 'pipe:0'],
    overlay: (inputs, base, out) =>
      `${overlay.overlay(inputs.slice(0, -1), base, 'presenter')};[presenter][${inputs[inputs.length - 1]}:v]overlay=format=yuv420:eof_action=repeat:shortest=0[${out}]`,
    feed: async (write, from = 0) => {
      const transparent = new Uint8Array(2 * 2 * 4);
      for (let index = from; index < frames; index++) await write(transparent);
    },
  };
}

/** A compose of the built-in presenter over one coloured scene, in its own work folder. */
async function presenterCompose(name: string, colour: string, seconds = 16): Promise<ComposeInput> {
  const workDir = join(dir, name);
  mkdirSync(workDir, { recursive: true });
  const template = findTemplate('studio');
  const project = projectSchema.parse({ template: 'studio', scenes: [{ text: 'a', background: { type: 'colour', colour } }] });
  const timeline = await quietTimeline(workDir, seconds);
  const spriteHeight = 2 * Math.round((template.avatar.scale * SIZE.height) / 2);
  const sprites = await presenterStage({ frames: flappingMouth(seconds), fps: FPS, spriteHeight, cacheDir: join(dir, 'cache'), workDir }, { signal: new AbortController().signal, report: () => {} });
  const presenter = await presenterOverlay({ listPath: sprites.listPath, sprite: sprites.sprites, template, project, size: SIZE, fps: FPS, timeline, workDir });
  const avatar = withFeed(presenter, Math.ceil(seconds * FPS));
  return {
    timeline,
    project,
    template,
    backgrounds: [project.scenes[0].background!],
    avatar,
    cues: [],
    size: SIZE,
    fps: FPS,
    workDir,
    outputPath: join(dir, `${name}.mp4`),
    encoder: ENCODER,
    watermark: false,
    segmentSeconds: 1,
  };
}

async function compose(input: ComposeInput, progress: number[] = []): Promise<ComposeOutput> {
  return composeStage(input, { signal: new AbortController().signal, report: (fraction) => progress.push(fraction) });
}

/** Compose until at least one segment is finished, then cancel; the segments it finished. */
async function interruptedCompose(input: ComposeInput, encodes = 1): Promise<number> {
  const controller = new AbortController();
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void composeCheckpoint(input.workDir).then((checkpoint) => {
      polling = false;
      if (checkpoint && checkpoint.segments >= 1) controller.abort();
    });
  }, 15);
  try {
    const held = { ...input, avatar: holding(input.avatar, controller.signal, HOLD_AT, encodes) };
    const error = await composeStage(held, { signal: controller.signal, report: () => {} }).then(
      () => new Error('the compose finished before it could be cancelled'),
      (e: unknown) => e,
    );
    expect(isCancelled(error), String(error)).toBe(true);
  } finally {
    clearInterval(timer);
  }
  const checkpoint = await composeCheckpoint(input.workDir);
  expect(checkpoint?.complete).toBe(false);
  return checkpoint!.segments;
}

const segmentPath = (input: ComposeInput, index: number) => join(input.workDir, SEGMENTS_DIR, `segment-${String(index).padStart(5, '0')}.ts`);
const identity = (path: string) => {
  const { ino, mtimeMs, size } = statSync(path);
  return { ino, mtimeMs, size };
};

/** Stream layout and length of an MP4: codec and size of each stream, duration, video frames. */
async function layout(file: string) {
  const probe = await ffprobe(file);
  return {
    streams: probe.streams.map((s) => [s.codec_type, s.codec_name, s.width ?? null, s.height ?? null]),
    duration: Number(probe.format.duration),
    frames: Number((probe.streams.find((s) => s.codec_type === 'video') as { nb_frames?: string }).nb_frames),
  };
}

/** Video frame number `index` of a file, as RGB. */
async function frame(file: string, index: number): Promise<Uint8Array> {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-vsync', '0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 1 << 24,
  });
  return new Uint8Array(stdout);
}

/** The largest mean difference of any 16 x 16 block of two frames: a small region that differs stands out. */
function blockDifference(a: Uint8Array, b: Uint8Array): number {
  let worst = 0;
  for (let by = 0; by + 16 <= SIZE.height; by += 16) {
    for (let bx = 0; bx + 16 <= SIZE.width; bx += 16) {
      let sum = 0;
      for (let y = by; y < by + 16; y++) {
        for (let x = bx; x < bx + 16; x++) {
          const p = (y * SIZE.width + x) * 3;
          sum += Math.abs(a[p] - b[p]) + Math.abs(a[p + 1] - b[p + 1]) + Math.abs(a[p + 2] - b[p + 2]);
        }
      }
      worst = Math.max(worst, sum / (16 * 16 * 3));
    }
  }
  return worst;
}

/**
 * Frames on both sides of where the resume started match the uninterrupted video's, and the
 * comparison is sharp enough to see a frame out of place (the mouth changes every four frames).
 */
async function expectSameFramesAround(resumed: string, reference: string, fromFrame: number) {
  // Eight frames from the resume on cross at least one change of the mouth, whichever way a frame might slip.
  for (let index = fromFrame - 1; index <= fromFrame + 8; index++) {
    const [a, b] = await Promise.all([frame(resumed, index), frame(reference, index)]);
    // Re-encoding after the resume leaves a little noise; a wrong frame differs by far more (below).
    expect(blockDifference(a, b), `frame ${index}`).toBeLessThan(12);
  }
  const [now, later] = await Promise.all([frame(reference, fromFrame), frame(reference, fromFrame + 4)]);
  expect(blockDifference(now, later), 'the mouth four frames later').toBeGreaterThan(36);
}

describe('resuming a compose', () => {
  it('a compose cancelled after finished segments resumes after them: the same MP4 as an uninterrupted one, the finished segments kept untouched and only the rest encoded', async () => {
    const reference = await presenterCompose('whole', '#204080');
    await compose(reference);
    const input = await presenterCompose('resumed', '#204080');
    const kept = await interruptedCompose(input);
    const before = Array.from({ length: kept }, (_, i) => identity(segmentPath(input, i)));

    const progress: number[] = [];
    const resumeStarted = Date.now();
    const result = await compose(input, progress);

    expect(result.resumedFrom).toBe(kept);
    expect(Array.from({ length: kept }, (_, i) => identity(segmentPath(input, i)))).toEqual(before);
    const total = Math.ceil(16 / 1);
    for (let i = kept; i < total; i++) expect(statSync(segmentPath(input, i)).mtimeMs, `segment ${i} written by the resume`).toBeGreaterThanOrEqual(resumeStarted - 5);
    // Progress counts the finished part: it never starts again from zero.
    expect(Math.min(...progress.slice(1))).toBeGreaterThanOrEqual(0.02 + (0.95 * kept) / 16 - 1e-9);

    const [got, expected] = [await layout(input.outputPath), await layout(reference.outputPath)];
    expect(got.streams).toEqual([
      ['video', 'h264', 640, 360],
      ['audio', 'aac', null, null],
    ]);
    expect(got.streams).toEqual(expected.streams);
    expect(got.frames).toBe(16 * FPS);
    expect(got.frames).toBe(expected.frames);
    expect(got.duration).toBeCloseTo(expected.duration, 2);
    await expectSameFramesAround(input.outputPath, reference.outputPath, kept * FPS);
  });

  it('a compose whose inputs changed (another background colour) starts over instead of reusing the earlier segments', async () => {
    const input = await presenterCompose('recoloured', '#204080');
    await interruptedCompose(input);
    const first = identity(segmentPath(input, 0));

    const changed = await presenterCompose('recoloured', '#a02020');
    const result = await compose(changed);
    expect(result.resumedFrom).toBeUndefined();
    expect(identity(segmentPath(changed, 0))).not.toEqual(first);
    // The first second, from the earlier render's segment had it been reused, is red now.
    const [r, g, b] = (await frame(changed.outputPath, 5)).slice((10 * SIZE.width + 10) * 3, (10 * SIZE.width + 10) * 3 + 3);
    expect([r > 130, g < 70, b < 70], `${[r, g, b]}`).toEqual([true, true, true]);
    expect((await layout(changed.outputPath)).frames).toBe(16 * FPS);
  });

  it('a truncated segment file is not trusted: the resume starts before it', async () => {
    const input = await presenterCompose('truncated', '#208040');
    const kept = await interruptedCompose(input);
    const last = segmentPath(input, kept - 1);
    truncateSync(last, statSync(last).size - 188);

    const result = await compose(input);
    expect(result.resumedFrom ?? 0).toBe(kept - 1);
    expect(statSync(last).size % 188).toBe(0);
    expect((await layout(input.outputPath)).frames).toBe(16 * FPS);
  });

  it('a compose that fell back to software after its hardware encoder failed resumes in software, keeping those segments', async () => {
    // A hardware encoder whose ffmpeg cannot even start: the first encode fails at once and the bundled libx264 takes over.
    const input = { ...(await presenterCompose('fallback', '#602060')), encoder: { binary: join(dir, 'no-such-ffmpeg'), encoder: 'h264_nvenc' } };
    const kept = await interruptedCompose(input, 2);
    const before = identity(segmentPath(input, 0));

    const result = await compose(input);
    expect(result.encoder).toBe(SOFTWARE_ENCODER);
    expect(result.resumedFrom).toBe(kept);
    expect(result.note).toMatch(/h264_nvenc failed earlier/);
    expect(identity(segmentPath(input, 0))).toEqual(before);
    expect((await layout(input.outputPath)).frames).toBe(16 * FPS);
  });

  it('a compose run again after every segment was finished only joins them again', async () => {
    const input = await presenterCompose('finished', '#404040', 3);
    await compose(input);
    const segments = Array.from({ length: 3 }, (_, i) => identity(segmentPath(input, i)));
    const result = await compose(input);
    expect(result.resumedFrom).toBe(3);
    expect(Array.from({ length: 3 }, (_, i) => identity(segmentPath(input, i)))).toEqual(segments);
    expect((await layout(input.outputPath)).frames).toBe(3 * FPS);
  });
});

describe('resuming a compose with a talking photo', () => {
  useSharedModels();

  it("a photo avatar's frames after a resume are the ones the uninterrupted compose shows at those times", async () => {
    const avatarDir = join(dir, 'avatar');
    mkdirSync(avatarDir, { recursive: true });
    const context = { signal: new AbortController().signal, report: () => {} };
    const data = await preparePhoto(sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg'), avatarDir, context);
    const template: Template = { ...findTemplate('studio'), avatar: { layout: 'full', scale: 0.8, background: 'keep' } };
    const project = projectSchema.parse({ scenes: [{ text: 'a' }] });
    const seconds = 6;

    const photoCompose = async (name: string): Promise<ComposeInput> => {
      const workDir = join(dir, name);
      mkdirSync(workDir, { recursive: true });
      const timeline = await quietTimeline(workDir, seconds);
      const stage = await talkingPhotoStage({ avatar: { dir: avatarDir, data }, frames: flappingMouth(seconds), fps: FPS, project, template, timeline, size: SIZE, workDir }, context);
      return {
        timeline,
        project,
        template,
        backgrounds: stage.backgrounds,
        avatar: stage.overlay,
        cues: [],
        size: SIZE,
        fps: FPS,
        workDir,
        outputPath: join(dir, `${name}.mp4`),
        encoder: ENCODER,
        watermark: false,
        segmentSeconds: 1,
      };
    };
    const reference = await photoCompose('photo-whole');
    await compose(reference);
    const input = await photoCompose('photo-resumed');
    const kept = await interruptedCompose(input);
    const resumed = await photoCompose('photo-resumed');
    const result = await compose(resumed);

    expect(result.resumedFrom).toBe(kept);
    expect((await layout(resumed.outputPath)).frames).toBe((await layout(reference.outputPath)).frames);
    await expectSameFramesAround(resumed.outputPath, reference.outputPath, kept * FPS);
  });
});

describe('resuming a talking clip', () => {
  it("the clip's back-and-forth playback started at any output frame goes on as the whole playback does from there", async () => {
    // Twelve all-intra frames, each its own grey level.
    const clip = join(dir, 'clip.mp4');
    const size = { width: 16, height: 16, fps: FPS };
    await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=black:s=16x16:r=${FPS}:d=0.4`, '-vf', 'geq=lum=N*20:cb=128:cr=128', '-c:v', 'libx264', '-g', '1', '-qp', '0', '-pix_fmt', 'yuv444p', clip]);
    const take = async (start: number, total: number) => {
      const out: { index: number; level: number }[] = [];
      for await (const { index, data } of pingPongFrames(clip, size, 12, total, undefined, start)) out.push({ index, level: data[0] });
      return out;
    };
    const whole = await take(0, 60);
    expect(whole.map((f) => f.index)).toEqual(Array.from({ length: 60 }, (_, i) => pingPong(i, 12)));
    for (const start of [1, 11, 12, 17, 22, 23, 40]) {
      expect(await take(start, 60), `from output frame ${start}`).toEqual(whole.slice(start));
    }
  });
});

describe('avatar feeds started mid-way', () => {
  useSharedModels();
  const context = { signal: new AbortController().signal, report: () => {} };
  const frames = 100;
  let wav2lip: string;
  let timeline: Timeline;

  beforeAll(() => {
    wav2lip = join(dir, 'lipsync.onnx');
    writeFileSync(wav2lip, buildWav2LipTestGraph());
    // Real speech, so each frame's mel window and so each Wav2Lip frame differs.
    timeline = { duration: frames / FPS, wavPath: sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav'), words: [], phonemes: [], scenes: [{ start: 0.4, end: 2.8 }] };
  });

  /** A digest of every frame a feed writes from `from` on. */
  async function fed(feed: NonNullable<AvatarOverlay['feed']>, from: number): Promise<string[]> {
    const digests: string[] = [];
    await feed(async (frame) => void digests.push(createHash('sha256').update(frame).digest('hex')), from);
    return digests;
  }

  async function expectResumable(feed: NonNullable<AvatarOverlay['feed']>, starts: number[]) {
    const whole = await fed(feed, 0);
    expect(whole).toHaveLength(frames);
    expect(new Set(whole).size, 'frames that differ from one another').toBeGreaterThan(frames / 4);
    for (const from of starts) expect(await fed(feed, from), `from frame ${from}`).toEqual(whole.slice(from));
  }

  const template: Template = { ...findTemplate('studio'), avatar: { layout: 'full', scale: 0.8, background: 'keep' } };
  const project = projectSchema.parse({ scenes: [{ text: 'a' }] });

  for (const engine of ['warp', 'wav2lip'] as const) {
    it(`a photo's ${engine} feed started at any frame writes the frames the whole feed writes from there`, async () => {
      const avatarDir = join(dir, `feed-photo-${engine}`);
      mkdirSync(avatarDir, { recursive: true });
      const data = await preparePhoto(sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg'), avatarDir, context);
      const stage = await talkingPhotoStage(
        { avatar: { dir: avatarDir, data }, wav2lip: engine === 'wav2lip' ? wav2lip : undefined, frames: flappingMouth(frames / FPS), fps: FPS, project, template, timeline, size: SIZE, workDir: avatarDir },
        context,
      );
      await expectResumable(stage.overlay.feed!, [1, 33, 67]);
    });
  }

  for (const engine of ['warp', 'wav2lip'] as const) {
    it(`a clip's ${engine} feed started at any frame writes the frames the whole feed writes from there, forwards and backwards through the clip`, async () => {
      const avatarDir = join(dir, `feed-clip-${engine}`);
      mkdirSync(avatarDir, { recursive: true });
      const data = await prepareClip(sharedFile('fixtures/talking_head_grid_bbaf2n.mp4'), avatarDir, context);
      expect(data.frameCount).toBeLessThan(frames);
      const stage = await talkingClipStage(
        { avatar: { dir: avatarDir, data }, wav2lip: engine === 'wav2lip' ? wav2lip : undefined, frames: flappingMouth(frames / FPS), fps: FPS, project, template, timeline, size: SIZE, workDir: avatarDir },
        context,
      );
      // One start while the clip plays forwards, one after it has turned back.
      await expectResumable(stage.overlay.feed!, [30, data.frameCount + 10]);
    });
  }
});
