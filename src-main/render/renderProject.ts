import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BUILTIN_AVATAR_ID } from '../../src-shared/avatar';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { AccountSummary } from '../../src-shared/ipc';
import { QUALITIES, frameSize, type Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import type { RenderStage } from '../../src-shared/video';
import { checkWav2LipModel } from '../lipsync/wav2lip';
import { SOFTWARE_ENCODER, type EncoderChoice } from '../media/encoders';
import { ffmpegPath, ffprobe, runFfmpeg } from '../media/ffmpeg';
import { findTemplate } from '../templates/catalogue';
import { resolveModel } from '../models/catalogue';
import { SEGMENT_MODEL } from '../avatars/segment';
import { resolveVoice, type VoiceRef } from '../voices/catalogue';
import type { ClipAvatarData, PhotoAvatarData } from '../avatars/prepare';
import { talkingClipStage } from './talkingClip';
import { sceneCues, toSrt, toVtt } from './captions';
import { composeStage, presenterOverlay, type AvatarOverlay } from './compose';
import { talkingPhotoStage } from './talkingPhoto';
import { StageRunner, sha256Of, type StageProgress } from './stage';
import { SharedWork } from './shared';
import { mouthStage, presenterStage, speechStage, type AvatarStream, type Timeline } from './stages';
import { limits } from '../account/account';

export const FPS = 30;
export const BUILTIN_AVATAR = BUILTIN_AVATAR_ID;

export interface RenderRequest {
  project: Project;
  outputPath: string;
  /** Scratch folder of this render: its checkpoints; removed when the render completes. */
  workDir: string;
  /** Caches shared by renders (pre-rendered presenter sprites). */
  cacheDir: string;
  /**
   * Work shared by the renders of one batch (the avatar's preparation, template assets, scenes
   * every row speaks alike), made by the first row that needs it and reused by the others.
   */
  sharedDir?: string;
  signal: AbortSignal;
  onProgress: (progress: StageProgress) => void;
  lookupAvatar?: AvatarLookup;
  /** Finds a voice by id (the library knows imported Piper voices). */
  lookupVoice?: (id: string) => Promise<VoiceRef>;
  /** Finds a template by id (the library knows the user's); built-in ones only without it. */
  lookupTemplate?: TemplateLookup;
  /** What the account allows; the free tier's limits without one. */
  account?: Pick<AccountSummary, 'tier' | 'maxQuality' | 'watermark'>;
  /** The encoder chosen by probing; libx264 in the bundled ffmpeg without one. */
  encoder?: EncoderChoice;
}

export type TemplateLookup = (id: string) => Promise<Template>;



export interface RenderResult {
  outputPath: string;
  durationSeconds: number;
  timings: Record<string, number>;
  /** What animated the avatar and on which execution provider, recorded with the render. */
  engine: { name: string; provider: string };
  /** The encoder that wrote the video, and a note when a hardware one failed and software finished. */
  encoder: string;
  note?: string;
  /** Written beside the video: captions as SRT and WebVTT, and a JPEG thumbnail. */
  files: { srt: string; vtt: string; thumbnail: string };
  size: { width: number; height: number };
  /** When each scene's speech starts and ends in the video, in seconds. */
  scenes: { start: number; end: number }[];
  /** The stages an earlier, interrupted run had done, reused from their checkpoints ('compose': in part). */
  resumed: RenderStage[];
  /** Where in the video a resumed compose went on from, in seconds. */
  composeResumedFrom?: number;
  /**
   * The pieces a batch's shared work gave this render instead of it making them
   * ('speech:scene-2', 'avatar:photo', 'compose:background-0', ...); empty outside a batch.
   */
  shared: string[];
}

/** The files a render writes beside OUT.mp4. */
export function sidecarPaths(outputPath: string): RenderResult['files'] {
  const base = outputPath.replace(/\.mp4$/i, '');
  return { srt: `${base}.srt`, vtt: `${base}.vtt`, thumbnail: `${base}.jpg` };
}

/** A project's avatar, ready to render: the built-in presenter, or a prepared photo or clip. */
export type ResolvedAvatar =
  | { kind: 'builtin' }
  | { kind: 'photo'; id: string; dir: string; data: PhotoAvatarData }
  | { kind: 'clip'; id: string; dir: string; data: ClipAvatarData };

/** Finds a prepared avatar by id (the library answers this; without one only the presenter exists). */
export type AvatarLookup = (id: string) => Promise<ResolvedAvatar>;

const builtinOnly: AvatarLookup = async (id) => {
  if (id === BUILTIN_AVATAR) return { kind: 'builtin' };
  throw new AppError(ErrorCode.BadInput, `avatar "${id}" does not exist; import a photo on the Avatars screen or use "${BUILTIN_AVATAR}"`);
};

/** Everything that can be refused before any work starts, so bad input costs nothing. */
export async function checkProject(
  project: Project,
  lookupAvatar: AvatarLookup = builtinOnly,
  lookupVoice: (id: string) => Promise<VoiceRef> = (id) => resolveVoice(id),
  options: { lookupTemplate?: TemplateLookup; account?: RenderRequest['account'] } = {},
) {
  const template = await (options.lookupTemplate ?? (async (id: string) => findTemplate(id)))(project.template);
  // Without an account, the free tier's limits.
  const account = options.account ?? limits('free');
  if (QUALITIES.indexOf(project.quality) > QUALITIES.indexOf(account.maxQuality)) {
    throw new AppError(
      ErrorCode.BadInput,
      `quality: ${project.quality} needs a premium account; the ${account.tier} tier renders up to ${account.maxQuality}. Choose ${account.maxQuality} or lower`,
    );
  }
  for (const [index, scene] of project.scenes.entries()) {
    const background = scene.background;
    if (background?.type !== 'image' && background?.type !== 'video') continue;
    const field = `scenes.${index}.background`;
    if (!existsSync(background.path)) throw new AppError(ErrorCode.BadInput, `${field}: ${background.path} does not exist; pick the ${background.type} again`);
    const probe = await ffprobe(background.path).catch(() => undefined);
    if (!probe?.streams.some((stream) => stream.codec_type === 'video')) {
      const kinds = background.type === 'image' ? 'PNG, JPEG or WebP' : 'MP4, MOV, WebM or MKV';
      throw new AppError(ErrorCode.BadInput, `${field}: ${basename(background.path)} is not ${background.type === 'image' ? 'an image' : 'a video'} we can read, or it is damaged; use ${kinds}`);
    }
  }
  const logo = project.brand.logo;
  if (logo) {
    if (!existsSync(logo.path)) throw new AppError(ErrorCode.BadInput, `brand.logo: ${logo.path} does not exist; pick the logo again`);
    const probe = await ffprobe(logo.path).catch(() => undefined);
    if (!probe?.streams.some((stream) => stream.codec_type === 'video' && stream.width)) {
      throw new AppError(ErrorCode.BadInput, `brand.logo: ${basename(logo.path)} is not an image we can read, or it is damaged; use a PNG (transparency is kept), JPEG or WebP`);
    }
  }
  const avatar = await lookupAvatar(project.avatar);
  const voices = new Map<string, VoiceRef>();
  for (const id of new Set([project.voice, ...project.scenes.map((scene) => scene.voice ?? project.voice)])) {
    voices.set(id, await lookupVoice(id));
  }
  for (const [index, scene] of project.scenes.entries()) {
    if (!scene.audio) continue;
    if (!existsSync(scene.audio.path)) {
      throw new AppError(ErrorCode.BadInput, `scenes.${index}.audio: ${scene.audio.path} does not exist; check the path of the recording`);
    }
    const probe = await ffprobe(scene.audio.path).catch(() => undefined);
    if (!probe?.streams.some((stream) => stream.codec_type === 'audio')) {
      throw new AppError(
        ErrorCode.BadInput,
        `scenes.${index}.audio: ${basename(scene.audio.path)}: not an audio file we can read, or it is damaged; use WAV, MP3, OGG or M4A`,
      );
    }
  }
  if (template.avatar.background === 'cutout' && avatar.kind !== 'builtin') {
    // The cut-out needs the segmentation model: fetch it (or refuse, saying why) before any work starts.
    await resolveModel(SEGMENT_MODEL);
  }
  let wav2lip: string | undefined;
  if (project.lipSync !== 'warp' && avatar.kind !== 'builtin') {
    wav2lip = resolve(project.lipSync);
    await checkWav2LipModel(wav2lip);
  }
  return { template, voices, avatar, wav2lip, account };
}

/**
 * Everything one render needs, resolved where the database is: plain data only, so it crosses to
 * the render worker as it is.
 */
export interface RenderJob {
  project: Project;
  template: Template;
  voices: [string, VoiceRef][];
  avatar: ResolvedAvatar;
  wav2lip?: string;
  account: NonNullable<RenderRequest['account']>;
  encoder: EncoderChoice;
  outputPath: string;
  /** The render's own folder: checkpoints live here until the render completes. */
  workDir: string;
  cacheDir: string;
  sharedDir?: string;
}

/** Check a request and resolve what it names (template, avatar, voices, account) into a job. */
export async function prepareRender(request: Omit<RenderRequest, 'signal' | 'onProgress'>): Promise<RenderJob> {
  const { template, voices, avatar, wav2lip, account } = await checkProject(request.project, request.lookupAvatar, request.lookupVoice, {
    lookupTemplate: request.lookupTemplate,
    account: request.account,
  });
  return {
    project: request.project,
    template,
    voices: [...voices],
    avatar,
    ...(wav2lip ? { wav2lip } : {}),
    account,
    encoder: request.encoder ?? { binary: ffmpegPath(), encoder: SOFTWARE_ENCODER },
    outputPath: request.outputPath,
    workDir: request.workDir,
    cacheDir: request.cacheDir,
    ...(request.sharedDir ? { sharedDir: request.sharedDir } : {}),
  };
}

/** Everything is written under a hidden partial name and renamed only when all of it is done. */
export const partialOf = (path: string) => join(dirname(path), `.${basename(path)}.partial`);

/** The partial files a render of `outputPath` may leave while it runs. */
export function partialPaths(outputPath: string): string[] {
  return [outputPath, ...Object.values(sidecarPaths(outputPath))].map(partialOf);
}

/** Remove what an unfinished render wrote: its partial outputs and its work folder. */
export async function discardRender(outputPath: string, workDir: string): Promise<void> {
  for (const path of partialPaths(outputPath)) await rm(path, { force: true });
  await rm(workDir, { recursive: true, force: true });
}

export interface RenderRun {
  signal: AbortSignal;
  onProgress: (progress: StageProgress) => void;
}

/**
 * The pipeline on a resolved job: speech -> mouth track -> avatar frames -> compose and encode.
 * Speech, the mouth track and the presenter's frames are checkpointed in the work folder and
 * reused when a checkpoint holds; the talking photo's and clip's avatar stage is preparation
 * whose output holds functions, so it runs again (cheaply) on a resume. The work folder is
 * removed when the render completes and kept otherwise, for a resume; partial outputs never stay.
 */
export async function runRender(job: RenderJob, { signal, onProgress }: RenderRun): Promise<RenderResult> {
  const { project, template, avatar, wav2lip, account, workDir } = job;
  const voices = new Map(job.voices);
  const size = frameSize(project.format ?? template.format, project.quality);
  let frameCount: number | undefined;
  const runner = new StageRunner(signal, (p) => onProgress(frameCount === undefined ? p : { ...p, frames: frameCount }));
  await mkdir(workDir, { recursive: true });
  const partial = partialOf(job.outputPath);
  const sidecars = sidecarPaths(job.outputPath);
  const checkpoint = (stage: string, key: unknown) => ({ path: join(workDir, `${stage}.checkpoint.json`), key: sha256Of(JSON.stringify(key)) });
  const shared = job.sharedDir ? new SharedWork(job.sharedDir) : undefined;
  try {
    const speechKey = { project, voices: job.voices, workDir };
    const timeline = await runner.run('speech', speechStage, { project, voices, workDir, shared }, { ...checkpoint('speech', speechKey), files: (t: Timeline) => [t.wavPath] });
    frameCount = Math.ceil(timeline.duration * FPS);
    const mouthKey = { speechKey, fps: FPS };
    const frames = await runner.run('mouth', mouthStage, { timeline, fps: FPS }, { ...checkpoint('mouth', mouthKey), files: () => [] });
    let backgrounds = project.scenes.map((scene) => scene.background ?? template.background);
    let overlay: AvatarOverlay;
    let engine: RenderResult['engine'] = { name: 'presenter', provider: 'none' };
    if (avatar.kind === 'photo') {
      const photo = await runner.run('avatar', talkingPhotoStage, { avatar, wav2lip, frames, fps: FPS, project, template, timeline, size, workDir, shared });
      backgrounds = photo.backgrounds;
      overlay = photo.overlay;
      engine = photo.engine;
    } else if (avatar.kind === 'clip') {
      const clip = await runner.run('avatar', talkingClipStage, { avatar, wav2lip, frames, fps: FPS, project, template, timeline, size, workDir });
      backgrounds = clip.backgrounds;
      overlay = clip.overlay;
      engine = clip.engine;
    } else {
      const spriteHeight = 2 * Math.round((template.avatar.scale * size.height) / 2);
      const sprites = await runner.run(
        'avatar',
        presenterStage,
        { frames, fps: FPS, spriteHeight, cacheDir: join(job.cacheDir, 'presenter'), workDir },
        {
          ...checkpoint('avatar', { mouthKey, spriteHeight }),
          files: (stream: AvatarStream) => [stream.listPath],
          // The sprites live in the shared cache, which may have been cleared since.
          usable: async (stream: AvatarStream) => Object.values(stream.sprites.files).every((file) => existsSync(file)),
        },
      );
      overlay = await presenterOverlay({ listPath: sprites.listPath, sprite: sprites.sprites, template, project, size, fps: FPS, timeline, workDir, shared });
    }
    const cues = sceneCues(timeline.words, timeline.scenes);
    const composed = await runner.run('compose', composeStage, {
      timeline,
      project,
      template,
      backgrounds,
      avatar: overlay,
      cues,
      size,
      fps: FPS,
      workDir,
      outputPath: partial,
      encoder: job.encoder,
      watermark: account.watermark,
      shared,
    });
    // Compose keeps its own segments in the work folder; it says from where a resumed one went on.
    const composeResumedFrom = composed.resumedFrom;
    await writeFile(partialOf(sidecars.srt), toSrt(cues));
    await writeFile(partialOf(sidecars.vtt), toVtt(cues));
    // The thumbnail: the first scene a moment into its speech (past any intro card).
    const first = timeline.scenes[0];
    await runFfmpeg({
      args: ['-ss', (first.start + Math.min(1.2, (first.end - first.start) / 2)).toFixed(3), '-i', partial, '-frames:v', '1', '-q:v', '3', '-f', 'image2', '-c:v', 'mjpeg', partialOf(sidecars.thumbnail)],
      signal,
      what: 'the thumbnail',
    });
    for (const path of [sidecars.srt, sidecars.vtt, sidecars.thumbnail, job.outputPath]) await rename(partialOf(path), path);
    // The video is done; a work folder that will not go (a file held open elsewhere) is no failure.
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    return {
      outputPath: job.outputPath,
      durationSeconds: timeline.duration,
      timings: { ...runner.timings } as Record<string, number>,
      engine,
      encoder: composed.encoder,
      note: composed.note,
      files: sidecars,
      size,
      scenes: timeline.scenes,
      resumed: composeResumedFrom ? [...runner.reused, 'compose'] : [...runner.reused],
      ...(composeResumedFrom ? { composeResumedFrom } : {}),
      shared: shared?.reused ?? [],
    };
  } finally {
    for (const path of partialPaths(job.outputPath)) await rm(path, { force: true });
  }
}

/** Check, resolve and render in this thread; the work folder goes whatever happens (no resume). */
export async function renderProject(request: RenderRequest): Promise<RenderResult> {
  const job = await prepareRender(request);
  try {
    return await runRender(job, request);
  } finally {
    await rm(job.workDir, { recursive: true, force: true });
  }
}
