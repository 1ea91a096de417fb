import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { ProjectInput } from '../../src-shared/project';
import type { Db } from '../db/connection';
import { createVideo } from './createVideo';

/** The extension of Mouthpiece project files (JSON), which the installers associate with the app. */
export const PROJECT_EXTENSION = '.mouthpiece';

/**
 * Read a project file (`.mouthpiece` or `.json`): every path in it is relative to the file, so a
 * project folder can be moved or shared whole.
 */
export async function readProjectFile(file: string): Promise<ProjectInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new AppError(ErrorCode.BadInput, `${file}: cannot read the project file; check the path`);
  }
  let json: ProjectInput;
  try {
    json = JSON.parse(text) as ProjectInput;
  } catch (error) {
    throw new AppError(ErrorCode.BadInput, `${file}: not valid JSON (${(error as Error).message}); fix it or start from resources/examples/welcome.json`);
  }
  const near = (path: string) => (isAbsolute(path) ? path : resolve(dirname(file), path));
  for (const scene of json.scenes ?? []) {
    const background = scene?.background;
    if ((background?.type === 'image' || background?.type === 'video') && typeof background.path === 'string') background.path = near(background.path);
    if (typeof scene?.audio?.path === 'string') scene.audio.path = near(scene.audio.path);
  }
  if (typeof json.brand?.logo?.path === 'string') json.brand.logo.path = near(json.brand.logo.path);
  return json;
}

/** A project file opened from the system (double-click, "Open with"): it joins the library as a draft. */
export async function importProjectFile(db: Db, file: string) {
  return createVideo(db, { project: await readProjectFile(file) });
}
