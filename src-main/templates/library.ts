import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { FORMATS, describeIssues, type Format } from '../../src-shared/project';
import { templateSchema, type Template, type TemplateSummary } from '../../src-shared/template';
import type { Db } from '../db/connection';
import type { TemplatesTable } from '../db/schema';
import { recordEvent } from '../audit/log';
import { DEFAULT_TEMPLATE, builtinThumbnail, isBuiltinTemplate, listBuiltinTemplates, unknownTemplate } from './catalogue';

/**
 * What a user template's definition_json holds: the template, plus the built-in it was first
 * copied from, whose thumbnail it shows until user templates get stills of their own.
 */
type StoredDefinition = Template & { basedOn?: string };

interface UserTemplate {
  template: Template;
  basedOn: string;
  row: TemplatesTable;
}

function readRow(row: TemplatesTable): UserTemplate {
  let definition: unknown;
  try {
    definition = JSON.parse(row.definition_json);
  } catch {
    definition = undefined;
  }
  // The row's id wins over the one inside: it is what projects refer to.
  const parsed = templateSchema.safeParse({ ...(definition as object), id: row.id });
  if (!parsed.success) {
    throw new AppError(
      ErrorCode.BadInput,
      `${describeIssues(parsed.error, `template "${row.name}"`)}; it cannot be used as it is: delete it and duplicate a built-in one`,
    );
  }
  const format = parsed.data.format;
  const basedOn = (definition as StoredDefinition).basedOn;
  return { template: parsed.data, basedOn: basedOn && isBuiltinTemplate(basedOn) ? basedOn : DEFAULT_TEMPLATE[format], row };
}

async function findUserRow(db: Db, id: string): Promise<TemplatesTable | undefined> {
  return db.selectFrom('templates').selectAll().where('id', '=', id).where('builtin', '=', 0).executeTakeFirst();
}

function summary(template: Template, builtin: boolean, thumbnail: string | null): TemplateSummary {
  const { id, name, format, description } = template;
  return { id, name, format, description, builtin, thumbnail, template };
}

function userSummary(user: UserTemplate): TemplateSummary {
  return summary(user.template, false, builtinThumbnail(user.basedOn));
}

/** Every template the user can pick: the built-in ones, then the user's, newest first. */
export async function listTemplates(db: Db): Promise<TemplateSummary[]> {
  const builtins = listBuiltinTemplates().map((t) => summary(t, true, builtinThumbnail(t.id)));
  const rows = await db.selectFrom('templates').selectAll().where('builtin', '=', 0).orderBy('created_at', 'desc').orderBy(sql`rowid`, 'desc').execute();
  const users = rows.flatMap((row) => {
    try {
      return [userSummary(readRow(row))];
    } catch {
      // A damaged row must not hide every other template; resolving it by id says what is wrong.
      return [];
    }
  });
  return [...builtins, ...users];
}

async function findWithBase(db: Db | undefined, id: string): Promise<Pick<UserTemplate, 'template' | 'basedOn'>> {
  const builtin = listBuiltinTemplates().find((t) => t.id === id);
  if (builtin) return { template: builtin, basedOn: id };
  const row = db && (await findUserRow(db, id));
  if (row) return readRow(row);
  const userIds = db ? (await db.selectFrom('templates').select('id').where('builtin', '=', 0).orderBy('created_at', 'desc').orderBy(sql`rowid`, 'desc').execute()).map((r) => r.id) : [];
  throw unknownTemplate(id, [...listBuiltinTemplates().map((t) => t.id), ...userIds]);
}

/**
 * A template by id: a built-in one, or (given the database) one of the user's. An unknown id is
 * refused, listing the ids that exist.
 */
export async function resolveTemplate(db: Db | undefined, id: string): Promise<Template> {
  return (await findWithBase(db, id)).template;
}

const MAX_NAME = 60;

function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return s || 'template';
}

async function newTemplateId(db: Db, name: string): Promise<string> {
  for (;;) {
    const id = `${slug(name)}-${randomBytes(3).toString('hex')}`;
    if (!isBuiltinTemplate(id) && !(await db.selectFrom('templates').select('id').where('id', '=', id).executeTakeFirst())) return id;
  }
}

/**
 * Copy a template (built-in or the user's) into a new user template, named "<name> copy" unless a
 * name is given; its id is made from the name ('<slug>-<6 hex>').
 */
export async function duplicateTemplate(db: Db, id: string, name?: string): Promise<TemplateSummary> {
  const { template: base, basedOn } = await findWithBase(db, id);
  const copyName = name?.trim() || `${base.name.slice(0, MAX_NAME - ' copy'.length).trimEnd()} copy`;
  const template = templateSchema.parse({ ...base, id: await newTemplateId(db, copyName), name: copyName.slice(0, MAX_NAME) });
  const now = new Date().toISOString();
  const row: TemplatesTable = {
    id: template.id,
    name: template.name,
    format: template.format,
    definition_json: JSON.stringify({ ...template, basedOn } satisfies StoredDefinition),
    builtin: 0,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('templates').values(row).execute();
  await recordEvent(db, 'template.created', template.id, { from: id, name: template.name });
  return userSummary({ template, basedOn, row });
}

function refuseBuiltin(id: string, verb: string): void {
  if (isBuiltinTemplate(id)) {
    throw new AppError(ErrorCode.Forbidden, `template "${id}": built-in templates are read-only; duplicate it first, then ${verb} the copy`);
  }
}

/**
 * Save changes to one of the user's templates. Built-in ones are refused (duplicate them first),
 * and so is a template that does not pass the schema, naming each bad field.
 */
export async function saveTemplate(db: Db, input: unknown): Promise<TemplateSummary> {
  const claimedId = (input as { id?: unknown } | null)?.id;
  // Said before any field problem: fixing fields of a template that can never be saved is wasted work.
  if (typeof claimedId === 'string') refuseBuiltin(claimedId, 'change');
  const parsed = templateSchema.safeParse(input);
  if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error, 'template'));
  const template = parsed.data;
  return db.transaction().execute(async (trx) => {
    const row = await findUserRow(trx, template.id);
    if (!row) {
      throw new AppError(ErrorCode.NotFound, `template "${template.id}" does not exist; duplicate a template to make one of your own`);
    }
    let basedOn: string | undefined;
    try {
      basedOn = (JSON.parse(row.definition_json) as StoredDefinition).basedOn;
    } catch {
      basedOn = undefined;
    }
    const next = {
      name: template.name,
      format: template.format,
      definition_json: JSON.stringify({ ...template, basedOn } satisfies StoredDefinition),
      updated_at: new Date().toISOString(),
    };
    await trx.updateTable('templates').set(next).where('id', '=', template.id).execute();
    await recordEvent(trx, 'template.saved', template.id, { name: template.name });
    return userSummary(readRow({ ...row, ...next }));
  });
}

/** Videos whose render has started read their template already; changing it under them would mix two looks. */
const BUSY = new Set(['queued', 'rendering']);

/**
 * Delete one of the user's templates. Every video whose project used it switches to the built-in
 * template of the same format (studio, shorts or square), so no project is left pointing at
 * nothing; refused while such a video is queued or rendering. Answers the ids of the videos that
 * switched.
 */
export async function deleteTemplate(db: Db, id: string): Promise<{ templateId: string; switchedVideos: string[] }> {
  refuseBuiltin(id, 'delete');
  return db.transaction().execute(async (trx) => {
    const row = await findUserRow(trx, id);
    if (!row) throw new AppError(ErrorCode.NotFound, `template "${id}" does not exist; list templates to see their ids`);
    const format = (FORMATS as readonly string[]).includes(row.format) ? (row.format as Format) : '16:9';
    const fallback = DEFAULT_TEMPLATE[format];
    const videos = await trx.selectFrom('videos').select(['id', 'title', 'status', 'project_json']).execute();
    const switched: string[] = [];
    const now = new Date().toISOString();
    for (const video of videos) {
      let project: Record<string, unknown>;
      try {
        project = JSON.parse(video.project_json) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (project?.template !== id) continue;
      if (BUSY.has(video.status)) {
        throw new AppError(
          ErrorCode.IllegalTransition,
          `template "${row.name}" is used by "${video.title}", which is ${video.status}; wait for it to finish or cancel it, then delete the template`,
        );
      }
      await trx
        .updateTable('videos')
        .set({ project_json: JSON.stringify({ ...project, template: fallback }), updated_at: now })
        .where('id', '=', video.id)
        .execute();
      switched.push(video.id);
    }
    await trx.deleteFrom('templates').where('id', '=', id).execute();
    await recordEvent(trx, 'template.deleted', id, { name: row.name, switchedVideos: switched });
    return { templateId: id, switchedVideos: switched };
  });
}
