import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

describe('module boundaries (HOUSE.md)', () => {
  it('only index.ts, ipc.ts and preload/ import electron, so every use case runs under plain Node', () => {
    const offenders = sources(join(root, 'src-main'))
      .filter((f) => imports(f).includes('electron'))
      .map((f) => relative(root, f))
      .filter((f) => !['src-main/index.ts', 'src-main/ipc.ts'].includes(f) && !f.startsWith('src-main/preload/'));
    expect(offenders).toEqual([]);
  });

  it('src-shared imports nothing from main, the renderer or Node', () => {
    const offenders = sources(join(root, 'src-shared')).flatMap((f) =>
      imports(f).filter((i) => i.startsWith('node:') || /src-(main|renderer)/.test(i)).map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the renderer reaches main only through the preload API, never by import', () => {
    const offenders = sources(join(root, 'src-renderer')).flatMap((f) =>
      imports(f).filter((i) => /src-main|^node:|^electron$/.test(i)).map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});
