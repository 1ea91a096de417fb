import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CAPTION_STYLES, FORMATS } from '../../../src-shared/project';
import { templateSchema } from '../../../src-shared/template';
import { DEFAULT_TEMPLATE, builtinThumbnail, findTemplate, listBuiltinTemplates } from '../../../src-main/templates/catalogue';
import { resourcesDir } from '../../../src-main/paths';

const REAL_RESOURCES = resourcesDir();
const SAVED_RESOURCES = process.env.MOUTHPIECE_RESOURCES;

/** Point the catalogue at a resources folder holding only the given built-ins' JSON, and what `extra` writes. */
function resourcesWith(ids: string[], extra: (dir: string) => void = () => {}): string {
  const root = mkdtempSync(join(tmpdir(), 'mp-res-'));
  const dir = join(root, 'templates');
  mkdirSync(dir);
  for (const id of ids) copyFileSync(join(REAL_RESOURCES, 'templates', `${id}.json`), join(dir, `${id}.json`));
  extra(dir);
  process.env.MOUTHPIECE_RESOURCES = root;
  return dir;
}

afterEach(() => {
  if (SAVED_RESOURCES === undefined) delete process.env.MOUTHPIECE_RESOURCES;
  else process.env.MOUTHPIECE_RESOURCES = SAVED_RESOURCES;
});

describe('the built-in templates', () => {
  test('every file in resources/templates passes the template schema as it is written', () => {
    const dir = join(REAL_RESOURCES, 'templates');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
    expect(files.length).toBe(listBuiltinTemplates().length);
    for (const file of files) {
      const result = templateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      expect(result.error, file).toBeUndefined();
    }
  });

  test('there are at least six, with at least two per format, including the ids older projects use', () => {
    const templates = listBuiltinTemplates();
    expect(templates.length).toBeGreaterThanOrEqual(6);
    for (const format of FORMATS) expect(templates.filter((t) => t.format === format).length, format).toBeGreaterThanOrEqual(2);
    for (const [format, id] of Object.entries(DEFAULT_TEMPLATE)) expect(findTemplate(id).format).toBe(format);
  });

  test('they look different from each other and between them use every look a template can have', () => {
    const templates = listBuiltinTemplates();
    const looks = templates.map((t) => JSON.stringify([t.format, t.background, t.avatar.layout, t.avatar.background, t.captions.style]));
    expect(new Set(looks).size).toBe(templates.length);
    expect(new Set(templates.map((t) => t.avatar.background))).toEqual(new Set(['cutout', 'keep']));
    expect(new Set(templates.map((t) => t.transition))).toEqual(new Set(['cut', 'fade']));
    expect(new Set(templates.map((t) => t.avatar.layout))).toEqual(new Set(['full', 'left', 'right', 'bubble']));
    for (const style of CAPTION_STYLES.filter((s) => s !== 'none')) expect(templates.some((t) => t.captions.style === style), style).toBe(true);
  });

  test('their backgrounds are colours or gradients, never files that might not ship', () => {
    for (const t of listBuiltinTemplates()) expect(['colour', 'gradient'], t.id).toContain(t.background.type);
  });

  test('an unknown id is refused as bad input, listing the ids that exist', () => {
    expect(() => findTemplate('nope')).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/"nope".*studio.*/) }));
  });

  test("a template file whose id is not its file's name is refused, naming the file", () => {
    const dir = resourcesWith(['studio'], (d) => writeFileSync(join(d, 'other.json'), readFileSync(join(d, 'studio.json'))));
    expect(() => listBuiltinTemplates()).toThrow(join(dir, 'other.json'));
  });

  test('a thumbnail is the JPEG beside the template as a data: URL, or null until one is made', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    resourcesWith(['studio', 'shorts'], (d) => writeFileSync(join(d, 'studio.jpg'), jpeg));
    expect(builtinThumbnail('studio')).toBe(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
    expect(builtinThumbnail('shorts')).toBeNull();
  });
});
