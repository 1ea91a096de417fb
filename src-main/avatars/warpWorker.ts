import { Worker } from 'node:worker_threads';
import { warpPatch, type FramePose, type PatchTarget, type WarpRig } from './warp';

/*
 * The worker runs warpPatch from its source text. A worker file would need its own bundle entry
 * for electron-vite and a loader under tsx and vitest; the text of one self-contained function
 * works the same everywhere. `__name` is what esbuild's keepNames (tsx) wraps functions with.
 */
const WORKER_SOURCE = `
const __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const warpPatch = ${warpPatch.toString()};
let src, width, height, rig, patch;
parentPort.on('message', (m) => {
  if (m.type === 'setup') {
    ({ width, height, rig, patch } = m);
    src = new Uint8Array(m.src);
    return;
  }
  const out = new Uint8Array(m.buffer);
  warpPatch(src, width, height, rig, patch, m.pose, out);
  parentPort.postMessage({ index: m.index, buffer: m.buffer }, [m.buffer]);
});
`;

/**
 * Warps frames off the main thread, on as many workers as asked, keeping a few frames in flight
 * so no worker waits for us; frames come back in order.
 */
export class FrameWarper {
  private readonly workers: Worker[] = [];
  private readonly free: ArrayBuffer[] = [];
  private readonly waiting = new Map<number, (buffer: ArrayBuffer) => void>();
  private failure: Error | undefined;

  constructor(
    source: { width: number; height: number; data: Uint8Array },
    rig: WarpRig,
    readonly patch: PatchTarget,
    threads = 2,
  ) {
    const shared = new SharedArrayBuffer(source.data.length);
    new Uint8Array(shared).set(source.data);
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.postMessage({ type: 'setup', src: shared, width: source.width, height: source.height, rig, patch });
      worker.on('message', (m: { index: number; buffer: ArrayBuffer }) => {
        this.waiting.get(m.index)?.(m.buffer);
        this.waiting.delete(m.index);
      });
      worker.on('error', (error) => {
        this.failure = error;
        for (const resolve of this.waiting.values()) resolve(new ArrayBuffer(0));
      });
      this.workers.push(worker);
    }
    for (let i = 0; i < threads * 2 + 1; i++) this.free.push(new ArrayBuffer(patch.width * patch.height * 3));
  }

  /**
   * Warp every pose in order, handing each finished frame to `take` (which may await, e.g. for
   * ffmpeg); the frame's bytes are only valid until `take` resolves.
   */
  async run(poses: FramePose[], take: (frame: Uint8Array, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
    const pending: Promise<ArrayBuffer>[] = [];
    let next = 0;
    const submit = () => {
      const buffer = this.free.pop()!;
      const index = next++;
      pending.push(new Promise((resolve) => this.waiting.set(index, resolve)));
      this.workers[index % this.workers.length].postMessage({ type: 'frame', index, pose: poses[index], buffer }, [buffer]);
    };
    while (next < poses.length && this.free.length > 0) submit();
    for (let i = 0; i < poses.length; i++) {
      const buffer = await pending.shift()!;
      if (this.failure) throw this.failure;
      if (signal?.aborted) return;
      await take(new Uint8Array(buffer), i);
      this.free.push(buffer);
      if (next < poses.length) submit();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
