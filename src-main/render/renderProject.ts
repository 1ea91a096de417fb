import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { frameSize, type Project } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { findTemplate } from '../templates/catalogue';
import { resolveVoice } from '../voices/catalogue';
import { composeStage, type Placement } from './compose';
import { StageRunner, type StageProgress } from './stage';
import { mouthStage, presenterStage, speechStage } from './stages';

export const FPS = 30;
export const BUILTIN_AVATAR = 'presenter';

export interface RenderRequest {
  project: Project;
  outputPath: string;
  /** Scratch folder of this render; removed afterwards. */
  workDir: string;
  /** Caches shared by renders (pre-rendered presenter sprites). */
  cacheDir: string;
  signal: AbortSignal;
  onProgress: (progress: StageProgress) => void;
}

export interface RenderResult {
  outputPath: string;
  durationSeconds: number;
  timings: Record<string, number>;
}

/** Everything that can be refused before any work starts, so bad input costs nothing. */
export async function checkProject(project: Project) {
  const template = findTemplate(project.template);
  if (project.avatar !== BUILTIN_AVATAR) {
    throw new AppError(
      ErrorCode.BadInput,
      `avatar "${project.avatar}": only the built-in presenter ("${BUILTIN_AVATAR}") can be rendered in this version; photo and clip avatars are not available yet`,
    );
  }
  const voice = await resolveVoice(project.voice);
  return { template, voice };
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
  const { template, voice } = await checkProject(project);
  const size = frameSize(project.format ?? template.format, project.quality);
  const runner = new StageRunner(signal, request.onProgress);
  await mkdir(workDir, { recursive: true });
  const partial = join(dirname(request.outputPath), `.${basename(request.outputPath)}.partial`);
  try {
    const timeline = await runner.run('speech', speechStage, { project, voice, workDir });
    const frames = await runner.run('mouth', mouthStage, { timeline, fps: FPS });
    const spriteHeight = 2 * Math.round((template.avatar.scale * size.height) / 2);
    const avatar = await runner.run('avatar', presenterStage, {
      frames,
      fps: FPS,
      spriteHeight,
      cacheDir: join(request.cacheDir, 'presenter'),
      workDir,
    });
    await runner.run('compose', composeStage, {
      timeline,
      template,
      backgrounds: project.scenes.map((scene) => scene.background ?? template.background),
      avatarList: avatar.listPath,
      placement: placePresenter(template, project, size, avatar.sprites.width, avatar.sprites.height),
      size,
      fps: FPS,
      workDir,
      outputPath: partial,
    });
    await rename(partial, request.outputPath);
    return { outputPath: request.outputPath, durationSeconds: timeline.duration, timings: { ...runner.timings } as Record<string, number> };
  } finally {
    await rm(partial, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}
