import { createHash, createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';

/** What a monthly grant promises; signed by the cloud (src-cloud/crypto.ts writes the same fields). */
const grantSchema = z.object({
  v: z.literal(1),
  kid: z.string(),
  grantId: z.string(),
  accountId: z.string(),
  email: z.string(),
  plan: z.enum(['free', 'premium']),
  credits: z.number().int().nonnegative(),
  spent: z.number().int().nonnegative(),
  maxQuality: z.enum(['1080p', '2160p']),
  watermark: z.boolean(),
  period: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
});
export type Grant = z.infer<typeof grantSchema>;

/** The key id the cloud names its key by: the first 16 hex digits of the SPKI's SHA-256. */
export const keyId = (spkiBase64: string) => createHash('sha256').update(Buffer.from(spkiBase64, 'base64')).digest('hex').slice(0, 16);

/**
 * Check a grant offline: signed by `spkiBase64` (Ed25519, SubjectPublicKeyInfo DER in base64),
 * well formed, and not expired at `now`. A grant that fails is never used; the reason says why.
 */
export function verifyGrant(token: string, spkiBase64: string, now: Date): { ok: true; grant: Grant } | { ok: false; reason: string } {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return { ok: false, reason: 'grant is not in the signed form payload.signature' };
  let valid = false;
  try {
    const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
    valid = verify(null, Buffer.from(body, 'base64url'), key, Buffer.from(signature, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'grant signature does not match the cloud key: it was altered or signed by another server' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'grant payload is not JSON' };
  }
  const result = grantSchema.safeParse(parsed);
  if (!result.success) return { ok: false, reason: `grant payload is malformed: ${result.error.issues[0].path.join('.')}` };
  if (result.data.kid !== keyId(spkiBase64)) return { ok: false, reason: `grant names key ${result.data.kid}, not the pinned key ${keyId(spkiBase64)}` };
  if (Date.parse(result.data.expiresAt) <= now.getTime()) return { ok: false, reason: `grant for ${result.data.period} expired at ${result.data.expiresAt}; it renews on the next sync` };
  return { ok: true, grant: result.data };
}
