/**
 * The render queue's own cost: the time a queued render takes beyond its stages (status writes,
 * the encoder choice, resolving the project, starting the worker, messages), over a few short
 * renders; and how free main's event loop stays (99th percentile and longest delay) while a
 * 60-second video renders through the queue, against the 50 ms it must never stall.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openApp, type App } from '../../src-main/app';
import { findVideo } from '../../src-main/videos/repository';
import { createVideo, parseProject, projectFromText } from '../../src-main/videos/createVideo';
import { watchEventLoop } from '../support/eventLoop';
import { BENCH_SCRIPT } from './script';

const SHORT_RENDERS = 4;

const STALL_LIMIT_MS = 50;

async function queued(app: App, home: string, text: string, name: string) {
  const video = await createVideo(app.db, { project: parseProject(projectFromText(text, { quality: '720p' }), 'bench') });
  const started = performance.now();
  const { done } = await app.queue.enqueue(video.id, join(home, `${name}.mp4`));
  const result = await done;
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 'completed') throw new Error(`bench render ${name} ${result.status}: ${result.error}`);
  const timings = JSON.parse((await findVideo(app.db, video.id)).timings_json ?? '{}') as Record<string, number>;
  return { wall, stages: Object.values(timings).reduce((sum, t) => sum + t, 0), video: result.durationSeconds ?? 0 };
}

export async function benchQueue(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'mp-bench-queue-'));
  const app = await openApp({ home });
  try {
    // The first render probes the encoders and fills the caches, as a running app already has.
    await queued(app, home, BENCH_SCRIPT[0], 'warm');
    const runs = [];
    for (let i = 0; i < SHORT_RENDERS; i++) runs.push(await queued(app, home, BENCH_SCRIPT[i % BENCH_SCRIPT.length], `short-${i}`));
    const overheads = runs.map((r) => r.wall - r.stages);
    const mean = overheads.reduce((a, b) => a + b, 0) / overheads.length;
    const wall = runs.reduce((a, r) => a + r.wall, 0) / runs.length;
    console.log(`render queue, ${SHORT_RENDERS} short renders (about ${(runs.reduce((a, r) => a + r.video, 0) / runs.length).toFixed(1)} s of video each, 720p)`);
    console.log(`  overhead per render  ${mean.toFixed(2)} s outside the stages (${overheads.map((o) => o.toFixed(2)).join(', ')})`);
    console.log(`  share of wall time   ${((100 * mean) / wall).toFixed(1)}% of ${wall.toFixed(2)} s per render`);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const loop = watchEventLoop();
    const long = await queued(app, home, [...BENCH_SCRIPT, ...BENCH_SCRIPT].join('\n\n'), 'long');
    const longestHeld = loop.stop().held;
    delay.disable();
    const p99 = delay.percentile(99) / 1e6;
    const max = delay.max / 1e6;
    console.log(`main event loop during a ${long.video.toFixed(0)} s render through the queue (${long.wall.toFixed(1)} s)`);
    console.log(`  delay p99            ${p99.toFixed(1)} ms (limit ${STALL_LIMIT_MS} ms: ${p99 < STALL_LIMIT_MS ? 'within' : 'OVER'})`);
    console.log(`  delay max            ${max.toFixed(1)} ms (limit ${STALL_LIMIT_MS} ms: ${max < STALL_LIMIT_MS ? 'within' : 'over'}; on a loaded machine this includes time given to other processes)`);
    console.log(`  longest held by us   ${longestHeld.toFixed(1)} ms (limit ${STALL_LIMIT_MS} ms: ${longestHeld < STALL_LIMIT_MS ? 'within' : 'OVER'}; busy and on the CPU throughout)`);
  } finally {
    await app.close();
  }
}
