import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Electron's safeStorage shape; under plain Node there is none and the file's mode protects it. */
export interface SecretBox {
  encrypt(plain: string): Buffer;
  decrypt(sealed: Buffer): string;
}

/** One secret string in a file only the owner may read, encrypted with the box when there is one. */
export interface SealedFile {
  /** The secret, or null when the file is missing. Throws when it was sealed by a box not given here. */
  read(): Promise<string | null>;
  write(plain: string): Promise<void>;
  clear(): Promise<void>;
  seal(plain: string): string;
  unseal(sealed: string): string;
}

/**
 * A secret kept in `file` (mode 0600), encrypted with `box` when given (safeStorage in the app),
 * marked plain otherwise (the CLI under Node). `lockedHint` says what to do when the file was
 * encrypted by the app and is read without its box.
 */
export function sealedFile(file: string, box: SecretBox | undefined, lockedHint: string): SealedFile {
  const seal = (plain: string) => (box ? `enc:${box.encrypt(plain).toString('base64')}` : `plain:${plain}`);
  const unseal = (sealed: string) => {
    if (sealed.startsWith('enc:')) {
      if (!box) throw new Error(`${file}: ${lockedHint}`);
      return box.decrypt(Buffer.from(sealed.slice(4), 'base64'));
    }
    return sealed.replace(/^plain:/, '');
  };
  return {
    seal,
    unseal,
    async read() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      return unseal(text.trim());
    },
    async write(plain) {
      await mkdir(dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, seal(plain), { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    },
    async clear() {
      await rm(file, { force: true });
    },
  };
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: string;
}

export interface TokenStore {
  read(): Promise<Tokens | null>;
  write(tokens: Tokens): Promise<void>;
  clear(): Promise<void>;
  seal(plain: string): string;
  unseal(sealed: string): string;
}

/**
 * Tokens live in one file only the owner may read (mode 0600), encrypted with `box` when given
 * (safeStorage in the app), as plain JSON otherwise (the CLI under Node).
 */
export function fileTokenStore(file: string, box?: SecretBox): TokenStore {
  const sealed = sealedFile(file, box, 'tokens were encrypted by the app; sign in again here');
  return {
    seal: sealed.seal,
    unseal: sealed.unseal,
    async read() {
      let text: string | null;
      try {
        text = await sealed.read();
      } catch (error) {
        // A failing disk is the caller's to report; only the file's content is forgiven.
        if ((error as NodeJS.ErrnoException).syscall) throw error;
        // An unreadable token file (other machine's keychain, truncated) means signing in again, not a crash.
        return null;
      }
      if (text === null) return null;
      try {
        return JSON.parse(text) as Tokens;
      } catch {
        return null;
      }
    },
    write: (tokens) => sealed.write(JSON.stringify(tokens)),
    clear: sealed.clear,
  };
}
