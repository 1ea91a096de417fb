import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { describeIssues } from '../../src-shared/project';
import { templateSchema, type Template } from '../../src-shared/template';
import { resourcesDir } from '../paths';

let builtins: Template[] | undefined;

/** The built-in templates shipped in resources/templates (read once). */
export function listTemplates(): Template[] {
  if (!builtins) {
    const dir = join(resourcesDir(), 'templates');
    builtins = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const parsed = templateSchema.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
        if (!parsed.success) throw new Error(describeIssues(parsed.error, join(dir, f)));
        return parsed.data;
      });
  }
  return builtins;
}

export function findTemplate(id: string): Template {
  const template = listTemplates().find((t) => t.id === id);
  if (!template) {
    const known = listTemplates().map((t) => t.id).join(', ');
    throw new AppError(ErrorCode.BadInput, `template "${id}" does not exist; use one of: ${known} (--list-templates)`);
  }
  return template;
}
