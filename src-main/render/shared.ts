import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { VoiceRef } from '../voices/catalogue';
import { digestFile, fileDigest, sha256Of } from './stage';

/** Bumped when what an entry holds changes shape, so a folder of older entries is never misread. */
const ENTRY_FORMAT = 1;
const MANIFEST = 'entry.json';

interface Manifest<T> {
  format: typeof ENTRY_FORMAT;
  kind: string;
  key: string;
  value: T;
  files: { name: string; size: number; sha256: string }[];
}

const identities = new Map<string, Promise<string>>();

/**
 * What a file is, for an entry's key: its size and fileDigest. Remembered per path, size and
 * time, so a batch's worker reads a voice model once.
 */
export async function fileIdentity(path: string): Promise<string> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) return `missing:${path}`;
  const memo = `${path}\n${found.size}\n${found.mtimeMs}`;
  let known = identities.get(memo);
  if (!known) {
    known = fileDigest(path).then((digest) => `${found.size}:${digest}`);
    identities.set(memo, known);
    known.catch(() => identities.delete(memo));
  }
  return known;
}

/** Everything that decides what a voice says: the engine's data or the model and its config. */
export async function voiceIdentity(voice: VoiceRef): Promise<unknown> {
  if (voice.engine === 'piper') {
    return { ...voice, model: await fileIdentity(voice.modelPath), config: await fileIdentity(`${voice.modelPath}.json`) };
  }
  const data = createRequire(import.meta.url).resolve('@echogarden/espeak-ng-emscripten/espeak-ng.data');
  return { ...voice, data: await fileIdentity(data) };
}

/**
 * The work the renders of one batch share, kept in the batch's shared folder by content: each
 * entry is a folder named by the sha256 of everything it was made from, holding its files and a
 * manifest (its plain data, each file's size and sha256, and the manifest's own checksum). An
 * entry is made in a folder of its own and renamed into place whole, so two renders making the
 * same one at once both end with a whole entry; one whose manifest or files do not check out is
 * made again and replaces it.
 */
export class SharedWork {
  /** The entries this render took from the folder instead of making them, by label. */
  readonly reused: string[] = [];

  constructor(readonly dir: string) {}

  /**
   * The entry of `kind` made from `key`: the folder's when it is whole, otherwise made now by
   * `make`, which writes its files into the (empty) folder it is given and returns plain data that
   * names them relative to it. Answers that data and the entry's folder; `label` names the piece
   * in `reused`.
   */
  async entry<T>(label: string, kind: string, key: unknown, make: (dir: string) => Promise<T>): Promise<{ value: T; dir: string }> {
    const keyDigest = sha256Of(JSON.stringify({ format: ENTRY_FORMAT, kind, key }));
    const final = join(this.dir, `${kind}-${keyDigest}`);
    const found = await readEntry<T>(final, kind, keyDigest);
    if (found) {
      this.reused.push(label);
      return { value: found.value, dir: final };
    }
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${kind}-${keyDigest}-${randomUUID()}`);
    await mkdir(temp);
    try {
      const value = await make(temp);
      const files = [];
      for (const name of (await readdir(temp)).sort()) files.push({ name, ...(await digestFile(join(temp, name))) });
      const body = JSON.stringify({ format: ENTRY_FORMAT, kind, key: keyDigest, value, files } satisfies Manifest<T>);
      await writeFile(join(temp, MANIFEST), JSON.stringify({ sha256: sha256Of(body), body }));
      await publish(temp, final, async () => (await readEntry<T>(final, kind, keyDigest)) !== undefined);
      return { value, dir: final };
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * One file of the batch's, copied to `path`: made once by `make` (which writes the path it is
   * given) and reused by the other rows.
   */
  async file(label: string, kind: string, key: unknown, path: string, make: (path: string) => Promise<void>): Promise<void> {
    const { dir } = await this.entry(label, kind, key, async (dir) => {
      await make(join(dir, 'file'));
      return null;
    });
    await copyOut(join(dir, 'file'), path);
  }
}

/** A copy of an entry's file where a render wants it (a clone where the file system can). */
export async function copyOut(from: string, to: string): Promise<void> {
  await copyFile(from, `${to}.tmp`, constants.COPYFILE_FICLONE);
  await rename(`${to}.tmp`, to);
}

/**
 * Move a finished entry into place. Another render may have put the same entry there first: a
 * whole one stays (ours goes), a damaged one is moved aside and ours replaces it.
 */
async function publish(temp: string, final: string, whole: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(temp, final);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EACCES') throw error;
      if (await whole()) return;
      if (attempt >= 3) throw error;
      const aside = `${final}.damaged-${randomUUID()}`;
      // Another render may be moving it aside at the same moment: whichever does, the next rename succeeds.
      await rename(final, aside).then(
        () => rm(aside, { recursive: true, force: true }),
        () => undefined,
      );
    }
  }
}

/** An entry when every part of it holds: the manifest whole, of this key, each file of its size and sha256. */
async function readEntry<T>(dir: string, kind: string, key: string): Promise<{ value: T } | undefined> {
  let manifest: Manifest<T>;
  try {
    const { sha256, body } = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as { sha256: string; body: string };
    if (typeof body !== 'string' || sha256Of(body) !== sha256) return undefined;
    manifest = JSON.parse(body) as Manifest<T>;
  } catch {
    return undefined;
  }
  if (manifest.format !== ENTRY_FORMAT || manifest.kind !== kind || manifest.key !== key) return undefined;
  for (const file of manifest.files) {
    const path = join(dir, file.name);
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile() || found.size !== file.size) return undefined;
    if ((await digestFile(path)).sha256 !== file.sha256) return undefined;
  }
  return { value: manifest.value };
}
