// `npm run dist:check`: builds the app, packages it as electron-builder's Linux `dir` target with
// a stand-in for the Electron binary (which cannot be downloaded here) and checks the package.
// tests/dist/package.test.ts runs the same steps, also against configurations with a rule removed.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFile, getRawHeader } from '@electron/asar';
import type { Configuration } from 'electron-builder';

const require = createRequire(import.meta.url);
export const root = resolve(import.meta.dirname, '../..');

/** A fresh copy of electron-builder.config.cjs, safe to change. */
export function loadConfig(): Configuration {
  return structuredClone(require(join(root, 'electron-builder.config.cjs')) as Configuration);
}

/** electron-vite's build into out/: what the package is made from. */
export function buildApp(): void {
  const run = spawnSync('npx', ['electron-vite', 'build', '--config', 'electron.config.ts'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`electron-vite build failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
}

/**
 * Package out/ with `config` as the Linux x64 `dir` target under outDir; returns the app folder.
 * The Electron binary is a stand-in script (electron-builder copies the folder and renames its
 * `electron`), and native modules are not rebuilt: that needs Electron's headers from the internet.
 */
export async function packageDir(config: Configuration, outDir: string): Promise<string> {
  const standIn = join(outDir, 'electron-stand-in');
  mkdirSync(standIn, { recursive: true });
  writeFileSync(join(standIn, 'electron'), '#!/bin/sh\necho "stand-in for the Electron binary (npm run dist:check)" >&2\nexit 1\n');
  chmodSync(join(standIn, 'electron'), 0o755);
  const { build, Platform, Arch } = await import('electron-builder');
  await build({
    projectDir: root,
    targets: Platform.LINUX.createTarget('dir', Arch.x64),
    publish: 'never',
    config: {
      ...config,
      electronDist: standIn,
      electronVersion: (require('electron/package.json') as { version: string }).version,
      npmRebuild: false,
      directories: { ...config.directories, output: join(outDir, 'out') },
    },
  });
  return join(outDir, 'out', 'linux-unpacked');
}

/** What the package must hold unpacked, as the running app will look for it. */
function requiredUnpacked(): string[] {
  const fromRoot = (path: string) => relative(root, path).split(sep).join('/');
  const ortBin = join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
  return [
    fromRoot((require('@ffmpeg-installer/ffmpeg') as { path: string }).path),
    fromRoot((require('@ffprobe-installer/ffprobe') as { path: string }).path),
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    ...readdirSync(ortBin).map((f) => `node_modules/onnxruntime-node/bin/napi-v6/linux/x64/${f}`),
  ];
}

/** What resourcesDir() reads, relative to it. */
const REQUIRED_RESOURCES = ['templates/studio.json', 'fonts/fonts.conf', 'fonts/Inter-Bold.ttf', 'models/catalogue.json', 'examples/welcome.json', 'licenses/Inter-OFL.txt'];

/** Code the OS loads or runs: inside an asar it cannot be dlopen'ed or spawned. */
const NATIVE = /\.(node|so(\.\d+)*|dylib|dll|exe)$/;

/** An executable that is a program, not a script Node reads (packages leave their .js bins executable). */
const isProgram = (e: Entry) => e.executable && !/\.(c|m)?js$/.test(e.path);

interface Entry {
  path: string;
  unpacked: boolean;
  executable: boolean;
}

function asarEntries(archive: string): Entry[] {
  const entries: Entry[] = [];
  type Node = { files?: Record<string, Node>; unpacked?: boolean; executable?: boolean; link?: string };
  const walk = (node: Node, path: string) => {
    if (node.files) for (const [name, child] of Object.entries(node.files)) walk(child, path ? `${path}/${name}` : name);
    else if (!node.link) entries.push({ path, unpacked: node.unpacked === true, executable: node.executable === true });
  };
  walk(getRawHeader(archive).header as Node, '');
  return entries;
}

function walkFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walkFiles(join(dir, d.name), base) : [relative(base, join(dir, d.name)).split(sep).join('/')],
  );
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  return stat.isDirectory() ? readdirSync(path).reduce((sum, f) => sum + sizeOf(join(path, f)), 0) : stat.size;
}

export interface PackageReport {
  /** Each thing wrong with the package, naming the file and the rule to fix. */
  problems: string[];
  sizes: { total: number; asar: number; unpacked: number; resources: number };
}

/** Inspect a Linux x64 `dir` package made by packageDir. */
export function checkPackage(appDir: string): PackageReport {
  const problems: string[] = [];
  const resourcesPath = join(appDir, 'resources');
  const archive = join(resourcesPath, 'app.asar');
  const unpackedDir = join(resourcesPath, 'app.asar.unpacked');
  if (!existsSync(archive)) return { problems: [`${archive} is missing: electron-builder made no asar (is "asar" false?)`], sizes: { total: 0, asar: 0, unpacked: 0, resources: 0 } };
  const entries = asarEntries(archive);
  const byPath = new Map(entries.map((e) => [e.path, e]));

  for (const need of ['package.json', 'out/main/index.js', 'out/main/renderWorker.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
    if (!byPath.has(need)) problems.push(`app.asar lacks ${need}: the "files" patterns must include out/** and package.json`);
  }
  if (byPath.has('package.json')) {
    const main = (JSON.parse(extractFile(archive, 'package.json').toString('utf8')) as { main?: string }).main?.replace(/^\.\//, '');
    if (!main || !byPath.has(main)) problems.push(`app.asar's package.json names "main": ${JSON.stringify(main)}, which the archive lacks: Electron would start nothing`);
  }
  for (const { path } of entries) {
    const top = path.split('/')[0];
    if (!['out', 'node_modules', 'package.json'].includes(top)) problems.push(`app.asar holds ${path}: only out/, node_modules/ and package.json belong in it; exclude ${top} in "files"`);
    else if (/\.(ts|tsx|mts|cts|map)$/.test(path)) problems.push(`app.asar holds ${path}: sources and source maps are not needed at run time; exclude them in "files"`);
  }
  for (const e of entries) {
    if ((NATIVE.test(e.path) || isProgram(e)) && !e.unpacked) {
      problems.push(`${e.path} is packed inside app.asar, where it cannot be loaded or run: add it to "asarUnpack"`);
    }
  }
  for (const need of requiredUnpacked()) {
    const entry = byPath.get(need);
    if (!entry) problems.push(`${need} is missing from the package: a "files" pattern excludes it`);
    else if (entry.unpacked && !existsSync(join(unpackedDir, need))) problems.push(`${need} is marked unpacked but absent from app.asar.unpacked`);
  }

  // Only linux/x64 is built: every other onnxruntime-node binary, and any Windows or macOS library, is dead weight.
  const everywhere = [...entries.map((e) => `app.asar/${e.path}`), ...walkFiles(appDir)];
  const foreign = everywhere.filter((p) => /onnxruntime-node\/bin\/napi-v\d+\/(?!linux\/x64\/)/.test(p) || /\.(dll|dylib|exe)$/.test(p));
  for (const path of foreign) problems.push(`${path} belongs to another system or architecture: exclude it in linux "files"`);

  // index.ts points resourcesDir() at process.resourcesPath/resources when packaged.
  const appResources = join(resourcesPath, 'resources');
  for (const need of REQUIRED_RESOURCES) {
    if (!existsSync(join(appResources, need))) problems.push(`resources/${need} is not in ${appResources}, where the packaged app's resourcesDir() reads: check "extraResources"`);
  }
  if (existsSync(join(appResources, 'icons'))) problems.push(`${join(appResources, 'icons')} ships the icon sources, which the app never reads: filter icons/** out of "extraResources"`);
  if (byPath.has('out/main/index.js') && !extractFile(archive, 'out/main/index.js').toString('utf8').includes('process.resourcesPath')) {
    problems.push(
      'out/main/index.js never reads process.resourcesPath, so a packaged app looks for its resources inside app.asar: ' +
        "src-main/index.ts must set process.env.MOUTHPIECE_RESOURCES to join(process.resourcesPath, 'resources') when app.isPackaged",
    );
  }

  return {
    problems,
    sizes: { total: sizeOf(appDir), asar: sizeOf(archive), unpacked: existsSync(unpackedDir) ? sizeOf(unpackedDir) : 0, resources: existsSync(appResources) ? sizeOf(appResources) : 0 },
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function formatSizes({ total, asar, unpacked, resources }: PackageReport['sizes']): string {
  return `package ${mb(total)} without Electron itself (app.asar ${mb(asar)}, app.asar.unpacked ${mb(unpacked)}, resources ${mb(resources)})`;
}

async function main(): Promise<number> {
  const outDir = join(root, 'dist', 'check');
  rmSync(outDir, { recursive: true, force: true });
  buildApp();
  const appDir = await packageDir(loadConfig(), outDir);
  const report = checkPackage(appDir);
  console.log(`${appDir}: ${formatSizes(report.sizes)}`);
  if (report.problems.length === 0) {
    console.log('dist:check passed');
    return 0;
  }
  for (const problem of report.problems) console.error(`dist:check: ${problem}`);
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
