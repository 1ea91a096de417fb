import { AppError, ErrorCode } from '../../src-shared/errors';
import { describeIssues, projectSchema, type Project, type ProjectInput } from '../../src-shared/project';
import type { Db } from '../db/connection';
import { insertVideo } from './repository';

/** A plain script becomes a project: each paragraph (blank-line separated) is a scene. */
export function projectFromText(text: string, overrides: Partial<ProjectInput> = {}): ProjectInput {
  const scenes = text
    .split(/\n\s*\n/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => ({ text: t }));
  const firstWords = text.trim().split(/\s+/).slice(0, 6).join(' ');
  return { title: firstWords.slice(0, 60) || 'Untitled video', ...overrides, scenes };
}

function withoutEmpty<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Validate a project and name every bad field; the result is ready to store or render. */
export function parseProject(input: unknown, source = 'project'): Project {
  const parsed = projectSchema.safeParse(input);
  if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error, source));
  return parsed.data;
}

/** A project, or a plain script with the choices the editor offers beside it. */
export type CreateVideoInput =
  | { project: unknown }
  | { text: string; title?: string; avatar?: string; voice?: string; speed?: number; lipSync?: string; audio?: string };

export async function createVideo(db: Db, input: CreateVideoInput) {
  if ('text' in input && input.audio) {
    // A recording is one scene; the text, if any, is its transcript.
    const { text, audio, ...choices } = input;
    const title = choices.title || audio.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '');
    return insertVideo(db, parseProject({ ...withoutEmpty({ ...choices, title }), scenes: [{ text, audio: { path: audio } }] }, 'script'));
  }
  if ('text' in input && !input.text.trim()) {
    throw new AppError(ErrorCode.BadInput, 'script: the text is empty; write what the presenter should say');
  }
  const project =
    'text' in input
      ? parseProject(projectFromText(input.text, withoutEmpty({ title: input.title, avatar: input.avatar, voice: input.voice, speed: input.speed, lipSync: input.lipSync })), 'script')
      : parseProject(input.project);
  return insertVideo(db, project);
}
