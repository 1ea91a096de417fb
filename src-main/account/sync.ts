import { hostname } from 'node:os';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Db } from '../db/connection';
import type { AccountDetails, Device } from '../../src-shared/ipc';
import { accountRow, LOCAL_ACCOUNT, monthOf, readAccountDetails, trustedGrant } from './account';
import { callCloud, CloudError } from './cloudClient';
import { keyId, verifyGrant } from './grant';
import { fileTokenStore, type SecretBox, type TokenStore, type Tokens } from './tokens';

export interface AccountSyncOptions {
  db: Db;
  /** The cloud's base URL, e.g. https://cloud.example.com or http://127.0.0.1:8787. */
  serverUrl: string;
  /** Where the tokens are kept (mode 0600), e.g. join(home, 'account-tokens'). */
  tokenFile: string;
  /** Electron's safeStorage in the app; absent under plain Node. */
  box?: SecretBox;
  /**
   * The cloud's Ed25519 public key (SPKI DER, base64) from configuration. Without it the key
   * served at GET /v1/keys is pinned at the first sign-in and a different one is refused later.
   */
  publicKey?: string;
  deviceName?: string;
  /** One request's limit; a slower answer counts as a failure. */
  requestTimeoutMs?: number;
  /** Exponential backoff with full jitter: a random wait up to min(maxMs, baseMs * 2^(failures-1)). */
  backoff?: { baseMs: number; maxMs: number };
  /** After `failures` transient failures in a row, send nothing for `cooldownMs`, then try once. */
  breaker?: { failures: number; cooldownMs: number };
  /** Spends per request. */
  batchSize?: number;
  /** How often the background loop looks for due work, and refreshes the grant when idle. */
  pollMs?: number;
  refreshGrantMs?: number;
  now?: () => number;
  random?: () => number;
  /** Told after every sign-in, sign-out and sync, for the app's account:changed event. */
  onChange?: (details: AccountDetails) => void;
}

export interface SyncResult {
  state: 'synced' | 'signed-out' | 'waiting' | 'circuit-open' | 'failed';
  settled: number;
  refused: number;
  pending: number;
  /** When the outbox will next try, if it is waiting. */
  nextAttemptAt: string | null;
  error: string | null;
}

interface SpendAnswer {
  results: { id: string; status: 'accepted' | 'refused'; duplicate: boolean; reason?: string }[];
  grant: string;
}

const AUTH_LOST = new Set(['INVALID_REFRESH', 'REFRESH_REUSED', 'SESSION_REVOKED']);

/**
 * The signed-in account and its conversation with the cloud: sign-in, sign-out, token refresh,
 * and the outbox of spends and revocations sent with backoff, a circuit breaker and respect for
 * Retry-After. Rendering never waits on it; it settles what was recorded locally.
 */
export class AccountSync {
  private readonly db: Db;
  private readonly store: TokenStore;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly breaker: { failures: number; cooldownMs: number };
  private failures = 0;
  private openUntil = 0;
  private running: Promise<SyncResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly options: AccountSyncOptions) {
    this.db = options.db;
    this.store = fileTokenStore(options.tokenFile, options.box);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.backoff = options.backoff ?? { baseMs: 1_000, maxMs: 5 * 60_000 };
    this.breaker = options.breaker ?? { failures: 5, cooldownMs: 60_000 };
  }

  private iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }

  private call<T>(method: string, path: string, options: { body?: unknown; accessToken?: string; base?: string } = {}): Promise<T> {
    return callCloud<T>(options.base ?? this.options.serverUrl, method, path, { ...options, timeoutMs: this.timeoutMs, now: this.now });
  }

  /** The account as the Account screen shows it. */
  details(): Promise<AccountDetails> {
    return readAccountDetails(this.db, { publicKey: this.options.publicKey, now: new Date(this.now()) });
  }

  /** Create an account on the cloud (free plan). */
  async register(email: string, password: string): Promise<void> {
    await this.call('POST', '/v1/accounts', { body: { email, password } }).catch((error) => {
      throw toAppError(error);
    });
  }

  /** Sign in: pin (or check) the cloud's key, open a session for this device, fetch the grant. */
  async signIn(email: string, password: string, deviceName = this.options.deviceName ?? hostname()): Promise<AccountDetails> {
    try {
      const row = await accountRow(this.db);
      const key = await this.cloudKey(row?.server_url === this.options.serverUrl ? row?.server_key ?? null : null);
      const deviceId = row?.server_url === this.options.serverUrl ? row?.device_id ?? undefined : undefined;
      const session = await this.call<Tokens & { deviceId: string; account: { id: string; email: string } }>('POST', '/v1/sessions', {
        body: { email, password, deviceName, ...(deviceId ? { deviceId } : {}) },
      });
      await this.store.write({ accessToken: session.accessToken, refreshToken: session.refreshToken, accessExpiresAt: session.accessExpiresAt });
      const now = this.iso();
      const values = {
        email: session.account.email,
        tier: 'free' as const,
        credits: 0,
        updated_at: now,
        server_url: this.options.serverUrl,
        cloud_account_id: session.account.id,
        device_id: session.deviceId,
        server_kid: keyId(key),
        server_key: key,
        grant_token: null,
        grant_problem: null,
        devices_json: null,
        last_sync_at: null,
        last_sync_error: null,
      };
      if (row) await this.db.updateTable('accounts').set(values).where('id', '=', LOCAL_ACCOUNT).execute();
      else await this.db.insertInto('accounts').values({ id: LOCAL_ACCOUNT, ...values }).execute();
    } catch (error) {
      throw toAppError(error);
    }
    // The grant comes with the first sync; signing in does not fail when only that step does.
    // A sync already running began before these tokens: let it end, then run one for them.
    await this.running?.catch(() => undefined);
    await this.sync();
    return this.details();
  }

  /**
   * Sign out: try once to settle what is pending, revoke the session (later, from the outbox, if
   * the cloud cannot be reached), and forget the tokens. Local projects are not touched; spends
   * still pending stay in the outbox and are sent when this account signs in again.
   */
  async signOut(): Promise<AccountDetails> {
    const before = await accountRow(this.db);
    // Only worth a wait when something is pending; if that fails the cloud is away, and the
    // revocation goes straight to the outbox rather than make the user wait a second time.
    const flushed = (await this.pendingCount(before?.cloud_account_id ?? null)) > 0 ? await this.sync() : null;
    const reachable = !flushed || flushed.state === 'synced';
    const row = await accountRow(this.db);
    const tokens = await this.store.read();
    if (row?.cloud_account_id && tokens) {
      try {
        if (!reachable) throw new Error('cloud away');
        await this.call('POST', '/v1/sessions/revoke', { body: { refreshToken: tokens.refreshToken } });
      } catch {
        await this.db
          .insertInto('account_outbox')
          .values({
            id: `revoke-${this.now()}-${Math.floor(this.random() * 1e9)}`,
            kind: 'revoke',
            state: 'pending',
            cloud_account_id: row.cloud_account_id,
            server_url: row.server_url,
            grant_id: null,
            credits: 0,
            video_id: null,
            payload: this.store.seal(tokens.refreshToken),
            period: monthOf(new Date(this.now())),
            attempts: 0,
            next_attempt_at: this.iso(),
            last_error: null,
            created_at: this.iso(),
            settled_at: null,
          })
          .execute();
      }
    }
    await this.store.clear();
    await this.forgetSession(null);
    const details = await this.details();
    this.options.onChange?.(details);
    return details;
  }

  /** Send what is due now and refresh the grant; one at a time (a second call joins the first). */
  sync(): Promise<SyncResult> {
    if (!this.running) {
      this.running = this.runSync()
        .then(async (result) => {
          if (this.options.onChange) this.options.onChange(await this.details());
          return result;
        })
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  /** Start the background loop (the app calls this once); the CLI may just call sync(). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Something was just recorded: try now rather than at the next poll. */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  /** Refresh the device list from the cloud. */
  async devices(): Promise<Device[]> {
    try {
      const { devices } = await this.authed<{ devices: Device[] }>('GET', '/v1/devices');
      await this.db.updateTable('accounts').set({ devices_json: JSON.stringify(devices) }).where('id', '=', LOCAL_ACCOUNT).execute();
      return devices;
    } catch (error) {
      throw toAppError(error);
    }
  }

  /** Sign another device out of this account. */
  async removeDevice(deviceId: string): Promise<Device[]> {
    try {
      await this.authed('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`);
    } catch (error) {
      throw toAppError(error);
    }
    return this.devices();
  }

  /** Rotate the refresh token now (the outbox also does it whenever the access token has run out). */
  async refresh(): Promise<void> {
    const tokens = await this.store.read();
    if (!tokens) throw new AppError(ErrorCode.Forbidden, 'account: not signed in; sign in from the Account screen');
    await this.rotate(tokens);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const poll = this.options.pollMs ?? 5_000;
    try {
      const row = await accountRow(this.db);
      const due = await this.db.selectFrom('account_outbox').select('id').where('state', '=', 'pending').where('next_attempt_at', '<=', this.iso()).limit(1).executeTakeFirst();
      const stale = row?.cloud_account_id && (!row.last_sync_at || Date.parse(row.last_sync_at) + (this.options.refreshGrantMs ?? 10 * 60_000) <= this.now());
      if (due || stale) await this.sync();
    } catch {
      // Recorded on the account row by runSync; the loop keeps going.
    }
    this.schedule(poll);
  }

  private async cloudKey(pinned: string | null): Promise<string> {
    if (this.options.publicKey) return this.options.publicKey;
    const { keys } = await this.call<{ keys: { kid: string; alg: string; spki: string }[] }>('GET', '/v1/keys');
    const served = keys.find((k) => k.alg === 'Ed25519' && keyId(k.spki) === k.kid);
    if (!served) throw new AppError(ErrorCode.Forbidden, `cloud ${this.options.serverUrl}: serves no Ed25519 key at /v1/keys; check the server address`);
    if (pinned && served.spki !== pinned && !keys.some((k) => k.spki === pinned)) {
      throw new AppError(ErrorCode.Forbidden, `cloud ${this.options.serverUrl}: its signing key changed since this device first signed in; if that is expected, set the new key in the configuration`);
    }
    return pinned ?? served.spki;
  }

  private async rotate(tokens: Tokens): Promise<Tokens> {
    try {
      const next = await this.call<Tokens>('POST', '/v1/sessions/refresh', { body: { refreshToken: tokens.refreshToken } });
      await this.store.write(next);
      return next;
    } catch (error) {
      if (error instanceof CloudError && error.status === 401 && AUTH_LOST.has(error.code)) {
        await this.store.clear();
        await this.forgetSession(null);
        throw new CloudError('http', `signed out by the cloud: ${error.message}`, 401, error.code);
      }
      throw error;
    }
  }

  /** A call with the access token, refreshed first when it has run out and once more on a 401. */
  private async authed<T>(method: string, path: string, body?: unknown): Promise<T> {
    let tokens = await this.store.read();
    if (!tokens) throw new CloudError('http', 'not signed in on this device; sign in again', 401, 'SIGNED_OUT');
    if (Date.parse(tokens.accessExpiresAt) - 30_000 <= this.now()) tokens = await this.rotate(tokens);
    try {
      return await this.call<T>(method, path, { body, accessToken: tokens.accessToken });
    } catch (error) {
      if (!(error instanceof CloudError && error.status === 401)) throw error;
      tokens = await this.rotate(tokens);
      return this.call<T>(method, path, { body, accessToken: tokens.accessToken });
    }
  }

  /** Why a grant received from the cloud cannot be used, or null when it verifies for this account. */
  private async grantProblem(token: string): Promise<string | null> {
    const row = await accountRow(this.db);
    const key = this.options.publicKey ?? row?.server_key;
    const checked = key ? verifyGrant(token, key, new Date(this.now())) : { ok: false as const, reason: 'no cloud key pinned' };
    return !checked.ok ? checked.reason : checked.grant.accountId !== row?.cloud_account_id ? 'grant belongs to another account' : null;
  }

  /** Keep the grant only if it verifies; otherwise keep the last good one and say why. */
  private async storeGrant(token: string, extra: { devices_json?: string } = {}): Promise<string | null> {
    const problem = await this.grantProblem(token);
    await this.db
      .updateTable('accounts')
      .set({ ...(problem ? { grant_problem: `refused a grant from the cloud: ${problem}` } : { grant_token: token, grant_problem: null }), ...extra, updated_at: this.iso() })
      .where('id', '=', LOCAL_ACCOUNT)
      .execute();
    return problem;
  }

  private async forgetSession(reason: string | null): Promise<void> {
    await this.db
      .updateTable('accounts')
      .set({ email: null, cloud_account_id: null, grant_token: null, grant_problem: null, devices_json: null, last_sync_error: reason, updated_at: this.iso() })
      .where('id', '=', LOCAL_ACCOUNT)
      .execute();
  }

  private async pendingCount(accountId: string | null): Promise<number> {
    if (!accountId) return 0;
    const { n } = await this.db.selectFrom('account_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'pending').where('kind', '=', 'spend').where('cloud_account_id', '=', accountId).executeTakeFirstOrThrow();
    return Number(n);
  }

  private async runSync(): Promise<SyncResult> {
    const result: SyncResult = { state: 'synced', settled: 0, refused: 0, pending: 0, nextAttemptAt: null, error: null };
    if (this.openUntil > this.now()) {
      const row = await accountRow(this.db);
      return { ...result, state: 'circuit-open', pending: await this.pendingCount(row?.cloud_account_id ?? null), nextAttemptAt: new Date(this.openUntil).toISOString(), error: row?.last_sync_error ?? null };
    }
    let sending: string[] = [];
    try {
      for (const op of await this.db.selectFrom('account_outbox').selectAll().where('kind', '=', 'revoke').where('state', '=', 'pending').where('next_attempt_at', '<=', this.iso()).execute()) {
        sending = [op.id];
        await this.call('POST', '/v1/sessions/revoke', { base: op.server_url ?? undefined, body: { refreshToken: this.store.unseal(op.payload ?? '') } });
        await this.db.updateTable('account_outbox').set({ state: 'settled', payload: null, settled_at: this.iso() }).where('id', '=', op.id).execute();
      }
      sending = [];
      const row = await accountRow(this.db);
      if (!row?.cloud_account_id) return { ...result, state: 'signed-out' };
      const accountId = row.cloud_account_id;
      if (!(await this.store.read())) throw new CloudError('http', 'not signed in on this device; sign in again', 401, 'SIGNED_OUT');

      // The latest time any pending spend was told to wait for: a spend recorded during a backoff waits with the rest.
      const waiting = await this.db.selectFrom('account_outbox').select('next_attempt_at').where('kind', '=', 'spend').where('state', '=', 'pending').where('cloud_account_id', '=', accountId).orderBy('next_attempt_at', 'desc').executeTakeFirst();
      if (waiting && waiting.next_attempt_at > this.iso()) {
        return { ...result, state: 'waiting', pending: await this.pendingCount(accountId), nextAttemptAt: waiting.next_attempt_at, error: row.last_sync_error };
      }
      let sent = false;
      for (;;) {
        const batch = await this.db
          .selectFrom('account_outbox')
          .select(['id', 'grant_id', 'credits', 'created_at'])
          .where('kind', '=', 'spend')
          .where('state', '=', 'pending')
          .where('cloud_account_id', '=', accountId)
          .orderBy('created_at')
          .orderBy('id')
          .limit(this.options.batchSize ?? 500)
          .execute();
        if (batch.length === 0) break;
        sending = batch.map((s) => s.id);
        if (batch.some((s) => !s.grant_id)) {
          // Spent while no grant was known: bind them to the grant current now, once, before sending.
          let grant = trustedGrant(await accountRow(this.db), { publicKey: this.options.publicKey, now: new Date(this.now()) }).grant;
          if (!grant) {
            const current = await this.authed<{ grant: string }>('GET', '/v1/grants/current');
            const problem = await this.storeGrant(current.grant);
            if (problem) throw new CloudError('http', `refused a grant from the cloud: ${problem}`, 0, 'BAD_GRANT');
            grant = trustedGrant(await accountRow(this.db), { publicKey: this.options.publicKey, now: new Date(this.now()) }).grant!;
          }
          await this.db.updateTable('account_outbox').set({ grant_id: grant.grantId }).where('id', 'in', sending).where('grant_id', 'is', null).execute();
          for (const spend of batch) spend.grant_id ??= grant.grantId;
        }
        const answer = await this.authed<SpendAnswer>('POST', '/v1/spends', {
          spends: batch.map((s) => ({ id: s.id, grantId: s.grant_id!, credits: s.credits, spentAt: s.created_at })),
        });
        const answered = new Set(answer.results.map((r) => r.id));
        if (!batch.every((s) => answered.has(s.id))) throw new CloudError('http', 'the cloud did not answer for every spend sent', 0, 'BAD_ANSWER');
        // Settled spends leave the pending sum, so they may only do so together with a grant
        // whose `spent` includes them; with a grant that does not verify they stay pending and
        // are sent again (the cloud counts each id once).
        const problem = await this.grantProblem(answer.grant);
        if (problem) {
          await this.storeGrant(answer.grant);
          throw new CloudError('http', `refused a grant from the cloud: ${problem}`, 0, 'BAD_GRANT');
        }
        await this.db.transaction().execute(async (trx) => {
          const settledAt = this.iso();
          const accepted = answer.results.filter((r) => r.status === 'accepted').map((r) => r.id);
          if (accepted.length) await trx.updateTable('account_outbox').set({ state: 'settled', settled_at: settledAt, last_error: null }).where('id', 'in', accepted).execute();
          for (const r of answer.results.filter((r) => r.status === 'refused')) {
            await trx.updateTable('account_outbox').set({ state: 'refused', settled_at: settledAt, last_error: r.reason ?? 'refused by the cloud' }).where('id', '=', r.id).execute();
          }
          await trx.updateTable('accounts').set({ grant_token: answer.grant, grant_problem: null, updated_at: settledAt }).where('id', '=', LOCAL_ACCOUNT).execute();
        });
        result.settled += answer.results.filter((r) => r.status === 'accepted').length;
        result.refused += answer.results.filter((r) => r.status === 'refused').length;
        sent = true;
      }
      sending = [];
      if (!sent) {
        const account = await this.authed<{ grant: string; devices: Device[] }>('GET', '/v1/account');
        await this.storeGrant(account.grant, { devices_json: JSON.stringify(account.devices) });
      }
      this.failures = 0;
      const latest = await accountRow(this.db);
      await this.db.updateTable('accounts').set({ last_sync_at: this.iso(), last_sync_error: latest?.grant_problem ?? null }).where('id', '=', LOCAL_ACCOUNT).execute();
      return { ...result, pending: await this.pendingCount(accountId), error: latest?.grant_problem ?? null };
    } catch (error) {
      return this.failed(error, sending, result);
    }
  }

  private async failed(error: unknown, sending: string[], result: SyncResult): Promise<SyncResult> {
    const message = (error as Error).message ?? String(error);
    const cloud = error instanceof CloudError ? error : null;
    let waitMs = 0;
    if (cloud?.status === 429 || cloud?.retryAfterMs != null) {
      // Busy, not broken: wait as long as asked (at least), without tripping the breaker.
      waitMs = Math.max(cloud.retryAfterMs ?? 0, this.jitter(Math.max(1, this.failures)));
    } else if (!cloud || cloud.transient || cloud.code === 'BAD_GRANT') {
      this.failures += 1;
      waitMs = this.jitter(this.failures);
      if (this.failures >= this.breaker.failures) {
        this.openUntil = this.now() + this.breaker.cooldownMs;
        // Half-open after the cooldown: one sync is let through; one more failure opens it again.
        this.failures = this.breaker.failures - 1;
        waitMs = Math.max(waitMs, this.breaker.cooldownMs);
      }
    } else {
      this.failures += 1;
      waitMs = this.jitter(this.failures);
    }
    const next = this.iso(waitMs);
    if (sending.length) {
      await this.db
        .updateTable('account_outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: next, last_error: message }))
        .where('id', 'in', sending)
        .where('state', '=', 'pending')
        .execute();
    }
    // The whole queue waits together: sending the rest now would only meet the same failure.
    await this.db.updateTable('account_outbox').set({ next_attempt_at: next }).where('state', '=', 'pending').where('next_attempt_at', '<', next).execute();
    await this.db.updateTable('accounts').set({ last_sync_error: message }).where('id', '=', LOCAL_ACCOUNT).execute();
    const row = await accountRow(this.db);
    return {
      ...result,
      state: this.openUntil > this.now() ? 'circuit-open' : 'failed',
      pending: await this.pendingCount(row?.cloud_account_id ?? null),
      nextAttemptAt: next,
      error: message,
    };
  }

  private jitter(failures: number): number {
    return Math.round(this.random() * Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.max(0, failures - 1)));
  }
}

function toAppError(error: unknown): Error {
  if (!(error instanceof CloudError)) return error as Error;
  if (error.kind !== 'http') return new AppError(ErrorCode.Io, `${error.message}; check the network and try again`);
  if (error.status === 429) return new AppError(ErrorCode.Forbidden, `${error.message}`);
  if (error.status === 401 || error.status === 403) return new AppError(ErrorCode.Forbidden, error.message);
  if (error.status >= 400 && error.status < 500) return new AppError(ErrorCode.BadInput, error.message);
  return new AppError(ErrorCode.Io, `the cloud failed (${error.message}); try again later`);
}
