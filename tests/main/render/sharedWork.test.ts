import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectSchema, type ProjectInput } from '../../../src-shared/project';
import { ffmpegPath, ffprobe } from '../../../src-main/media/ffmpeg';
import { preparePhoto } from '../../../src-main/avatars/prepare';
import { renderProject, type AvatarLookup, type RenderResult } from '../../../src-main/render/renderProject';
import { SharedWork } from '../../../src-main/render/shared';
import { sharedFile, useSharedModels } from '../../support/shared';
import { colourDistance, frameAt } from '../../support/frames';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-shared-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** One row's project: a personalised first scene, then scenes every row says alike. */
function rowProject(name: string, input: Partial<ProjectInput> = {}) {
  return projectSchema.parse({
    title: 'Welcome',
    template: 'studio',
    quality: '720p',
    scenes: [
      { text: `Hi ${name}, welcome to the shop.` },
      { text: 'Come by on Saturday for a free check.', background: { type: 'gradient', from: '#3b2a5c', to: '#120b1f', angle: 150 } },
    ],
    ...input,
  });
}

async function render(name: string, project: ReturnType<typeof rowProject>, options: { sharedDir?: string; lookupAvatar?: AvatarLookup } = {}) {
  const outputPath = join(dir, `${name}.mp4`);
  const result = await renderProject({
    project,
    outputPath,
    workDir: join(dir, `work-${name}`),
    cacheDir: join(dir, 'cache'),
    signal: new AbortController().signal,
    onProgress: () => {},
    ...options,
  });
  return result;
}

/** Mono 16 kHz samples of the video's sound from `start` to `end`. */
async function soundBetween(file: string, start: number, end: number): Promise<Float32Array> {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-ss', start.toFixed(3), '-t', (end - start).toFixed(3), '-i', file, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
}

/**
 * How unlike two sounds are: the energy of their difference over the energy of the first (0 =
 * alike), at the best alignment within 10 ms (a seek in AAC lands within a frame, not a sample).
 */
function unlikeness(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length) - 320;
  let best = Infinity;
  for (let lag = -160; lag <= 160; lag++) {
    let diff = 0;
    let energy = 0;
    for (let i = 160; i < n; i++) {
      diff += (a[i] - b[i + lag]) ** 2;
      energy += a[i] ** 2;
    }
    best = Math.min(best, diff / energy);
  }
  return best;
}

async function expectWholeVideo(result: RenderResult) {
  const probe = await ffprobe(result.outputPath);
  expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
  expect(Number(probe.format.duration)).toBeCloseTo(result.durationSeconds, 1);
}

const sceneLength = (result: RenderResult, i: number) => result.scenes[i].end - result.scenes[i].start;

describe('the shared work of a batch, with the presenter', () => {
  const sharedDir = () => join(dir, 'batch-presenter');

  it("a second row reuses the first row's constant speech and stills, and speaks its own first scene", async () => {
    const first = await render('anna', rowProject('Anna'), { sharedDir: sharedDir() });
    expect(first.shared, 'nothing to reuse yet').toEqual([]);

    const second = await render('bartholomew', rowProject('Bartholomew'), { sharedDir: sharedDir() });
    expect(second.shared.sort()).toEqual(['compose:background-0', 'compose:background-1', 'compose:watermark', 'speech:scene-2']);
    await expectWholeVideo(second);

    // Its own first scene, the same second scene.
    expect(sceneLength(second, 0)).not.toBeCloseTo(sceneLength(first, 0), 2);
    expect(sceneLength(second, 1)).toBeCloseTo(sceneLength(first, 1), 6);
    const firstSound = (r: RenderResult) => soundBetween(r.outputPath, r.scenes[0].start, r.scenes[0].end);
    const secondSound = (r: RenderResult) => soundBetween(r.outputPath, r.scenes[1].start, r.scenes[1].end);
    expect(unlikeness(await secondSound(first), await secondSound(second)), 'the constant scene sounds alike').toBeLessThan(0.1);
    expect(unlikeness(await firstSound(first), await firstSound(second)), 'the personal scene does not').toBeGreaterThan(0.5);

  });

  it('a render without a shared folder shares nothing, though a batch made the same pieces', async () => {
    const alone = await render('bartholomew-alone', rowProject('Bartholomew'));
    expect(alone.shared).toEqual([]);
    await expectWholeVideo(alone);
  });

  it('a damaged or truncated shared entry is made again, never used, and the video is still right', async () => {
    const sharedDir = join(dir, 'batch-damaged');
    await render('damaged-anna', rowProject('Anna'), { sharedDir });
    const entries = (await readdir(sharedDir)).filter((name) => !name.startsWith('.'));
    expect(entries.length).toBeGreaterThanOrEqual(4);
    for (const entry of entries) {
      const files = (await readdir(join(sharedDir, entry))).filter((name) => name !== 'entry.json');
      // The speech entries lose the end of their samples; the stills get a manifest that is not one.
      if (entry.startsWith('speech')) await truncate(join(sharedDir, entry, files[0]), 100);
      else await writeFile(join(sharedDir, entry, 'entry.json'), '{"sha256":"0","body":"{}"}');
    }
    const remade = await render('bartholomew-again', rowProject('Bartholomew'), { sharedDir });
    expect(remade.shared).toEqual([]);
    await expectWholeVideo(remade);

    const after = await render('carla', rowProject('Carla'), { sharedDir });
    expect(after.shared.sort(), 'the remade entries are whole again').toEqual(['compose:background-0', 'compose:background-1', 'compose:watermark', 'speech:scene-2']);
    await expectWholeVideo(after);
  });

  it('a shared folder that went away is made again', async () => {
    await rm(sharedDir(), { recursive: true, force: true });
    const result = await render('dev', rowProject('Dev'), { sharedDir: sharedDir() });
    expect(result.shared).toEqual([]);
    await expectWholeVideo(result);
    expect(existsSync(sharedDir())).toBe(true);
  });
});

describe('a shared entry', () => {
  it('made by two renders at once ends whole and once, both get it, and a third reuses it', async () => {
    const folder = join(dir, 'race');
    const make = (n: number) => async (entryDir: string) => {
      await writeFile(join(entryDir, 'data'), 'the same bytes either way');
      // Both are still making it when the other finishes.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { made: 'alike', by: n };
    };
    const [a, b] = await Promise.all([new SharedWork(folder).entry('piece', 'thing', { k: 1 }, make(1)), new SharedWork(folder).entry('piece', 'thing', { k: 1 }, make(2))]);
    expect(a.dir).toBe(b.dir);
    expect(await readdir(folder), 'no half-made folder is left').toEqual([basename(a.dir)]);
    const third = new SharedWork(folder);
    const reused = await third.entry<{ made: string }>('piece', 'thing', { k: 1 }, () => Promise.reject(new Error('made again')));
    expect(third.reused).toEqual(['piece']);
    expect(reused.value.made).toBe('alike');
    expect(await readFile(join(reused.dir, 'data'), 'utf8')).toBe('the same bytes either way');
  });

  it('of other inputs is another entry', async () => {
    const work = new SharedWork(join(dir, 'keys'));
    await work.entry('piece', 'thing', { k: 1 }, async () => 1);
    const other = await work.entry('piece', 'thing', { k: 2 }, async () => 2);
    expect(other.value).toBe(2);
    expect(work.reused).toEqual([]);
  });
});

describe('two rows rendered at once', () => {
  it('both finish whole from an empty shared folder, and a third row reuses what they made', async () => {
    const sharedDir = join(dir, 'batch-parallel');
    const [one, two] = await Promise.all([render('par-ali', rowProject('Ali'), { sharedDir }), render('par-beatrix', rowProject('Beatrix'), { sharedDir })]);
    await expectWholeVideo(one);
    await expectWholeVideo(two);
    const third = await render('par-cy', rowProject('Cy'), { sharedDir });
    expect(third.shared.sort()).toEqual(['compose:background-0', 'compose:background-1', 'compose:watermark', 'speech:scene-2']);
    expect((await readdir(sharedDir)).filter((name) => name.startsWith('.')), 'no half-made entry is left').toEqual([]);
  });
});

describe('the shared work of a batch, with a talking photo cut out on the keynote template', () => {
  useSharedModels();

  it("a second row reuses the photo's preparation and shows the avatar as the first row made it", async () => {
    const avatarDir = join(dir, 'avatar');
    await mkdir(avatarDir, { recursive: true });
    const data = await preparePhoto(sharedFile('fixtures/portrait_nasa_eileen_collins.png'), avatarDir, { signal: new AbortController().signal, report: () => {} });
    const lookupAvatar: AvatarLookup = async (id) => ({ kind: 'photo', id, dir: avatarDir, data });
    const row = (name: string) => rowProject(name, { template: 'keynote', avatar: 'eileen' });
    const sharedDir = join(dir, 'batch-photo');

    const first = await render('photo-anna', row('Anna'), { sharedDir, lookupAvatar });
    expect(first.shared).toEqual([]);
    const second = await render('photo-bartholomew', row('Bartholomew'), { sharedDir, lookupAvatar });
    expect(second.shared).toContain('avatar:photo');
    expect(second.shared).toContain('speech:scene-2');
    expect(second.engine.name).toBe('warp');
    await expectWholeVideo(second);

    // Before the speech starts the mouth is at rest and nobody blinks: the same picture in both rows.
    const [shown, own] = await Promise.all([frameAt(second.outputPath, 0.2), frameAt(first.outputPath, 0.2)]);
    let worst = 0;
    for (let y = 0.05; y < 1; y += 0.05) for (let x = 0.4; x < 1; x += 0.03) worst = Math.max(worst, colourDistance(shown.at(x, y), own.at(x, y)));
    expect(worst).toBeLessThan(12);
    // And the cut-out person is there: the frame's right half is not the slide's pale gradient alone.
    const background = await frameAt(first.outputPath, 0.2);
    expect(colourDistance(background.at(0.75, 0.5), background.at(0.05, 0.5))).toBeGreaterThan(40);
  });
});
