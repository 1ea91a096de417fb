import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { FORMATS, describeIssues, type Format } from '../../src-shared/project';
import { templateSchema, type Template } from '../../src-shared/template';
import { resourcesDir } from '../paths';

/** The built-in template each format falls back to (projects made before templates were choosable use these ids). */
export const DEFAULT_TEMPLATE: Record<Format, string> = { '16:9': 'studio', '9:16': 'shorts', '1:1': 'square' };

// Keyed by folder so a test (or a packaged app) pointing MOUTHPIECE_RESOURCES elsewhere reads its own.
let cache: { dir: string; templates: Template[] } | undefined;

function templatesDir(): string {
  return join(resourcesDir(), 'templates');
}

/** The built-in templates shipped in resources/templates, by format (16:9, 9:16, 1:1) then name; read once. */
export function listBuiltinTemplates(): Template[] {
  const dir = templatesDir();
  if (cache?.dir !== dir) {
    const templates = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        const file = join(dir, f);
        const parsed = templateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (!parsed.success) throw new Error(describeIssues(parsed.error, file));
        // The thumbnail is found by id, so a file named otherwise would lose it.
        if (`${parsed.data.id}.json` !== f) throw new Error(`${file}: id "${parsed.data.id}" does not match the file name; rename one of them`);
        return parsed.data;
      })
      .sort((a, b) => FORMATS.indexOf(a.format) - FORMATS.indexOf(b.format) || a.name.localeCompare(b.name));
    cache = { dir, templates };
  }
  return cache.templates;
}

export function isBuiltinTemplate(id: string): boolean {
  return listBuiltinTemplates().some((t) => t.id === id);
}

/** A built-in template by id; an unknown id is refused, listing the ones that exist. */
export function findTemplate(id: string): Template {
  const template = listBuiltinTemplates().find((t) => t.id === id);
  if (!template) throw unknownTemplate(id, listBuiltinTemplates().map((t) => t.id));
  return template;
}

export function unknownTemplate(id: string, known: string[]): AppError {
  return new AppError(ErrorCode.BadInput, `template "${id}" does not exist; use one of: ${known.join(', ')} (--list-templates)`);
}

/**
 * The still of a built-in template (resources/templates/<id>.jpg, or .png), as a data: URL; null
 * until one has been made. Read on each call: the files are small and made after the JSON.
 */
export function builtinThumbnail(id: string): string | null {
  for (const [ext, mime] of [['jpg', 'image/jpeg'], ['png', 'image/png']] as const) {
    const file = join(templatesDir(), `${id}.${ext}`);
    if (existsSync(file)) return `data:${mime};base64,${readFileSync(file).toString('base64')}`;
  }
  return null;
}
