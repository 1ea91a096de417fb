import { mkdir } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError, ErrorCode, errorCode, toErrorData } from '../src-shared/errors';
import { FORMATS, QUALITIES, type Project, type ProjectInput } from '../src-shared/project';
import { unfilledVariables, type BatchSummary } from '../src-shared/batch';
import type { RenderProgress, VideoSummary } from '../src-shared/video';
import { appInfo, openApp, type App } from './app';
import { defaultHome } from './paths';
import { resolveAvatar } from './avatars/library';
import { CLIP_EXTENSIONS, IMAGE_EXTENSIONS } from './avatars/prepare';
import { checkOutputPath, encoderCacheFile } from './render/queue';
import { checkProject, sidecarPaths } from './render/renderProject';
import { listTemplates } from './templates/library';
import { ENCODER_CANDIDATES, chooseEncoder } from './media/encoders';
import { readSettings } from './settings/settings';
import { createVideo, parseProject, projectFromText } from './videos/createVideo';
import { readProjectFile } from './videos/projectFile';
import { resolveVoice } from './voices/catalogue';
import { readAccount } from './account/account';
import { resolveTemplate } from './templates/library';
import { listVideos, toSummary } from './videos/repository';

const USAGE = `Usage: npm run render -- [project.json] [options]

  project.json         a Mouthpiece project file (see resources/examples/welcome.json)
  --text TEXT          render this script instead of a project file (blank lines split scenes)
  --avatar ID|FILE     avatar: an id from the library, or a photo or 3-30 s clip of one
                       face to prepare and use (default: presenter, the built-in one)
  --lipsync ENGINE     how a photo's mouth moves: warp (default) or the path of a
                       Wav2Lip-compatible .onnx model you have (its licence applies)
  --voice ID|FILE      voice: an id, e.g. espeak:en-us (see --list-voices), or the path of a
                       Piper voice's .onnx (its .onnx.json beside it)
  --speed N            speaking pace, 0.5 to 2 (default 1)
  --audio FILE         your own recording (WAV, MP3, OGG, M4A) speaks instead of a voice;
                       --text is then its transcript, for captions
  Scripts may contain [pause 1s] or [pause 500ms].
  --template ID        template (see --list-templates)
  --quality Q          ${QUALITIES.join(', ')}
  --format F           ${FORMATS.join(', ')} (default: the template's)
  --encoder NAME       force a video encoder (${ENCODER_CANDIDATES.join(', ')});
                       default: the fastest that really works on this machine
  -o, --out FILE       output .mp4 (default: the title, in this folder); OUT.srt, OUT.vtt
                       and the thumbnail OUT.jpg are written beside it
  --batch FILE.csv     one video per row of the CSV: the project's {{variables}} (e.g.
                       {{first_name}}) take the values of the columns with their names. Every
                       row is checked first, and the credits for all of them; nothing renders
                       unless all is well. Videos are named ROW-VALUE.mp4 (e.g. 003-anna.mp4);
                       results.csv beside them gives each row's video or error
  --out-dir DIR        the folder for a --batch's videos (default: a new folder in the
                       library's videos folder)
  --json               one JSON progress event per line on stdout (with fps and etaSeconds
                       once known)
  --resume             resume every unfinished render in the library (the desktop app does
                       this when it starts) and wait for them; exit 0 when all finished
  --list               print the library's renders: id, status, stage and progress,
                       duration, encoder, and the output or the error
  --list-templates     print the templates and exit
  --list-voices        print the voices and exit
  --version            print the version, the ffmpeg in use, onnxruntime's execution
                       providers on this machine and the data folder, and exit

Renders are recorded in the library the desktop app shows (${defaultHome()}; MOUTHPIECE_HOME moves it).
Exit status: 0 done (with --batch: every row made), 2 bad input, 1 any other failure (with
--batch: any row failed or was cancelled; Ctrl-C cancels the rows not yet made).`;

class UsageError extends AppError {
  constructor(message: string) {
    super(ErrorCode.BadInput, `${message}\n\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        text: { type: 'string' },
        avatar: { type: 'string' },
        lipsync: { type: 'string' },
        audio: { type: 'string' },
        speed: { type: 'string' },
        voice: { type: 'string' },
        template: { type: 'string' },
        quality: { type: 'string' },
        format: { type: 'string' },
        encoder: { type: 'string' },
        out: { type: 'string', short: 'o' },
        batch: { type: 'string' },
        'out-dir': { type: 'string' },
        json: { type: 'boolean' },
        'list-templates': { type: 'boolean' },
        'list-voices': { type: 'boolean' },
        resume: { type: 'boolean' },
        list: { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = args;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    const info = await appInfo(defaultHome());
    console.log(`Mouthpiece ${info.version}`);
    console.log(`ffmpeg: ${info.ffmpeg}`);
    for (const p of info.providers) console.log(`onnxruntime ${p.name}: ${p.available ? 'available' : `not available, ${p.reason}`}`);
    console.log(`data: ${info.dataDir}`);
    return 0;
  }
  if (values['list-templates']) {
    const app = await openApp({ home: defaultHome() });
    try {
      for (const t of await listTemplates(app.db)) console.log(`${t.id.padEnd(14)} ${t.format.padEnd(5)} ${t.builtin ? '' : '(yours) '}${t.description}`);
    } finally {
      await app.close();
    }
    return 0;
  }
  if (values['list-voices']) {
    const app = await openApp({ home: defaultHome() });
    try {
      for (const v of await app.voices.list()) console.log(`${v.id.padEnd(22)} ${v.language.padEnd(8)} ${v.engine.padEnd(7)} ${v.name}`);
    } finally {
      await app.close();
    }
    return 0;
  }
  if (values.list) return listRenders(values.json === true);
  if (values.resume) return resumeRenders(values.json === true);
  if (values.batch !== undefined && values.out !== undefined) {
    throw new UsageError('--out names one video; a --batch makes one per row, so give --out-dir FOLDER for them');
  }
  if (values['out-dir'] !== undefined && values.batch === undefined) {
    throw new UsageError('--out-dir is the folder of a --batch\'s videos; for one video give -o FILE.mp4');
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one project file, got ${positionals.length}`);
  if (positionals.length === 1 && (values.text !== undefined || values.audio !== undefined)) {
    throw new UsageError('give either a project file or --text/--audio, not both');
  }
  if (positionals.length === 0 && values.text === undefined && values.audio === undefined) {
    throw new UsageError('give a project file, --text "what to say" or --audio recording.wav');
  }
  if (values.text !== undefined && !values.text.trim() && values.audio === undefined) {
    throw new AppError(ErrorCode.BadInput, '--text: the script is empty; write what the presenter should say');
  }
  const base: ProjectInput = positionals.length
    ? await readProjectFile(positionals[0])
    : values.audio !== undefined
      ? // The recording speaks; --text, when given, is its transcript for captions.
        { title: basename(values.audio).replace(/\.[^.]+$/, ''), scenes: [{ text: values.text ?? '', audio: { path: resolve(values.audio) } }] }
      : projectFromText(values.text ?? '');
  const overrides: Partial<ProjectInput> = Object.fromEntries(
    (['avatar', 'voice', 'template', 'quality', 'format', 'encoder'] as const).filter((k) => values[k] !== undefined).map((k) => [k, values[k]]),
  );
  if (values.lipsync !== undefined) overrides.lipSync = values.lipsync === 'warp' ? 'warp' : resolve(values.lipsync);
  if (values.speed !== undefined) {
    const speed = Number(values.speed);
    if (!Number.isFinite(speed)) throw new AppError(ErrorCode.BadInput, `--speed ${values.speed}: give a number, e.g. 1.2 for 20% faster`);
    overrides.speed = speed;
  }
  const project = parseProject({ ...base, ...overrides }, positionals[0] ?? 'script');
  const unfilled = values.batch === undefined ? unfilledVariables(project) : undefined;
  if (unfilled) throw new AppError(ErrorCode.BadInput, unfilled);
  const json = values.json === true;
  const slug = project.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'video';
  const outputPath = resolve(values.out ?? `${slug}.mp4`);
  if (values.batch === undefined) await checkOutputPath(outputPath);

  const app = await openApp({ home: defaultHome() });
  try {
    if (looksLikeFile(project.avatar)) {
      // A photo path: prepare it into the library (or reuse the avatar made from the same file).
      const avatar = await app.avatars.importForRender(project.avatar, (fraction, message) => {
        if (json) console.log(JSON.stringify({ type: 'progress', stage: 'prepare', progress: round(fraction), message }));
        else if (process.stderr.isTTY) process.stderr.write(`\rpreparing ${String(Math.floor(fraction * 100)).padStart(3)}%`);
      });
      project.avatar = avatar.id;
    }
    await checkProject(project, (id) => resolveAvatar(app.db, id), (id) => resolveVoice(id, app.db), {
      lookupTemplate: (id) => resolveTemplate(app.db, id),
      account: await readAccount(app.db),
    });
    // A forced encoder that cannot work here is bad input: refuse it before the video is recorded.
    if (project.encoder) {
      await mkdir(join(defaultHome(), 'cache'), { recursive: true });
      await chooseEncoder({ cacheFile: encoderCacheFile(defaultHome()), systemFfmpeg: (await readSettings(app.db)).ffmpegPath, force: project.encoder });
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  if (values.batch !== undefined) return renderBatch(app, project, values.batch, values['out-dir'], json);
  const started = performance.now();
  printProgress(app, json);
  try {
    const video = await createVideo(app.db, { project });
    const { done } = await app.queue.enqueue(video.id, outputPath);
    const stop = () => void app.queue.cancel(video.id).catch(() => undefined);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const result = await done;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    const seconds = (performance.now() - started) / 1000;
    if (process.stderr.isTTY && !json) process.stderr.write('\n');
    if (result.status === 'completed') {
      await settleSpends(app);
      const files = sidecarPaths(outputPath);
      if (json) {
        console.log(JSON.stringify({ type: 'done', videoId: result.id, output: outputPath, ...files, duration: result.durationSeconds, seconds: round(seconds), encoder: result.encoder, note: result.note }));
      } else {
        console.log(`${outputPath}: ${result.durationSeconds?.toFixed(1)} s of video in ${seconds.toFixed(1)} s (encoder ${result.encoder})`);
        console.log(`  captions ${files.srt}, ${files.vtt}; thumbnail ${files.thumbnail}`);
        if (result.note) console.log(`  note: ${result.note}`);
      }
      return 0;
    }
    const message = result.status === 'cancelled' ? 'render cancelled; no output was written' : `render failed: ${result.error}`;
    if (json) console.log(JSON.stringify({ type: 'error', videoId: result.id, status: result.status, message }));
    else console.error(message);
    return 1;
  } finally {
    await app.close();
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** How long the CLI waits for the cloud after a render; what does not settle now settles at the next sync. */
const SETTLE_WAIT_MS = 5000;

/** Signed in, send the render's spend to the cloud now (bounded): the CLI has no background sync. */
async function settleSpends(app: App): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    app.account.sync().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, SETTLE_WAIT_MS))),
  ]);
  clearTimeout(timer);
}

/**
 * --batch: one video per CSV row, queued together. A line per row as it ends, then the results
 * file and the counts; Ctrl-C cancels the rows not yet made.
 */
async function renderBatch(app: App, project: Project, csvPath: string, outDir: string | undefined, json: boolean): Promise<number> {
  const started = performance.now();
  const rowOf = new Map<string, number>();
  // Rows may end before start() answers with the batch's id: their news waits here until then.
  const ended: VideoSummary[] = [];
  let batchId: string | undefined;
  const reported = new Set<string>();
  const report = (video: VideoSummary) => {
    if (video.batchId !== batchId || reported.has(video.id)) return;
    reported.add(video.id);
    if (process.stderr.isTTY && !json) process.stderr.write(`\r${''.padEnd(48)}\r`);
    const row = video.batchRow;
    if (json) {
      const outcome = video.status === 'completed' ? { output: video.outputPath, duration: video.durationSeconds } : video.status === 'failed' ? { error: video.error } : {};
      console.log(JSON.stringify({ type: 'row', row, videoId: video.id, status: video.status, ...outcome }));
    } else if (video.status === 'completed') console.log(`row ${row}: ${shownPath(video.outputPath ?? '')}`);
    else if (video.status === 'failed') console.error(`row ${row} failed: ${video.error}`);
    else console.error(`row ${row} cancelled`);
  };
  const detach = app.onEvent((name, payload) => {
    if (name !== 'videos:changed') return;
    const video = payload as VideoSummary;
    if (!video.batchId || video.batchRow === null) return;
    rowOf.set(video.id, video.batchRow);
    if (video.status !== 'completed' && video.status !== 'failed' && video.status !== 'cancelled') return;
    if (batchId === undefined) ended.push(video);
    else report(video);
  });
  printProgress(app, json, rowOf);
  // Ctrl-C while the rows are being queued cancels them once they are.
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    if (batchId !== undefined) void app.batches.cancel(batchId).catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { batch, done } = await app.batches.start({ project, csvPath, ...(outDir !== undefined ? { outDir } : {}) });
    batchId = batch.id;
    ended.splice(0).forEach(report);
    if (interrupted) stop();
    if (json) console.log(JSON.stringify({ type: 'batch', batchId: batch.id, rows: batch.rows, outDir: batch.outDir, results: batch.resultsPath }));
    else console.error(`rendering ${batch.rows} videos into ${shownPath(batch.outDir)}`);
    const summary: BatchSummary = await done;
    if (summary.completed > 0) await settleSpends(app);
    const seconds = (performance.now() - started) / 1000;
    if (json) {
      const { id, status, rows, completed, failed, cancelled, outDir: dir, resultsPath } = summary;
      console.log(JSON.stringify({ type: 'batch-done', batchId: id, status, rows, completed, failed, cancelled, outDir: dir, results: resultsPath, seconds: round(seconds) }));
    } else {
      const others = [summary.failed ? `${summary.failed} failed` : '', summary.cancelled ? `${summary.cancelled} cancelled` : ''].filter(Boolean).join(', ');
      console.log(`results: ${shownPath(summary.resultsPath)}`);
      console.log(`${summary.completed} of ${summary.rows} videos made${others ? `, ${others}` : ''} in ${seconds.toFixed(1)} s`);
    }
    return summary.status === 'completed' ? 0 : 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    detach();
    await app.close();
  }
}

/** A path as typed: relative when it is under this folder. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Progress on stderr as one rewritten line, or with --json as JSON lines on stdout; a batch's rows say which row. */
function printProgress(app: App, json: boolean, rowOf?: Map<string, number>): void {
  let lastLine = '';
  app.onEvent((name, payload) => {
    if (name !== 'render:progress') return;
    const p = payload as RenderProgress;
    const row = rowOf?.get(p.videoId);
    if (json) {
      console.log(
        JSON.stringify({
          type: 'progress',
          videoId: p.videoId,
          ...(row !== undefined ? { row } : {}),
          stage: p.stage,
          progress: round(p.progress),
          stageProgress: round(p.stageProgress),
          ...(p.fps !== undefined ? { fps: p.fps } : {}),
          ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
        }),
      );
    } else {
      const pace = [p.fps !== undefined ? `${p.fps.toFixed(0)} fps` : '', p.etaSeconds !== undefined ? `${formatSeconds(p.etaSeconds)} left` : ''].filter(Boolean).join(', ');
      const line = `${row !== undefined ? `row ${row} ` : ''}${p.stage.padEnd(8)} ${String(Math.floor(p.progress * 100)).padStart(3)}%${pace ? `  ${pace}` : ''}`;
      if (line !== lastLine && process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(40)}`);
      lastLine = line;
    }
  });
}

const formatSeconds = (s: number) => (s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s` : `${Math.round(s)} s`);

/** --list: every render in the library, newest first. */
async function listRenders(json: boolean): Promise<number> {
  const app = await openApp({ home: defaultHome() });
  try {
    for (const row of await listVideos(app.db)) {
      const v = toSummary(row);
      if (v.status === 'draft') continue;
      if (json) {
        console.log(JSON.stringify({ type: 'render', id: v.id, title: v.title, status: v.status, stage: v.stage, progress: round(v.progress), duration: v.durationSeconds, encoder: v.encoder, output: v.outputPath, error: v.error }));
        continue;
      }
      const where = v.status === 'failed' ? `error: ${v.error}` : (v.outputPath ?? '');
      const stage = v.status === 'rendering' || v.status === 'queued' ? `${v.stage ?? '-'} ${Math.floor(v.progress * 100)}%` : '';
      const duration = v.durationSeconds === null ? '-' : `${v.durationSeconds.toFixed(1)} s`;
      console.log([v.id, v.status.padEnd(9), stage.padEnd(12), duration.padStart(8), (v.encoder ?? '-').padEnd(10), where].join('  '));
    }
  } finally {
    await app.close();
  }
  return 0;
}

/** --resume: queue every unfinished render again and wait for them; Ctrl-C pauses them for another --resume. */
async function resumeRenders(json: boolean): Promise<number> {
  const app = await openApp({ home: defaultHome() });
  const pause = () => void app.close().catch(() => undefined);
  try {
    printProgress(app, json);
    process.once('SIGINT', pause);
    process.once('SIGTERM', pause);
    const resumed = await app.queue.resumeUnfinished();
    if (resumed.length === 0) {
      if (json) console.log(JSON.stringify({ type: 'idle', message: 'nothing to resume' }));
      else console.log('nothing to resume: every render in the library is finished');
      return 0;
    }
    if (!json) console.error(`resuming ${resumed.length} render${resumed.length === 1 ? '' : 's'}`);
    let failures = 0;
    for (const { video, done } of resumed) {
      const result = await done;
      if (process.stderr.isTTY && !json) process.stderr.write('\n');
      if (result.status === 'completed') {
        if (json) console.log(JSON.stringify({ type: 'done', videoId: result.id, output: result.outputPath, duration: result.durationSeconds, encoder: result.encoder, note: result.note }));
        else console.log(`${result.outputPath}: ${result.durationSeconds?.toFixed(1)} s of video (encoder ${result.encoder})`);
        continue;
      }
      failures++;
      const message =
        result.status === 'rendering' || result.status === 'queued'
          ? `"${video.title}" paused; run --resume again to continue`
          : result.status === 'cancelled'
            ? `"${video.title}" cancelled`
            : `"${video.title}" failed: ${result.error}`;
      if (json) console.log(JSON.stringify({ type: 'error', videoId: result.id, status: result.status, message }));
      else console.error(message);
    }
    return failures === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', pause);
    process.off('SIGTERM', pause);
    await app.close();
  }
}

/** An --avatar value is a file when it has a folder or a photo's extension; ids have neither. */
function looksLikeFile(value: string): boolean {
  return /[\\/]/.test(value) || IMAGE_EXTENSIONS.includes(extname(value).toLowerCase()) || CLIP_EXTENSIONS.includes(extname(value).toLowerCase());
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const data = toErrorData(error);
    const bad = errorCode(error) === ErrorCode.BadInput || errorCode(error) === ErrorCode.NotFound;
    if (process.argv.includes('--json')) console.log(JSON.stringify({ type: 'error', code: data.code, message: data.message }));
    console.error(`mouthpiece: ${data.message}`);
    process.exit(bad ? 2 : 1);
  },
);
