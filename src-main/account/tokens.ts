import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Electron's safeStorage shape; under plain Node there is none and the file's mode protects it. */
export interface SecretBox {
  encrypt(plain: string): Buffer;
  decrypt(sealed: Buffer): string;
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
  const seal = (plain: string) => (box ? `enc:${box.encrypt(plain).toString('base64')}` : `plain:${plain}`);
  const unseal = (sealed: string) => {
    if (sealed.startsWith('enc:')) {
      if (!box) throw new Error(`${file}: tokens were encrypted by the app; sign in again here`);
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
      try {
        return JSON.parse(unseal(text.trim())) as Tokens;
      } catch {
        // An unreadable token file (other machine's keychain, truncated) means signing in again, not a crash.
        return null;
      }
    },
    async write(tokens) {
      await mkdir(dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, seal(JSON.stringify(tokens)), { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    },
    async clear() {
      await rm(file, { force: true });
    },
  };
}
