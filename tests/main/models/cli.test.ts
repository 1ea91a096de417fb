import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { openDatabase } from '../../../src-main/db/connection';
import { exitCodeOf, runModelsCli } from '../../../src-main/models/cli';
import { sharedFile } from '../../support/shared';

const root = resolve(import.meta.dirname, '../../..');
let home: string;
let lines: string[];
const output = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
const run = (...argv: string[]) => runModelsCli(argv, { home, output });

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'mp-models-cli-'));
  lines = [];
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('npm run models', () => {
  it('imports, activates (asking to acknowledge a non-commercial licence), lists and measures a model', async () => {
    expect(await run('import', sharedFile('models/sinet-portrait/SINet_Softmax.onnx'), '--licence', 'research only')).toBe(0);
    const id = /as (\S+) \(portrait segmentation/.exec(lines[0]!)?.[1];
    expect(id).toMatch(/^sinet-softmax-[0-9a-f]{8}$/);

    const refused = await run('activate', id!).catch((e: unknown) => e);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(exitCodeOf(refused)).toBe(2);
    expect(await run('activate', id!, '--acknowledge-licence')).toBe(0);
    expect(lines.at(-1)).toBe('SINet_Softmax is now the active portrait segmentation.');

    lines = [];
    expect(await run('list')).toBe(0);
    expect(lines[0]).toMatch(new RegExp(`^portrait segmentation:\\n  ${id} +SINet_Softmax  439 kB  used 0x  \\(active, non-commercial\\)$`));
    expect(lines.some((l) => l.includes('piper-en-us-lessac-low') && l.includes('63.2 MB'))).toBe(true);

    lines = [];
    expect(await run('measure', id!)).toBe(0);
    expect(lines.find((l) => l.trimStart().startsWith('cpu'))).toMatch(/cpu +[\d.]+ ms per run \(median of 5\)/);

    lines = [];
    expect(await run('search', 'sinet', '--kind', 'segmentation')).toBe(0);
    expect(lines.at(-1)).toBe('1-1 of 1');

    const db = await openDatabase(join(home, 'mouthpiece.db'));
    expect(await db.selectFrom('models').select(['id', 'active']).execute()).toEqual([{ id, active: 1 }]);
    await db.destroy();
  });

  it('refuses bad input with exit status 2 and a message that says what to do', async () => {
    for (const [argv, message] of [
      [['fly'], /unknown command "fly"/],
      [['download'], /download needs an ID/],
      [['search', 'x', '--kind', 'hologram'], /--kind hologram: not a kind; use one of voice, face-detection/],
      [['activate', 'nothing-here'], /model "nothing-here" is not in the registry; see the installed models with: npm run models -- list/],
      [['download', 'nothing-here'], /model "nothing-here" is not in the catalogue/],
    ] as const) {
      const error = await run(...argv).catch((e: unknown) => e);
      expect((error as Error).message, argv.join(' ')).toMatch(message);
      expect(exitCodeOf(error), argv.join(' ')).toBe(2);
    }
  });

  it('runs as a program: a non-ONNX file exits with status 2 naming the file', async () => {
    const result = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), ['src-main/models/cli.ts', 'import', sharedFile('fixtures/PROVENANCE.md')], {
      cwd: root,
      env: { ...process.env, MOUTHPIECE_HOME: home },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mouthpiece models: PROVENANCE\.md: is not an ONNX model \(its name does not end in \.onnx either\)/);
  });
});
