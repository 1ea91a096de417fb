/*
 * The render worker: runs one render's whole pipeline (inference, frame work, ffmpeg) on its own
 * thread, so the main process's event loop stays free for the window, IPC and the database. Main
 * resolves everything that needs the database and sends a RenderOrder of plain data; progress and
 * the result come back as messages. Started by RenderQueue, one worker per render.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { constants, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { toErrorData, type AppErrorData } from '../../src-shared/errors';
import type { Template } from '../../src-shared/template';
import { resolveVoice, type VoiceRef } from '../voices/catalogue';
import { useResolvedModels } from '../models/catalogue';
import { looksLikeDiskFull } from './diskSpace';
import { prepareRender, runRender, type RenderRequest, type RenderResult, type ResolvedAvatar } from './renderProject';
import type { StageProgress } from './stage';

/**
 * A render as main sends it: the request, with what only the database knows already resolved
 * (the template, the avatar, the library's voices, the account, the encoder chosen). The worker
 * checks the rest itself: espeak's voices are looked up in the engine the worker loads anyway,
 * which takes main's event loop a blocking 150 ms or more.
 */
export interface RenderOrder extends Pick<RenderRequest, 'project' | 'outputPath' | 'workDir' | 'cacheDir' | 'sharedDir' | 'account' | 'encoder'> {
  template: Template;
  avatar: ResolvedAvatar;
  voices: [string, VoiceRef][];
  /** The registry's active model per kind: the worker has no database to ask. */
  models: Record<string, string>;
}

export type ToWorker = { type: 'start'; order: RenderOrder } | { type: 'abort' };

export type FromWorker =
  | { type: 'progress'; progress: StageProgress }
  /** A child process (ffmpeg) started or ended: main kills those still alive if it must terminate us. */
  | { type: 'child'; pid: number; alive: boolean }
  /** A registry model was opened for work: main counts its use. */
  | { type: 'model-used'; path: string }
  | { type: 'done'; result: RenderResult }
  | { type: 'failed'; error: AppErrorData; diskFull: boolean };

/** Progress messages at most this often (main throttles its events further); stage changes always pass. */
const PROGRESS_INTERVAL_MS = 100;

const port = parentPort;
if (!port) throw new Error('renderWorker runs as a worker thread; RenderQueue starts it');
const post = (message: FromWorker) => port.postMessage(message);

// Every child process this thread starts is reported to main: terminating a worker does not end
// its children, and a worker busy in synchronous work cannot kill them itself in time. Patching
// the builtin (and syncing its ES module bindings) reaches every `spawn` in this thread only.
// Renders run below normal priority, so the window and main's event loop keep the CPU when they
// need it. On Linux a priority is a thread's (pid 0 is this thread), and threads and processes
// started from here inherit it; elsewhere it is a process's, so only ffmpeg's is lowered.
const BELOW_NORMAL = constants.priority.PRIORITY_BELOW_NORMAL;
const lower = (pid: number) => {
  try {
    setPriority(pid, BELOW_NORMAL);
  } catch {
    // Not allowed here: the render runs at normal priority.
  }
};
if (process.platform === 'linux') lower(0);

const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
const spawn = childProcess.spawn;
childProcess.spawn = function (this: unknown, ...args: unknown[]): ChildProcess {
  const child = (spawn as (...a: unknown[]) => ChildProcess).apply(this, args);
  const pid = child.pid;
  if (pid !== undefined) {
    if (process.platform !== 'linux') lower(pid);
    post({ type: 'child', pid, alive: true });
    child.once('exit', () => post({ type: 'child', pid, alive: false }));
  }
  return child;
} as typeof spawn;
syncBuiltinESMExports();

/** The render running now; a worker renders one order at a time and may be given another after. */
let controller: AbortController | undefined;

async function render(order: RenderOrder, signal: AbortSignal): Promise<void> {
  let last = 0;
  let lastStage = '';
  try {
    const known = new Map(order.voices);
    const job = await prepareRender({
      ...order,
      lookupTemplate: async () => order.template,
      lookupAvatar: async () => order.avatar,
      lookupVoice: async (id) => known.get(id) ?? resolveVoice(id),
    });
    const result = await runRender(job, {
      signal,
      onProgress: (progress) => {
        const now = performance.now();
        if (progress.stage === lastStage && progress.stageProgress < 1 && now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        lastStage = progress.stage;
        post({ type: 'progress', progress });
      },
    });
    post({ type: 'done', result });
  } catch (error) {
    post({ type: 'failed', error: toErrorData(error), diskFull: looksLikeDiskFull(error) });
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') return controller?.abort();
  controller = new AbortController();
  useResolvedModels(message.order.models, (path) => post({ type: 'model-used', path }));
  void render(message.order, controller.signal);
});
