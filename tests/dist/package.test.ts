import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Configuration } from 'electron-builder';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp, checkPackage, formatSizes, loadConfig, packageDir } from './check';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mouthpiece-dist-'));
  buildApp();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function problemsOf(name: string, config: Configuration): Promise<string[]> {
  const report = checkPackage(await packageDir(config, join(work, name)));
  console.log(`${name}: ${formatSizes(report.sizes)}`);
  return report.problems;
}

describe('the Linux package (dir target, stand-in Electron)', () => {
  test('holds the built app, unpacks native code and ffmpeg, ships resources and no other system’s binaries', async () => {
    expect(await problemsOf('as-configured', loadConfig())).toEqual([]);
  });

  test('fails the check, naming the files, when the exclusion of macOS onnxruntime binaries is removed', async () => {
    const config = loadConfig();
    const files = config.linux!.files as string[];
    const rule = files.find((f) => f.endsWith('/darwin/**'));
    expect(rule).toBeDefined();
    config.linux!.files = files.filter((f) => f !== rule);
    const problems = await problemsOf('darwin-kept', config);
    expect(problems).toContainEqual(expect.stringMatching(/onnxruntime-node\/bin\/napi-v6\/darwin\/arm64\/onnxruntime_binding\.node belongs to another system/));
  });

  test('fails the check, naming the library, when the unpack rule for onnxruntime’s binaries is removed', async () => {
    const config = loadConfig();
    const unpack = config.asarUnpack as string[];
    expect(unpack).toContain('node_modules/onnxruntime-node/bin/**');
    const problems = await problemsOf('ort-packed', { ...config, asarUnpack: unpack.filter((p) => p !== 'node_modules/onnxruntime-node/bin/**') });
    expect(problems).toContain(
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 is packed inside app.asar, where it cannot be loaded or run: add it to "asarUnpack"',
    );
    expect(problems).toContain(
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node is packed inside app.asar, where it cannot be loaded or run: add it to "asarUnpack"',
    );
  });
});
