import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, scrypt, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { CloudDb } from './db';

// scrypt N=2^15, r=8, p=1 (OWASP's minimum is N=2^17 with p=1 or this with more memory; 32 MiB
// keeps a sign-in near 50 ms on a small server). The parameters live in the hash so they can grow.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, 32, { ...params, maxmem: SCRYPT.maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash to compare against when the email is unknown, so that a miss costs as long as a hit. */
export const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export const newToken = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;
/** Tokens are stored hashed: a copy of the database alone cannot act for anyone. */
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');
export const newId = () => randomUUID();

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER, base64: what GET /v1/keys serves and the desktop pins. */
  publicSpki: string;
}

function keyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { kid: createHash('sha256').update(spki).digest('hex').slice(0, 16), privateKey, publicSpki: spki.toString('base64') };
}

/**
 * The Ed25519 key grants are signed with: `pem` when given (CLOUD_SIGNING_KEY), else the one kept
 * in the database, made on first start, so every server on one database signs alike.
 */
export async function loadSigningKey(db: CloudDb, pem?: string): Promise<SigningKey> {
  if (pem) return keyFromPem(pem);
  const row = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').executeTakeFirst();
  if (row) return keyFromPem(row.private_pem);
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = keyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  await db
    .insertInto('signing_keys')
    .values({ kid: key.kid, private_pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), public_spki: key.publicSpki, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.doNothing())
    .execute();
  // Two servers starting at once on one Postgres: the first key written wins for both.
  const first = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').executeTakeFirstOrThrow();
  return keyFromPem(first.private_pem);
}

/** What a grant promises, signed; the desktop reads the same fields (src-main/account/grant.ts). */
export interface GrantPayload {
  v: 1;
  kid: string;
  grantId: string;
  accountId: string;
  email: string;
  plan: 'free' | 'premium';
  credits: number;
  /** Credits spent from this grant, by every device, when it was signed. */
  spent: number;
  maxQuality: '1080p' | '2160p';
  watermark: boolean;
  period: string;
  issuedAt: string;
  expiresAt: string;
}

/** `base64url(payload JSON) . base64url(Ed25519 signature over those bytes)`: no canonical JSON needed. */
export function signGrant(payload: GrantPayload, key: SigningKey): string {
  const body = Buffer.from(JSON.stringify(payload));
  return `${body.toString('base64url')}.${sign(null, body, key.privateKey).toString('base64url')}`;
}
