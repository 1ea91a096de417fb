import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BUILTIN_AVATAR_ID } from '../../src-shared/avatar';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { frameSize, type Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { checkWav2LipModel } from '../lipsync/wav2lip';
import { ffprobe } from '../media/ffmpeg';
import { findTemplate } from '../templates/catalogue';
import { resolveVoice, type VoiceRef } from '../voices/catalogue';
import type { ClipAvatarData, PhotoAvatarData } from '../avatars/prepare';
import { talkingClipStage } from './talkingClip';
import { composeStage, presenterOverlay, type AvatarOverlay, type Placement } from './compose';
import { talkingPhotoStage } from './talkingPhoto';
import { StageRunner, type StageProgress } from './stage';
import { mouthStage, presenterStage, speechStage } from './stages';

export const FPS = 30;
export const BUILTIN_AVATAR = BUILTIN_AVATAR_ID;

export interface RenderRequest {
  project: Project;
  outputPath: string;
  /** Scratch folder of this render; removed afterwards. */
  workDir: string;
  /** Caches shared by renders (pre-rendered presenter sprites). */
  cacheDir: string;
  signal: AbortSignal;
  onProgress: (progress: StageProgress) => void;
  lookupAvatar?: AvatarLookup;
  /** Finds a voice by id (the library knows imported Piper voices). */
  lookupVoice?: (id: string) => Promise<VoiceRef>;
}

export interface RenderResult {
  outputPath: string;
  durationSeconds: number;
  timings: Record<string, number>;
  /** What animated the avatar and on which execution provider, recorded with the render. */
  engine: { name: string; provider: string };
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
) {
  const template = findTemplate(project.template);
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
  let wav2lip: string | undefined;
  if (project.lipSync !== 'warp' && avatar.kind !== 'builtin') {
    wav2lip = resolve(project.lipSync);
    await checkWav2LipModel(wav2lip);
  }
  return { template, voices, avatar, wav2lip };
}

function placePresenter(template: Template, project: Project, size: { width: number; height: number }, spriteWidth: number, spriteHeight: number): Placement {
  const x = project.scenes.map((scene) => {
    const layout = scene.avatarLayout ?? template.avatar.layout;
    const centre = layout === 'left' ? 0.3 : layout === 'right' || layout === 'bubble' ? 0.7 : 0.5;
    return Math.round(Math.min(size.width - spriteWidth * 0.75, Math.max(-spriteWidth * 0.25, size.width * centre - spriteWidth / 2)));
  });
  // A little below the frame's edge, so the idle sway never shows the bottom of the sprite.
  return { x, y: size.height - spriteHeight + Math.round(size.height * 0.01) + 3 };
}

/** The whole pipeline: speech -> mouth track -> avatar frames -> compose and encode. */
export async function renderProject(request: RenderRequest): Promise<RenderResult> {
  const { project, workDir, signal } = request;
  const { template, voices, avatar, wav2lip } = await checkProject(project, request.lookupAvatar, request.lookupVoice);
  const size = frameSize(project.format ?? template.format, project.quality);
  const runner = new StageRunner(signal, request.onProgress);
  await mkdir(workDir, { recursive: true });
  const partial = join(dirname(request.outputPath), `.${basename(request.outputPath)}.partial`);
  try {
    const timeline = await runner.run('speech', speechStage, { project, voices, workDir });
    const frames = await runner.run('mouth', mouthStage, { timeline, fps: FPS });
    let backgrounds = project.scenes.map((scene) => scene.background ?? template.background);
    let overlay: AvatarOverlay;
    let engine: RenderResult['engine'] = { name: 'presenter', provider: 'none' };
    if (avatar.kind === 'photo') {
      const photo = await runner.run('avatar', talkingPhotoStage, { avatar, wav2lip, frames, fps: FPS, project, template, timeline, size, workDir });
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
      const sprites = await runner.run('avatar', presenterStage, {
        frames,
        fps: FPS,
        spriteHeight,
        cacheDir: join(request.cacheDir, 'presenter'),
        workDir,
      });
      overlay = presenterOverlay(sprites.listPath, placePresenter(template, project, size, sprites.sprites.width, sprites.sprites.height), timeline);
    }
    await runner.run('compose', composeStage, { timeline, template, backgrounds, avatar: overlay, size, fps: FPS, workDir, outputPath: partial });
    await rename(partial, request.outputPath);
    return { outputPath: request.outputPath, durationSeconds: timeline.duration, timings: { ...runner.timings } as Record<string, number>, engine };
  } finally {
    await rm(partial, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}
