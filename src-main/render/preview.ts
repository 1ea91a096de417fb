import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { ProjectDraft } from '../../src-shared/ipc';
import { fillProject, projectVariables } from '../../src-shared/batch';
import { describeIssues, projectSchema, type Project } from '../../src-shared/project';
import { ffmpegPath } from '../media/ffmpeg';
import { SOFTWARE_ENCODER } from '../media/encoders';
import { renderProject, type RenderRequest } from './renderProject';

/** Words of a scene the preview speaks: enough for a caption and a mouth shape, quick to make. */
const PREVIEW_WORDS = 14;

/** The one-scene project a preview renders: the scene's first words, no cards, at 720p. */
export function previewProject(draft: ProjectDraft, sceneIndex: number): Project {
  // A batch's project says its variables' names where each row's values will go ("Hi first name").
  const names = Object.fromEntries(projectVariables(draft).variables.map((v) => [v, v.replaceAll('_', ' ')]));
  const parsed = projectSchema.safeParse(fillProject(draft, names));
  if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error));
  const project = parsed.data;
  const scene = project.scenes[sceneIndex];
  if (!scene) throw new AppError(ErrorCode.BadInput, `sceneIndex: the project has ${project.scenes.length} scenes; there is no scene ${sceneIndex + 1}`);
  const sentence = scene.text.match(/^.*?[.!?](\s|$)/)?.[0] ?? scene.text;
  const text = sentence.split(/\s+/).filter(Boolean).slice(0, PREVIEW_WORDS).join(' ');
  // A recording keeps its audio (the preview shows its first moments); a voice speaks the first words.
  const previewScene = scene.audio ? scene : { ...scene, text: text || scene.text };
  // The template's transition has nothing to fade from in a one-scene video.
  return { ...project, quality: '720p', intro: undefined, outro: undefined, scenes: [{ ...previewScene, transition: 'cut' }] };
}

/**
 * A still of one scene made by the real pipeline: the scene's first words spoken and rendered with
 * its background, avatar, captions, logo and watermark, and the frame a moment into its speech.
 */
export async function previewScene(
  draft: ProjectDraft,
  sceneIndex: number,
  options: Pick<RenderRequest, 'cacheDir' | 'signal' | 'lookupAvatar' | 'lookupVoice' | 'lookupTemplate' | 'account'>,
): Promise<{ url: string; width: number; height: number }> {
  const project = previewProject(draft, sceneIndex);
  const dir = await mkdtemp(join(tmpdir(), 'mp-preview-'));
  try {
    const result = await renderProject({
      ...options,
      project,
      outputPath: join(dir, 'preview.mp4'),
      workDir: join(dir, 'work'),
      encoder: { binary: ffmpegPath(), encoder: SOFTWARE_ENCODER },
      onProgress: () => undefined,
    });
    const jpeg = await readFile(result.files.thumbnail);
    return { url: `data:image/jpeg;base64,${jpeg.toString('base64')}`, ...result.size };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
