import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectSchema } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';
import { runFfmpeg } from '../media/ffmpeg';
import { resourcesDir } from '../paths';
import { renderProject } from '../render/renderProject';
import { listBuiltinTemplates } from './catalogue';

/** Longest side of a template's thumbnail in pixels: sharp in the picker, small in the package. */
const THUMBNAIL_SIDE = 480;

/**
 * A template's thumbnail made by the real pipeline: the built-in presenter saying a line over the
 * template's background, in its layout, with its captions, as a JPEG.
 */
export async function renderTemplateThumbnail(template: Template, path: string, cacheDir: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-thumbnail-'));
  try {
    const project = projectSchema.parse({ title: template.name, template: template.id, quality: '720p', scenes: [{ text: 'Your words, your video.' }] });
    const result = await renderProject({
      project,
      outputPath: join(dir, 'still.mp4'),
      workDir: join(dir, 'work'),
      cacheDir,
      signal: new AbortController().signal,
      onProgress: () => undefined,
      lookupTemplate: async () => template,
      account: { tier: 'premium', maxQuality: '2160p', watermark: false },
    });
    const scale = template.format === '9:16' ? `-2:${THUMBNAIL_SIDE}` : `${THUMBNAIL_SIDE}:-2`;
    await runFfmpeg({ args: ['-i', result.files.thumbnail, '-vf', `scale=${scale}:flags=lanczos`, '-q:v', '4', path], what: `the thumbnail of ${template.id}` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// `npm run thumbnails` remakes the built-in templates' thumbnails after a template or the pipeline changes.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cacheDir = await mkdtemp(join(tmpdir(), 'mp-thumbnail-cache-'));
  for (const template of listBuiltinTemplates()) {
    await renderTemplateThumbnail(template, join(resourcesDir(), 'templates', `${template.id}.jpg`), cacheDir);
    console.log(`resources/templates/${template.id}.jpg`);
  }
  await rm(cacheDir, { recursive: true, force: true });
}
