/**
 * Talking photos and the talking clip at 720p: the avatar stage's frames per second for each
 * fixture (measured alone, with nothing waiting on ffmpeg), its share of the whole render, and the
 * real-time factor (target: the warp at 30 fps or more, so a
 * 720p30 render stays faster than real time). Then the per-pixel question the design asks: the
 * warp as a typed-array loop against onnxruntime's GridSample on the same patch.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { frameSize, projectSchema } from '../../src-shared/project';
import { openApp } from '../../src-main/app';
import { resolveAvatar } from '../../src-main/avatars/library';
import { FPS, checkProject, renderProject } from '../../src-main/render/renderProject';
import { mouthStage, speechStage } from '../../src-main/render/stages';
import { talkingPhotoStage } from '../../src-main/render/talkingPhoto';
import { talkingClipStage } from '../../src-main/render/talkingClip';
import { decodeImage } from '../../src-main/media/image';
import { NEUTRAL_POSE, VISEME_POSE, patchRect, warpPatch } from '../../src-main/avatars/warp';
import { PHOTO_FILE, type PhotoAvatarData } from '../../src-main/avatars/prepare';
import { SHARED_DIR, sharedFile } from '../support/shared';
import { BENCH_SCRIPT } from './script';

const { onnx } = onnxProto;
const AVATARS = ['fixtures/portrait_usnavy_grace_hopper.jpg', 'fixtures/portrait_nasa_eileen_collins.png', 'fixtures/talking_head_grid_bbaf2n.mp4'];

/** A graph of one GridSample (opset 16): image [1,3,H,W] sampled at grid [1,h,w,2]. */
function gridSampleModel(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 16 }],
    graph: {
      name: 'warp',
      node: [{ opType: 'GridSample', input: ['image', 'grid'], output: ['out'], attribute: [{ name: 'align_corners', i: 1, type: onnx.AttributeProto.AttributeType.INT }] }],
      input: [
        { name: 'image', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: 'H' }, { dimParam: 'W' }] } } } },
        { name: 'grid', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimParam: 'h' }, { dimParam: 'w' }, { dimValue: 2 }] } } } },
      ],
      output: [{ name: 'out', type: { tensorType: { elemType: 1 } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export async function benchTalkingPhoto(): Promise<void> {
  process.env.MOUTHPIECE_MODELS ??= join(SHARED_DIR, 'models');
  const home = mkdtempSync(join(tmpdir(), 'mp-bench-photo-'));
  const app = await openApp({ home });
  try {
    for (const portrait of AVATARS) {
      const { done } = await app.avatars.import(sharedFile(portrait));
      const avatar = await done;
      if (avatar.status !== 'ready') throw new Error(`${portrait}: ${avatar.error}`);
      const project = projectSchema.parse({ title: 'Bench', quality: '720p', avatar: avatar.id, scenes: BENCH_SCRIPT.map((text) => ({ text })) });
      const lookupAvatar = (id: string) => resolveAvatar(app.db, id);
      const signal = new AbortController().signal;
      const started = performance.now();
      const result = await renderProject({
        project,
        outputPath: join(home, `${avatar.id}.mp4`),
        workDir: join(home, 'work', avatar.id),
        cacheDir: join(home, 'cache'),
        signal,
        onProgress: () => {},
        lookupAvatar,
      });
      const wall = (performance.now() - started) / 1000;

      // The avatar stage alone: its setup, then every frame warped with nothing waiting on ffmpeg.
      const workDir = join(home, 'work', `${avatar.id}-alone`);
      await mkdir(workDir, { recursive: true });
      const { template, voices, avatar: resolved } = await checkProject(project, lookupAvatar);
      const context = { signal, report: () => {} };
      const timeline = await speechStage({ project, voices, workDir }, context);
      const frames = await mouthStage({ timeline, fps: FPS }, context);
      const size = frameSize(project.format ?? template.format, project.quality);
      let t = performance.now();
      const stage =
        resolved.kind === 'clip'
          ? await talkingClipStage({ avatar: resolved, frames, fps: FPS, project, template, timeline, size, workDir }, context)
          : await talkingPhotoStage({ avatar: resolved as Extract<typeof resolved, { kind: 'photo' }>, frames, fps: FPS, project, template, timeline, size, workDir }, context);
      const setup = (performance.now() - t) / 1000;
      t = performance.now();
      await stage.overlay.feed!(async () => {});
      const warp = (performance.now() - t) / 1000;
      const fps = frames.length / warp;
      console.log(`talking ${resolved.kind} 720p, ${portrait.split('/').pop()}, ${result.durationSeconds.toFixed(1)} s of video`);
      console.log(`  avatar stage alone   ${fps.toFixed(1)} frames/s (target >= 30: ${(fps / 30).toFixed(2)}x); setup ${setup.toFixed(2)} s + frames ${warp.toFixed(2)} s = ${((100 * (setup + warp)) / wall).toFixed(0)}% of the render's wall time`);
      console.log(`  whole render         ${wall.toFixed(2)} s, real-time factor ${(wall / result.durationSeconds).toFixed(3)} (the warp runs during compose)`);
    }

    // Per-pixel work: the typed-array warp against GridSample on the same patch size.
    const first = (await app.avatars.list()).filter((a) => a.kind === 'photo').at(-1)!;
    const resolved = await resolveAvatar(app.db, first.id);
    const data = (resolved as { data: PhotoAvatarData }).data;
    const photo = await decodeImage(join((resolved as { dir: string }).dir, PHOTO_FILE));
    const patch = patchRect(data.rig, photo);
    const out = new Uint8Array(patch.width * patch.height * 3);
    const pose = { ...NEUTRAL_POSE, ...VISEME_POSE.AI, blink: 0.5, headX: 2, headRoll: 0.01 };
    const frames = 60;
    for (let i = 0; i < 10; i++) warpPatch(photo.data, photo.width, photo.height, data.rig, patch, pose, out);
    let t = performance.now();
    for (let i = 0; i < frames; i++) warpPatch(photo.data, photo.width, photo.height, data.rig, patch, pose, out);
    const loopMs = (performance.now() - t) / frames;

    const session = await ort.InferenceSession.create(gridSampleModel(), { executionProviders: ['cpu'] });
    const image = new Float32Array(3 * photo.width * photo.height);
    const plane = photo.width * photo.height;
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) image[c * plane + i] = photo.data[i * 3 + c];
    const grid = new Float32Array(patch.width * patch.height * 2);
    const feeds = {
      image: new ort.Tensor('float32', image, [1, 3, photo.height, photo.width]),
      grid: new ort.Tensor('float32', grid, [1, patch.height, patch.width, 2]),
    };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    t = performance.now();
    for (let i = 0; i < frames; i++) {
      // Only the sampling and the copy back to bytes; the displacement field would come on top.
      for (let j = 0, k = 0; j < patch.height; j++) {
        for (let x = 0; x < patch.width; x++, k += 2) {
          grid[k] = ((patch.x + x) / (photo.width - 1)) * 2 - 1;
          grid[k + 1] = ((patch.y + j) / (photo.height - 1)) * 2 - 1;
        }
      }
      const result = (await session.run(feeds)).out.data as Float32Array;
      const n = patch.width * patch.height;
      for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = result[c * n + p];
    }
    const ortMs = (performance.now() - t) / frames;
    console.log(`per-pixel warp, ${patch.width}x${patch.height} patch, CPU`);
    console.log(`  typed-array loop     ${loopMs.toFixed(2)} ms/frame (whole warp: field, sampling, mouth, lids)`);
    console.log(`  onnxruntime GridSample ${ortMs.toFixed(2)} ms/frame (sampling and copies only), ${(ortMs / loopMs).toFixed(2)}x the loop`);
  } finally {
    await app.close();
  }
}
