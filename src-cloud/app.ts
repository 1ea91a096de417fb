import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import { DUMMY_HASH, hashPassword, loadSigningKey, newId, newToken, signGrant, tokenHash, verifyPassword, type SigningKey } from './crypto';
import type { CloudDb } from './db';
import { openApiDocument } from './openapi';
import { PLANS, period, type Plan } from './plans';
import { RateLimiter, type Limit } from './rateLimit';

export interface Limits {
  /** Sign-in and register attempts from one address. */
  authPerIp: Limit;
  /** Sign-in and register attempts naming one email. */
  authPerAccount: Limit;
  /** Every request from one address. */
  perIp: Limit;
  /** Every authenticated request of one account. */
  perAccount: Limit;
}

export const DEFAULT_LIMITS: Limits = {
  authPerIp: { max: 20, windowMs: 60_000 },
  authPerAccount: { max: 5, windowMs: 60_000 },
  perIp: { max: 600, windowMs: 60_000 },
  perAccount: { max: 300, windowMs: 60_000 },
};

export interface CloudOptions {
  db: CloudDb;
  /** PEM of an Ed25519 private key; by default the server keeps its own in the database. */
  signingKeyPem?: string;
  accessTtlMs?: number;
  refreshTtlMs?: number;
  limits?: Partial<Limits>;
  /** Take the client address from X-Forwarded-For (only behind a proxy you run). */
  trustProxy?: boolean;
  now?: () => Date;
}

export interface Cloud {
  server: Server;
  key: SigningKey;
  /** Listen on host:port (0 for any free port); resolves the port. */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/** An answer other than 2xx, as `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MAX_BODY = 1024 * 1024;
const AUTHED_ROUTES: [string, RegExp][] = [
  ['DELETE', /^\/v1\/sessions\/current$/],
  ['GET', /^\/v1\/account$/],
  ['GET', /^\/v1\/devices$/],
  ['DELETE', /^\/v1\/devices\/[^/]+$/],
  ['GET', /^\/v1\/grants\/current$/],
  ['POST', /^\/v1\/spends$/],
];
const MAX_SPENDS = 1000;

const emailSchema = z.string().trim().toLowerCase().pipe(z.email({ error: 'email: not an email address; write it as name@example.com' }));
const passwordSchema = z
  .string({ error: 'password: required' })
  .min(8, { error: 'password: at least 8 characters' })
  .max(200, { error: 'password: at most 200 characters' });
const schemas = {
  register: z.object({ email: emailSchema, password: passwordSchema }).strict(),
  signIn: z
    .object({
      email: emailSchema,
      password: z.string({ error: 'password: required' }).max(200),
      deviceName: z.string().trim().min(1).max(100).default('Desktop'),
      deviceId: z.string().max(100).optional(),
    })
    .strict(),
  refresh: z.object({ refreshToken: z.string({ error: 'refreshToken: required' }).min(1).max(200) }).strict(),
  spends: z
    .object({
      spends: z
        .array(
          z
            .object({
              id: z.string().min(8).max(100),
              grantId: z.string().min(1).max(100),
              credits: z.number().int().positive().max(10_000),
              spentAt: z.iso.datetime(),
            })
            .strict(),
        )
        .max(MAX_SPENDS, { error: `spends: at most ${MAX_SPENDS} in one request; send the rest in the next` }),
    })
    .strict(),
};

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join('.');
  const message = !path || issue.message.startsWith(`${String(issue.path[0])}:`) ? issue.message : `${path}: ${issue.message}`;
  throw new HttpError(400, 'BAD_REQUEST', message);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'TOO_LARGE', `request body over ${MAX_BODY} bytes; send fewer spends at once`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body: not valid JSON; send a JSON object with Content-Type: application/json');
  }
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

const isUniqueViolation = (error: unknown) => /UNIQUE|unique|duplicate key/.test((error as Error)?.message ?? '');

/** Change an account's plan; the month's grant follows at once. (Billing is outside this reference server.) */
export async function setPlan(db: CloudDb, email: string, plan: Plan, at = new Date()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const account = await trx.updateTable('accounts').set({ plan }).where('email', '=', email.toLowerCase()).returning('id').executeTakeFirst();
    if (!account) throw new Error(`no account with email ${email}`);
    await trx
      .updateTable('grants')
      .set({ plan, credits: sql`case when spent > ${PLANS[plan].credits} then spent else ${PLANS[plan].credits} end` as never, issued_at: at.toISOString() })
      .where('account_id', '=', account.id)
      .where('period', '=', period(at).period)
      .execute();
  });
}

export async function createCloud(options: CloudOptions): Promise<Cloud> {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const accessTtl = options.accessTtlMs ?? 15 * 60_000;
  const refreshTtl = options.refreshTtlMs ?? 30 * 24 * 3600_000;
  const key = await loadSigningKey(db, options.signingKeyPem);
  const limiter = new RateLimiter(() => now().getTime());

  function limit(key: string, which: Limit): void {
    const retryAfter = limiter.hit(key, which);
    if (retryAfter !== null) {
      throw new HttpError(429, 'RATE_LIMITED', `too many requests; try again in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
    }
  }

  async function audit(type: string, accountId: string | null, ip: string | null, data?: unknown, trx: CloudDb = db): Promise<void> {
    await trx
      .insertInto('audit')
      .values({ id: newId(), at: now().toISOString(), account_id: accountId, type, ip, data_json: data === undefined ? null : JSON.stringify(data) })
      .execute();
  }

  async function issueTokens(sessionId: string) {
    const at = now().getTime();
    const accessToken = newToken('mpa');
    const refreshToken = newToken('mpr');
    const accessExpiresAt = new Date(at + accessTtl).toISOString();
    // Earlier access tokens of this session stop working: only the newest pair is live.
    await db.deleteFrom('access_tokens').where('session_id', '=', sessionId).execute();
    await db.insertInto('access_tokens').values({ token_hash: tokenHash(accessToken), session_id: sessionId, expires_at: accessExpiresAt }).execute();
    await db
      .insertInto('refresh_tokens')
      .values({ token_hash: tokenHash(refreshToken), session_id: sessionId, expires_at: new Date(at + refreshTtl).toISOString(), used_at: null })
      .execute();
    return { accessToken, refreshToken, accessExpiresAt };
  }

  async function revokeSession(sessionId: string, reason: string): Promise<void> {
    await db.updateTable('sessions').set({ revoked_at: now().toISOString(), revoked_reason: reason }).where('id', '=', sessionId).where('revoked_at', 'is', null).execute();
    await db.deleteFrom('access_tokens').where('session_id', '=', sessionId).execute();
    if (reason === 'signed out') {
      // A device signed out of its last session leaves the account's device list.
      const session = await db.selectFrom('sessions').select('device_id').where('id', '=', sessionId).executeTakeFirstOrThrow();
      const live = await db.selectFrom('sessions').select('id').where('device_id', '=', session.device_id).where('revoked_at', 'is', null).executeTakeFirst();
      if (!live) await db.updateTable('devices').set({ revoked_at: now().toISOString() }).where('id', '=', session.device_id).where('revoked_at', 'is', null).execute();
    }
  }

  async function authenticate(req: IncomingMessage) {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!token) throw new HttpError(401, 'UNAUTHORIZED', 'Authorization: send "Bearer <accessToken>" from POST /v1/sessions');
    const row = await db
      .selectFrom('access_tokens')
      .innerJoin('sessions', 'sessions.id', 'access_tokens.session_id')
      .select(['sessions.id as sessionId', 'sessions.account_id as accountId', 'sessions.device_id as deviceId', 'sessions.revoked_at', 'access_tokens.expires_at'])
      .where('access_tokens.token_hash', '=', tokenHash(token))
      .executeTakeFirst();
    if (!row || row.revoked_at) throw new HttpError(401, 'UNAUTHORIZED', 'access token unknown or revoked; sign in again');
    if (row.expires_at <= now().toISOString()) throw new HttpError(401, 'TOKEN_EXPIRED', 'access token expired; refresh it with POST /v1/sessions/refresh');
    limit(`acct:${row.accountId}`, limits.perAccount);
    return row;
  }

  /** This month's grant, made on first ask, signed with what was spent from it so far. */
  async function currentGrant(accountId: string) {
    const at = now();
    const { period: month, endsAt } = period(at);
    const account = await db.selectFrom('accounts').select(['email', 'plan']).where('id', '=', accountId).executeTakeFirstOrThrow();
    const find = () => db.selectFrom('grants').selectAll().where('account_id', '=', accountId).where('period', '=', month).executeTakeFirst();
    let grant = await find();
    if (!grant) {
      await db
        .insertInto('grants')
        .values({ id: newId(), account_id: accountId, period: month, plan: account.plan, credits: PLANS[account.plan].credits, spent: 0, issued_at: at.toISOString(), expires_at: endsAt })
        .onConflict((oc) => oc.columns(['account_id', 'period']).doNothing())
        .execute();
      grant = (await find())!;
      await audit('grant.issued', accountId, null, { grantId: grant.id, period: month, plan: grant.plan, credits: Number(grant.credits) });
    }
    const plan = PLANS[grant.plan];
    const token = signGrant(
      {
        v: 1,
        kid: key.kid,
        grantId: grant.id,
        accountId,
        email: account.email,
        plan: grant.plan,
        credits: Number(grant.credits),
        spent: Number(grant.spent),
        maxQuality: plan.maxQuality,
        watermark: plan.watermark,
        period: grant.period,
        issuedAt: at.toISOString(),
        expiresAt: grant.expires_at,
      },
      key,
    );
    return { grant: token, balance: { grantId: grant.id, credits: Number(grant.credits), spent: Number(grant.spent), remaining: Number(grant.credits) - Number(grant.spent) } };
  }

  type Spend = z.infer<typeof schemas.spends>['spends'][number];
  type SpendResult = { id: string; status: 'accepted' | 'refused'; duplicate: boolean; reason?: string };

  /**
   * Each spend once, by id; a spend is accepted only if its grant still covers it. The check and
   * the debit are one conditional UPDATE, atomic in SQLite and Postgres alike, so two devices
   * spending from one grant at once can never take it past its credits.
   */
  async function reconcile(accountId: string, deviceId: string, ip: string, spends: Spend[]): Promise<SpendResult[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await db.transaction().execute(async (trx) => {
          const results: SpendResult[] = [];
          for (const spend of spends) {
            const known = await trx.selectFrom('spends').select(['account_id', 'status']).where('id', '=', spend.id).executeTakeFirst();
            if (known) {
              results.push(
                known.account_id === accountId
                  ? { id: spend.id, status: known.status, duplicate: true }
                  : { id: spend.id, status: 'refused', duplicate: true, reason: 'spend id belongs to another account' },
              );
              continue;
            }
            const debited = await trx
              .updateTable('grants')
              .set({ spent: sql`spent + ${spend.credits}` as never })
              .where('id', '=', spend.grantId)
              .where('account_id', '=', accountId)
              .where(sql<boolean>`spent + ${spend.credits} <= credits`)
              .executeTakeFirst();
            if (Number(debited.numUpdatedRows) === 1) {
              results.push({ id: spend.id, status: 'accepted', duplicate: false });
            } else {
              const grant = await trx.selectFrom('grants').select(['credits', 'spent']).where('id', '=', spend.grantId).where('account_id', '=', accountId).executeTakeFirst();
              if (!grant) {
                // Not stored: an unknown grant is the client's mistake, not a spend to remember.
                results.push({ id: spend.id, status: 'refused', duplicate: false, reason: `grantId ${spend.grantId}: no such grant for this account` });
                continue;
              }
              results.push({
                id: spend.id,
                status: 'refused',
                duplicate: false,
                reason: `grant ${spend.grantId} has ${Number(grant.credits) - Number(grant.spent)} credits left, the spend needs ${spend.credits}`,
              });
            }
            const last = results[results.length - 1];
            await trx
              .insertInto('spends')
              .values({ id: spend.id, account_id: accountId, grant_id: spend.grantId, device_id: deviceId, credits: spend.credits, status: last.status, spent_at: spend.spentAt, received_at: now().toISOString() })
              .execute();
          }
          const count = (status: string) => results.filter((r) => r.status === status && !r.duplicate).length;
          await audit('spends.reconciled', accountId, ip, { deviceId, accepted: count('accepted'), refused: count('refused'), duplicates: results.filter((r) => r.duplicate).length }, trx);
          return results;
        });
      } catch (error) {
        // The same spend sent by two requests at once on Postgres: the loser sees it stored on retry.
        if (!isUniqueViolation(error) || attempt >= 2) throw error;
      }
    }
  }

  async function devicesOf(accountId: string, currentDevice: string) {
    const rows = await db.selectFrom('devices').selectAll().where('account_id', '=', accountId).where('revoked_at', 'is', null).orderBy('created_at').execute();
    return rows.map((d) => ({ id: d.id, name: d.name, createdAt: d.created_at, lastSeenAt: d.last_seen_at, current: d.id === currentDevice }));
  }

  async function route(req: IncomingMessage, res: ServerResponse, ip: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (method === 'GET' && path === '/health') return send(res, 200, { ok: true });
    if (method === 'GET' && path === '/openapi.json') return send(res, 200, openApiDocument);
    if (method === 'GET' && path === '/v1/keys') return send(res, 200, { keys: [{ kid: key.kid, alg: 'Ed25519', spki: key.publicSpki }] });

    if (method === 'POST' && path === '/v1/accounts') {
      limit(`auth-ip:${ip}`, limits.authPerIp);
      const body = parse(schemas.register, await readJson(req));
      limit(`auth-email:${body.email}`, limits.authPerAccount);
      const id = newId();
      try {
        await db.insertInto('accounts').values({ id, email: body.email, password_hash: await hashPassword(body.password), plan: 'free', created_at: now().toISOString() }).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new HttpError(409, 'EMAIL_TAKEN', `email: ${body.email} already has an account; sign in instead`);
        throw error;
      }
      await audit('account.registered', id, ip);
      return send(res, 201, { id, email: body.email, plan: 'free' });
    }

    if (method === 'POST' && path === '/v1/sessions') {
      limit(`auth-ip:${ip}`, limits.authPerIp);
      const body = parse(schemas.signIn, await readJson(req));
      limit(`auth-email:${body.email}`, limits.authPerAccount);
      const account = await db.selectFrom('accounts').selectAll().where('email', '=', body.email).executeTakeFirst();
      const ok = await verifyPassword(body.password, account?.password_hash ?? DUMMY_HASH);
      if (!account || !ok) {
        await audit('signin.failed', account?.id ?? null, ip, { email: body.email });
        throw new HttpError(401, 'INVALID_CREDENTIALS', 'email or password is wrong; check both, or register first');
      }
      const at = now().toISOString();
      let deviceId = body.deviceId;
      const device = deviceId
        ? await db.selectFrom('devices').select('id').where('id', '=', deviceId).where('account_id', '=', account.id).where('revoked_at', 'is', null).executeTakeFirst()
        : undefined;
      if (device) {
        await db.updateTable('devices').set({ name: body.deviceName, last_seen_at: at }).where('id', '=', device.id).execute();
      } else {
        deviceId = newId();
        await db.insertInto('devices').values({ id: deviceId, account_id: account.id, name: body.deviceName, created_at: at, last_seen_at: at, revoked_at: null }).execute();
      }
      const sessionId = newId();
      await db.insertInto('sessions').values({ id: sessionId, account_id: account.id, device_id: deviceId!, created_at: at, revoked_at: null, revoked_reason: null }).execute();
      const tokens = await issueTokens(sessionId);
      await audit('signin.succeeded', account.id, ip, { deviceId });
      return send(res, 201, { ...tokens, deviceId, account: { id: account.id, email: account.email, plan: account.plan } });
    }

    if (method === 'POST' && path === '/v1/sessions/refresh') {
      limit(`ip:${ip}`, limits.perIp);
      const body = parse(schemas.refresh, await readJson(req));
      const row = await db
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .select(['refresh_tokens.token_hash', 'refresh_tokens.used_at', 'refresh_tokens.expires_at', 'sessions.id as sessionId', 'sessions.account_id as accountId', 'sessions.revoked_at'])
        .where('refresh_tokens.token_hash', '=', tokenHash(body.refreshToken))
        .executeTakeFirst();
      if (!row) throw new HttpError(401, 'INVALID_REFRESH', 'refresh token unknown; sign in again');
      if (row.revoked_at) throw new HttpError(401, 'SESSION_REVOKED', 'this sign-in was revoked; sign in again');
      if (row.expires_at <= now().toISOString()) throw new HttpError(401, 'INVALID_REFRESH', 'refresh token expired; sign in again');
      // Marking it used is conditional, so two refreshes racing with one token count as reuse.
      const marked = await db.updateTable('refresh_tokens').set({ used_at: now().toISOString() }).where('token_hash', '=', row.token_hash).where('used_at', 'is', null).executeTakeFirst();
      if (row.used_at || Number(marked.numUpdatedRows) !== 1) {
        await revokeSession(row.sessionId, 'refresh token reused');
        await audit('refresh.reused', row.accountId, ip, { sessionId: row.sessionId });
        throw new HttpError(401, 'REFRESH_REUSED', 'refresh token already used: this sign-in is revoked to be safe; sign in again');
      }
      const tokens = await issueTokens(row.sessionId);
      return send(res, 200, tokens);
    }

    if (method === 'POST' && path === '/v1/sessions/revoke') {
      limit(`ip:${ip}`, limits.perIp);
      const body = parse(schemas.refresh, await readJson(req));
      const row = await db.selectFrom('refresh_tokens').innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id').select(['sessions.id', 'sessions.account_id']).where('token_hash', '=', tokenHash(body.refreshToken)).executeTakeFirst();
      if (row) {
        await revokeSession(row.id, 'signed out');
        await audit('session.revoked', row.account_id, ip, { sessionId: row.id });
      }
      // Unknown tokens answer the same, so this cannot be used to test tokens.
      return send(res, 204);
    }

    limit(`ip:${ip}`, limits.perIp);
    if (!AUTHED_ROUTES.some(([m, pattern]) => m === method && pattern.test(path))) {
      throw new HttpError(404, 'NOT_FOUND', `${method} ${path}: no such route; see GET /openapi.json`);
    }
    const auth = await authenticate(req);

    if (method === 'DELETE' && path === '/v1/sessions/current') {
      await revokeSession(auth.sessionId, 'signed out');
      await audit('session.revoked', auth.accountId, ip, { sessionId: auth.sessionId });
      return send(res, 204);
    }

    if (method === 'GET' && path === '/v1/account') {
      const account = await db.selectFrom('accounts').select(['id', 'email', 'plan']).where('id', '=', auth.accountId).executeTakeFirstOrThrow();
      await db.updateTable('devices').set({ last_seen_at: now().toISOString() }).where('id', '=', auth.deviceId).execute();
      return send(res, 200, { ...account, deviceId: auth.deviceId, devices: await devicesOf(auth.accountId, auth.deviceId), ...(await currentGrant(auth.accountId)) });
    }

    if (method === 'GET' && path === '/v1/devices') return send(res, 200, { devices: await devicesOf(auth.accountId, auth.deviceId) });

    const deviceMatch = /^\/v1\/devices\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && deviceMatch) {
      const id = decodeURIComponent(deviceMatch[1]);
      const done = await db.updateTable('devices').set({ revoked_at: now().toISOString() }).where('id', '=', id).where('account_id', '=', auth.accountId).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1) throw new HttpError(404, 'NOT_FOUND', `device ${id}: not a signed-in device of this account`);
      for (const s of await db.selectFrom('sessions').select('id').where('device_id', '=', id).where('revoked_at', 'is', null).execute()) await revokeSession(s.id, 'device removed');
      await audit('device.revoked', auth.accountId, ip, { deviceId: id });
      return send(res, 204);
    }

    if (method === 'GET' && path === '/v1/grants/current') return send(res, 200, await currentGrant(auth.accountId));

    if (method === 'POST' && path === '/v1/spends') {
      const body = parse(schemas.spends, await readJson(req));
      const results = await reconcile(auth.accountId, auth.deviceId, ip, body.spends);
      return send(res, 200, { results, ...(await currentGrant(auth.accountId)) });
    }

    throw new HttpError(404, 'NOT_FOUND', `${method} ${path}: no such route; see GET /openapi.json`);
  }

  const server = createServer((req, res) => {
    const forwarded = options.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0].trim() : '';
    const ip = forwarded || req.socket.remoteAddress || 'unknown';
    route(req, res, ip).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError) return send(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
      console.error('cloud:', error);
      send(res, 500, { error: { code: 'INTERNAL', message: 'internal error; try again later' } });
    });
  });

  return {
    server,
    key,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
