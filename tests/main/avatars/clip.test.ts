import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseClip } from '../../../src-main/avatars/clip';
import { mouthOpening, type Point } from '../../../src-main/avatars/faces';
import { runFfmpeg } from '../../../src-main/media/ffmpeg';
import { ErrorCode } from '../../../src-shared/errors';
import { sharedFile, useSharedModels } from '../../support/shared';

const TALKING_HEAD = () => sharedFile('fixtures/talking_head_grid_bbaf2n.mp4');
const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

let dir: string;
useSharedModels();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-clip-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const distance = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

/** Make a clip with ffmpeg in the temp folder and return its path. */
async function clip(name: string, args: string[]): Promise<string> {
  const path = join(dir, name);
  await runFfmpeg({ args: [...args, ...ENCODE, path] });
  return path;
}

/** The talking head with its face hidden under a heavy blur from frame `from` to `to` (inclusive). */
function hideFace(from: number, to: number): string[] {
  return [
    '-i', TALKING_HEAD(),
    '-filter_complex', `[0:v]split[a][b];[b]crop=130:180:95:85,boxblur=20:3[blur];[a][blur]overlay=95:85:enable='between(n,${from},${to})'[v]`,
    '-map', '[v]',
  ];
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  if (!error) throw new Error('expected a refusal, but it succeeded');
  return error;
}

describe('analyseClip on the talking-head fixture', () => {
  it('tracks the face in all 75 frames, and the mouth opens and closes as the man talks', async () => {
    const reports: number[] = [];
    const analysis = await analyseClip(TALKING_HEAD(), { report: (f) => reports.push(f) });
    expect(analysis).toMatchObject({ fps: 25, width: 360, height: 288, frameCount: 75, duration: 3 });
    expect(analysis.frames).toHaveLength(75);
    for (const { face, landmarks, filled } of analysis.frames) {
      expect(filled).toBe(false);
      expect(face.score).toBeGreaterThan(0.7);
      expect(landmarks.mouthCentre.y).toBeGreaterThan(face.y + (2 / 3) * face.height);
      expect(landmarks.mouthCentre.y).toBeLessThan(face.y + face.height);
    }

    const iod = distance(analysis.frames[0]!.face.keypoints[0]!, analysis.frames[0]!.face.keypoints[1]!);
    const openings = analysis.frames.map((f) => mouthOpening(f.landmarks) / iod);
    // "bin blue at F two now": lips part by a good share of the eye distance, and close in the pauses.
    expect(Math.max(...openings)).toBeGreaterThan(0.08);
    expect(Math.min(...openings)).toBeLessThan(0.03);
    // Open in the middle of the sentence and closed in the silence at its end.
    expect(Math.max(...openings.slice(10, 60))).toBeGreaterThan(3 * Math.max(...openings.slice(65)));

    expect(reports.length).toBeGreaterThan(10);
    expect(reports.every((f, i) => i === 0 || f >= reports[i - 1]!)).toBe(true);
    expect(reports.at(-1)).toBe(1);
  });

  it('scales frames so the long side is at most maxSide', async () => {
    const analysis = await analyseClip(TALKING_HEAD(), { maxSide: 180 });
    expect([analysis.width, analysis.height, analysis.frameCount]).toEqual([180, 144, 75]);
    for (const { face, filled } of analysis.frames) {
      expect(filled).toBe(false);
      expect(face.x + face.width).toBeLessThan(180);
      expect(face.y + face.height).toBeLessThan(144);
    }
  });

  it('reads a 50 fps clip at 30 fps', async () => {
    const path = await clip('fifty.mp4', ['-i', TALKING_HEAD(), '-vf', 'fps=50']);
    const analysis = await analyseClip(path, {});
    expect(analysis.fps).toBe(30);
    expect(analysis.frameCount).toBe(90);
    expect(analysis.duration).toBe(3);
  });

  it('fills a short gap where the face is hidden by interpolating its neighbours', async () => {
    const path = await clip('hidden-briefly.mp4', hideFace(30, 33));
    const analysis = await analyseClip(path, {});
    expect(analysis.frameCount).toBe(75);
    const filled = analysis.frames.flatMap((f, i) => (f.filled ? [i] : []));
    expect(filled).toEqual([30, 31, 32, 33]);
    expect(analysis.frames[31]!.face.score).toBe(0);
    const before = analysis.frames[29]!.landmarks.mouthCentre;
    const after = analysis.frames[34]!.landmarks.mouthCentre;
    const between = { x: (before.x + after.x) / 2, y: (before.y + after.y) / 2 };
    const iod = distance(analysis.frames[29]!.face.keypoints[0]!, analysis.frames[29]!.face.keypoints[1]!);
    expect(distance(analysis.frames[31]!.landmarks.mouthCentre, between)).toBeLessThan(0.05 * iod);
  });

  it('stops ffmpeg and rejects with CANCELLED when aborted', async () => {
    const controller = new AbortController();
    let reportsAfterAbort = 0;
    const error = await refusal(
      analyseClip(TALKING_HEAD(), {
        signal: controller.signal,
        report: () => {
          if (controller.signal.aborted) reportsAfterAbort++;
          controller.abort();
        },
      }),
    );
    expect(error.code).toBe(ErrorCode.Cancelled);
    expect(reportsAfterAbort).toBe(0);
  });
});

describe('clip refusals', () => {
  it.each([
    ['two-seconds.mp4', () => ['-i', TALKING_HEAD(), '-t', '2'], '2.0 s', 'longer recording'],
    ['forty-seconds.mp4', () => ['-f', 'lavfi', '-i', 'color=c=gray:s=64x64:r=25:d=40'], '40.0 s', 'trim it to 30 s'],
  ])('refuses %s, saying its length and the limits', async (name, args, length, advice) => {
    const path = await clip(name, args());
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain(name);
    expect(error.message).toContain(`is ${length} long`);
    expect(error.message).toContain('3 to 30 s');
    expect(error.message).toContain(advice);
  });

  it('measures a WebM that has no duration in its header (as browsers record them) while decoding it', async () => {
    const path = join(dir, 'webcam.webm');
    // -live 1 leaves out the duration and the index, like MediaRecorder.
    await runFfmpeg({ args: ['-i', TALKING_HEAD(), '-t', '2', '-an', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k', '-live', '1', '-f', 'webm', path] });
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('webcam.webm');
    expect(error.message).toContain('is 2.0 s long');
    expect(error.message).toContain('3 to 30 s');
  });

  it.each([
    ['cut-to-grey.mp4', () => ['-i', TALKING_HEAD(), '-f', 'lavfi', '-i', 'color=c=gray:s=360x288:r=25:d=2', '-filter_complex', '[0:v]setsar=1[a];[1:v]setsar=1[b];[a][b]concat=n=2:v=1[v]', '-map', '[v]']],
    ['cut-to-mirror.mp4', () => ['-i', TALKING_HEAD(), '-filter_complex', '[0:v]split[a][b];[b]hflip[m];[a][m]concat=n=2:v=1[v]', '-map', '[v]']],
    ['cut-to-shifted.mp4', () => ['-i', TALKING_HEAD(), '-filter_complex', '[0:v]split[a][b];[b]crop=300:288:0:0,pad=360:288:60:0:color=0x30a0c0[s];[a][s]concat=n=2:v=1[v]', '-map', '[v]']],
  ])('refuses a scene cut (%s), saying at which second', async (name, args) => {
    const path = await clip(name, args());
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain(name);
    expect(error.message).toContain('changes at 3.0 s');
    expect(error.message).toContain('one continuous shot');
  });

  it('refuses a clip of a grey screen: no face', async () => {
    const path = await clip('grey-screen.mp4', ['-f', 'lavfi', '-i', 'color=c=gray:s=360x288:r=25:d=4']);
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('grey-screen.mp4');
    expect(error.message).toContain('no face found');
  });

  it('refuses a clip where the face is hidden in more than 10% of the frames', async () => {
    const path = await clip('hidden-long.mp4', hideFace(20, 39));
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('hidden-long.mp4');
    // Hidden from frame 20; refused once more than 10% of 75 frames have missed.
    expect(error.message).toMatch(/no face found in \d+ frames \(from 0\.8 s\), more than the 10% of the clip that may miss/);
  });

  it('refuses a clip with two people side by side', async () => {
    const path = await clip('two-people.mp4', ['-i', TALKING_HEAD(), '-filter_complex', '[0:v]split[a][b];[a][b]hstack[v]', '-map', '[v]']);
    const error = await refusal(analyseClip(path, {}));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('two-people.mp4');
    expect(error.message).toContain('more than one face');
  });

  it('refuses a still image, an audio file and a text file, each for what it is', async () => {
    const still = join(dir, 'photo.png');
    await runFfmpeg({ args: ['-i', TALKING_HEAD(), '-frames:v', '1', still] });
    const audio = join(dir, 'voice.wav');
    await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'sine=frequency=220:duration=5', audio] });
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'not a video at all\n');

    const cases = [
      [still, 'photo.png', 'still image'],
      [audio, 'voice.wav', 'no video stream'],
      [text, 'notes.mp4', 'not a video'],
    ] as const;
    for (const [path, name, problem] of cases) {
      const error = await refusal(analyseClip(path, {}));
      expect(error.code).toBe(ErrorCode.BadInput);
      expect(error.message).toContain(name);
      expect(error.message).toContain(problem);
    }
  });
});
