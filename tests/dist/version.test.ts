import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { appInfo } from '../../src-main/app';
import { ffmpegPath } from '../../src-main/media/ffmpeg';

const work = mkdtempSync(join(tmpdir(), 'mouthpiece-version-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('app:info names the version, the data folder, the ffmpeg in use with its version, and why each missing provider is missing', async () => {
  const info = await appInfo(join(work, 'home'));
  expect(info.version).toBe(packageJson.version);
  expect(info.dataDir).toBe(join(work, 'home'));
  expect(info.ffmpeg).toMatch(new RegExp(`^\\S+ \\(${ffmpegPath().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
  expect(info.ffmpeg.startsWith('unavailable')).toBe(false);
  expect(info.providers.at(-1)).toEqual({ name: 'cpu', available: true });
  for (const p of info.providers.filter((p) => !p.available)) expect(p.reason, p.name).toMatch(/\w{3,}/);
});

test('app:info says plainly when the configured ffmpeg cannot start', async () => {
  const previous = process.env.MOUTHPIECE_FFMPEG;
  process.env.MOUTHPIECE_FFMPEG = join(work, 'no-ffmpeg');
  try {
    expect((await appInfo(work)).ffmpeg).toBe(`unavailable (${join(work, 'no-ffmpeg')})`);
  } finally {
    if (previous === undefined) delete process.env.MOUTHPIECE_FFMPEG;
    else process.env.MOUTHPIECE_FFMPEG = previous;
  }
});

test('--version prints the version, ffmpeg, the execution providers and the data folder, without creating it', () => {
  const home = join(work, 'cli-home');
  const run = spawnSync('npx', ['tsx', 'src-main/cli.ts', '--version'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', env: { ...process.env, MOUTHPIECE_HOME: home } });
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines[0]).toBe(`Mouthpiece ${packageJson.version}`);
  expect(lines[1]).toMatch(/^ffmpeg: \S+ \(/);
  expect(lines[1].endsWith(` (${ffmpegPath()})`)).toBe(true);
  expect(lines).toContain('onnxruntime cpu: available');
  expect(lines.at(-1)).toBe(`data: ${home}`);
  expect(existsSync(home)).toBe(false);
});
