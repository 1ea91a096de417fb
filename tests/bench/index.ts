/**
 * npm run bench: a 30-second script rendered at 720p against the floor, a bare ffmpeg encode of
 * one still image with the same audio, resolution, duration and encoder settings, side by side;
 * then the same script with each fixture portrait as a talking photo; at the end, a personalised
 * batch of 20 rows against 20 single renders (tests/bench/batch.ts, which also runs alone).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectSchema } from '../../src-shared/project';
import { AUDIO_CODEC_ARGS } from '../../src-main/render/compose';
import { SOFTWARE_ENCODER, encoderArgs } from '../../src-main/media/encoders';
import { benchCompose } from './compose';
import { FPS, renderProject } from '../../src-main/render/renderProject';
import { runFfmpeg } from '../../src-main/media/ffmpeg';
import { speechStage } from '../../src-main/render/stages';
import { resolveVoice } from '../../src-main/voices/catalogue';
import { BENCH_SCRIPT } from './script';
import { benchTalkingPhoto } from './talkingPhoto';
import { benchVoices } from './voices';
import { benchWordTiming } from './wordTiming';
import { benchQueue } from './queue';
import { benchModels } from './models';
import { benchCloud } from './cloud';
import { benchBatch } from './batch';

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mp-bench-'));
  const project = projectSchema.parse({ title: 'Bench', quality: '720p', scenes: BENCH_SCRIPT.map((text) => ({ text })) });
  const controller = new AbortController();
  const cacheDir = join(dir, 'cache');

  // Warm caches (WASM load, presenter sprites) once, as a running app has them.
  await renderProject({ project, outputPath: join(dir, 'warm.mp4'), workDir: join(dir, 'w0'), cacheDir, signal: controller.signal, onProgress: () => {} });

  const started = performance.now();
  const result = await renderProject({ project, outputPath: join(dir, 'ours.mp4'), workDir: join(dir, 'w1'), cacheDir, signal: controller.signal, onProgress: () => {} });
  const ours = (performance.now() - started) / 1000;

  // The floor: the same speech, a still image of the same size, the same encoder settings.
  const voices = new Map([[project.voice, await resolveVoice(project.voice)]]);
  const timeline = await speechStage({ project, voices, workDir: dir }, { signal: controller.signal, report: () => {} });
  await runFfmpeg({ args: ['-f', 'lavfi', '-i', 'color=c=0x1e3a5f:s=1280x720', '-frames:v', '1', join(dir, 'still.png')] });
  const floorStart = performance.now();
  await runFfmpeg({
    args: ['-loop', '1', '-framerate', String(FPS), '-i', join(dir, 'still.png'), '-i', timeline.wavPath, ...encoderArgs(SOFTWARE_ENCODER, { width: 1280, height: 720, fps: FPS }).codecArgs, ...AUDIO_CODEC_ARGS, '-t', timeline.duration.toFixed(3), '-movflags', '+faststart', join(dir, 'floor.mp4')],
  });
  const floor = (performance.now() - floorStart) / 1000;

  console.log(`render 720p, ${result.durationSeconds.toFixed(1)} s of video`);
  console.log(`  wall time            ${ours.toFixed(2)} s`);
  console.log(`  real-time factor     ${(ours / result.durationSeconds).toFixed(3)} (seconds of work per second of video)`);
  console.log(`  stages               ${Object.entries(result.timings).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
  console.log(`  floor (still image)  ${floor.toFixed(2)} s`);
  console.log(`  ratio to floor       ${(ours / floor).toFixed(2)}x (target <= 1.5x)`);
  console.log();
  await benchCompose();
  console.log();
  await benchTalkingPhoto();
  console.log();
  await benchVoices();
  console.log();
  await benchWordTiming();
  console.log();
  await benchQueue();
  console.log();
  await benchModels();
  console.log();
  await benchCloud();
  console.log();
  await benchBatch();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
