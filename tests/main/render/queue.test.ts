import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { RenderProgress, VideoSummary } from '../../../src-shared/video';
import { openApp, type App } from '../../../src-main/app';
import { listEvents } from '../../../src-main/audit/log';
import { ffprobe } from '../../../src-main/media/ffmpeg';
import { checkDiskSpace, estimateRenderBytes } from '../../../src-main/render/diskSpace';
import { RenderPace } from '../../../src-main/render/queue';
import { StageRunner, type Checkpoint } from '../../../src-main/render/stage';
import { createVideo } from '../../../src-main/videos/createVideo';
import { findVideo } from '../../../src-main/videos/repository';
import { watchEventLoop } from '../../support/eventLoop';
import { projectFromText, parseProject } from '../../../src-main/videos/createVideo';

/** About `parts` x 4 s of speech. */
const script = (parts: number) => Array.from({ length: parts }, (_, i) => `Sentence ${i + 1} of the queue test, spoken at an ordinary pace.`).join(' ');

async function appWithVideo(parts: number, options: Partial<Parameters<typeof openApp>[0]> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'mp-queue-'));
  const app = await openApp({ home, ...options });
  const video = await createVideo(app.db, { project: parseProject(projectFromText(script(parts), { quality: '720p' }), 'test') });
  return { home, app, id: video.id, out: join(home, 'queued.mp4') };
}

function progressPast(app: App, videoId: string, stage: string, fraction: number): Promise<RenderProgress> {
  return new Promise((resolve) => {
    const stop = app.onEvent((name, payload) => {
      const p = payload as RenderProgress;
      if (name === 'render:progress' && p.videoId === videoId && p.stage === stage && p.stageProgress > fraction) {
        stop();
        resolve(p);
      }
    });
  });
}

/** The processes whose command line mentions `text` (ffmpeg writing into a test's folder). */
function processesMentioning(text: string): string[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return command.includes(text) ? [command] : [];
      } catch {
        return [];
      }
    });
}

const leftovers = (home: string) => readdirSync(home).filter((f) => f.startsWith('queued.') || f.endsWith('.partial'));

describe('RenderQueue', () => {
  // First in the file: garbage the other renders leave in this thread would be collected during it.
  it('keeps the main event loop free while a render runs: it is never held 50 ms or more', async () => {
    const { app, id, out } = await appWithVideo(3);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    // On a loaded machine (two cores here, shared) the delay also counts time the system gave
    // other processes: 150-350 ms at times while our code held the loop 10 ms at most. What our
    // code holds the loop for is a stretch where the loop was busy and this thread used the CPU
    // all along; on Linux its CPU time is in /proc.
    const loop = watchEventLoop();
    delay.enable();
    const { done } = await app.queue.enqueue(id, out);
    const video = await done;
    delay.disable();
    const { held: longestHeld, busy: longestBusy } = loop.stop();
    expect(video.status).toBe('completed');
    const summary = `loop held ${longestHeld.toFixed(1)} ms at most (busy ${longestBusy.toFixed(1)} ms); delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`;
    // The delay histogram's figures are in the message; the bench prints them against the limit.
    expect(longestHeld, summary).toBeLessThan(50);
    await app.close();
  });

  it('cancels a render during compose within a second, leaving no partial files, work folder or ffmpeg behind', async () => {
    const { home, app, id, out } = await appWithVideo(4);
    const { done } = await app.queue.enqueue(id, out);
    await progressPast(app, id, 'compose', 0.2);
    const cancelledAt = new Promise<number>((resolve) =>
      app.onEvent((name, payload) => {
        if (name === 'videos:changed' && (payload as VideoSummary).id === id && (payload as VideoSummary).status === 'cancelled') resolve(performance.now());
      }),
    );
    const asked = performance.now();
    const answer = await app.queue.cancel(id);
    expect((await cancelledAt) - asked).toBeLessThan(1000);
    expect(answer.status).toBe('cancelled');
    expect((await done).status).toBe('cancelled');
    expect(leftovers(home)).toEqual([]);
    expect(existsSync(join(home, 'work', id))).toBe(false);
    expect(processesMentioning(home)).toEqual([]);
    expect((await listEvents(app.db, id)).map((e) => e.type).slice(-2)).toEqual(['render.started', 'render.cancelled']);
    await app.close();
  });

  it('keeps a render closed mid-way (status rendering, checkpoints kept) and finishes it after a restart without redoing speech and mouth', async () => {
    const { home, app, id, out } = await appWithVideo(3);
    const { done } = await app.queue.enqueue(id, out);
    await progressPast(app, id, 'compose', 0.1);
    await app.close();
    expect((await done).status).toBe('rendering');
    expect(processesMentioning(home)).toEqual([]);
    expect(leftovers(home)).toEqual([]);
    expect(readdirSync(join(home, 'work', id))).toEqual(expect.arrayContaining(['speech.checkpoint.json', 'mouth.checkpoint.json', 'speech.wav']));

    const again = await openApp({ home });
    expect((await findVideo(again.db, id)).status).toBe('rendering');
    const resumed = await again.queue.resumeUnfinished();
    expect(resumed.map((r) => r.video.id)).toEqual([id]);
    const finished = await resumed[0].done;
    expect(finished.status).toBe('completed');
    const probe = await ffprobe(out);
    expect(Math.abs(Number(probe.format.duration) - finished.durationSeconds!)).toBeLessThan(0.2);
    expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    const events = await listEvents(again.db, id);
    expect(events.map((e) => e.type)).toEqual([
      'video.created',
      'render.queued',
      'render.started',
      'render.paused',
      'render.resumed',
      'render.started',
      'render.finished',
      'credits.spent',
    ]);
    const data = JSON.parse(events.find((e) => e.type === 'render.finished')!.data_json!) as { resumed: string[] };
    expect(data.resumed).toEqual(expect.arrayContaining(['speech', 'mouth']));
    expect(JSON.parse(events.at(-1)!.data_json!)).toMatchObject({ credits: 1, spendId: expect.any(String) });
    expect(existsSync(join(home, 'work', id))).toBe(false);
    await again.close();
  });

  it('refuses a render the disk cannot hold, naming the folder, what it needs and what is free', async () => {
    const { home, app, id, out } = await appWithVideo(1, { freeSpace: async () => 5_000_000 });
    const { done } = await app.queue.enqueue(id, out);
    const video = await done;
    expect(video.status).toBe('failed');
    expect(video.error).toMatch(new RegExp(`^not enough disk space in ${home}: this render needs about \\d+ MB there .* and 5 MB is free`));
    expect(leftovers(home)).toEqual([]);
    expect(existsSync(join(home, 'work', id))).toBe(false);
    await app.close();

    // The estimate grows with the script and the frame size.
    const project = parseProject(projectFromText(script(15)), 'test');
    const hd = estimateRenderBytes(project, { width: 1920, height: 1080 }, 30);
    const sd = estimateRenderBytes(project, { width: 1280, height: 720 }, 30);
    expect(hd.output).toBeGreaterThan(sd.output);
    expect(hd.work).toBeGreaterThan(hd.output);
    await expect(checkDiskSpace({ output: home, work: home }, hd, async () => hd.output + hd.work)).rejects.toThrow(/not enough disk space/);
    await expect(checkDiskSpace({ output: home, work: home }, hd, async () => 10 * (hd.output + hd.work) + 1e9)).resolves.toBeUndefined();
  });
});

describe('stage checkpoints', () => {
  async function runCounted(dir: string, key = 'k') {
    let runs = 0;
    const file = join(dir, 'speech.wav');
    const checkpoint: Checkpoint<{ path: string }> = { path: join(dir, 'speech.checkpoint.json'), key, files: (o) => [o.path] };
    const runner = new StageRunner(new AbortController().signal, () => undefined);
    const output = await runner.run(
      'speech',
      async () => {
        runs++;
        await writeFile(file, 'x'.repeat(1000));
        return { path: file };
      },
      undefined,
      checkpoint,
    );
    return { runs, output, reused: runner.reused };
  }

  it('reuses a whole checkpoint, and never one whose file or manifest is damaged or whose inputs changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-checkpoint-'));
    await mkdir(dir, { recursive: true });
    expect((await runCounted(dir)).runs).toBe(1);
    const again = await runCounted(dir);
    expect([again.runs, again.reused]).toEqual([0, ['speech']]);

    await truncate(join(dir, 'speech.wav'), 500);
    expect((await runCounted(dir)).runs).toBe(1);
    // Same size, other bytes.
    writeFileSync(join(dir, 'speech.wav'), 'y'.repeat(1000));
    expect((await runCounted(dir)).runs).toBe(1);
    // A manifest cut short by a crash.
    const manifest = readFileSync(join(dir, 'speech.checkpoint.json'), 'utf8');
    writeFileSync(join(dir, 'speech.checkpoint.json'), manifest.slice(0, manifest.length / 2));
    expect((await runCounted(dir)).runs).toBe(1);
    expect((await runCounted(dir, 'other inputs')).runs).toBe(1);
    expect((await runCounted(dir, 'other inputs')).runs).toBe(0);
  });
});

describe('RenderPace', () => {
  it('gives no time left until the pace is known, then one close to the truth, and frames per second while composing', () => {
    const pace = new RenderPace();
    // A render that gains 2% a second, then composes 600 frames in 40 s (15 frames per second) from 20%.
    const samples = Array.from({ length: 120 }, (_, i) => {
      const at = i * 0.25;
      const progress = Math.min(1, 0.02 * at);
      const composing = progress >= 0.2;
      const stageProgress = composing ? (progress - 0.2) / 0.8 : progress / 0.2;
      return { at, result: pace.update({ stage: composing ? 'compose' : 'speech', progress, stageProgress, frames: 600 }, at) };
    });
    expect(samples.slice(0, 4).every((s) => s.result.etaSeconds === undefined)).toBe(true);
    for (const { at, result } of samples.filter((s) => s.at >= 3)) {
      expect(Math.abs(result.etaSeconds! - (50 - at))).toBeLessThanOrEqual(1);
    }
    const composing = samples.filter((s) => s.at >= 12);
    expect(composing.every((s) => Math.abs(s.result.fps! - 15) < 0.5)).toBe(true);
    expect(samples.filter((s) => s.at < 10).every((s) => s.result.fps === undefined)).toBe(true);
  });

  it('measures a resumed render from the stage it really runs, not from the stages it skipped in an instant', () => {
    const pace = new RenderPace();
    pace.update({ stage: 'speech', progress: 0.12, stageProgress: 1 }, 0);
    pace.update({ stage: 'mouth', progress: 0.13, stageProgress: 1 }, 0.01);
    pace.update({ stage: 'avatar', progress: 0.2, stageProgress: 1 }, 0.02);
    // Compose: the remaining 80% in 40 s.
    let last = {};
    for (let at = 0.03; at <= 6; at += 0.25) last = pace.update({ stage: 'compose', progress: 0.2 + 0.02 * (at - 0.03), stageProgress: (at - 0.03) / 40, frames: 1200 }, at);
    expect(Math.abs((last as { etaSeconds: number }).etaSeconds - (40 - 6))).toBeLessThanOrEqual(1);
  });
});
