import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { AccountDetails, AccountSummary, Device } from '../../src-shared/ipc';
import type { Db } from '../db/connection';
import type { AccountsTable } from '../db/schema';
import { verifyGrant, type Grant } from './grant';

/** Credits a month on the free tier, signed in or not (issue 8). */
export const FREE_CREDITS = 10;
/** The one account row kept on this machine. */
export const LOCAL_ACCOUNT = 'local';

export interface TrustOptions {
  /** The cloud's public key (SPKI DER, base64) from configuration; overrides the key pinned at sign-in. */
  publicKey?: string;
  now?: Date;
}

export const monthOf = (at: Date) => at.toISOString().slice(0, 7);

export async function accountRow(db: Db): Promise<AccountsTable | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', LOCAL_ACCOUNT).executeTakeFirst();
}

/** The stored grant when it verifies against the trusted key and belongs to the signed-in account. */
export function trustedGrant(row: AccountsTable | undefined, options: TrustOptions = {}): { grant: Grant | null; problem: string | null } {
  if (!row?.cloud_account_id || !row.grant_token) return { grant: null, problem: null };
  const key = options.publicKey ?? row.server_key;
  if (!key) return { grant: null, problem: 'no cloud key is known to check the grant with; sign in again' };
  const checked = verifyGrant(row.grant_token, key, options.now ?? new Date());
  if (!checked.ok) return { grant: null, problem: checked.reason };
  if (checked.grant.accountId !== row.cloud_account_id) return { grant: null, problem: 'grant belongs to another account' };
  return { grant: checked.grant, problem: null };
}

/** What a plan allows a render: its highest quality and whether the watermark goes on. */
export function limits(plan: 'free' | 'premium') {
  return plan === 'premium' ? { tier: plan, maxQuality: '2160p', watermark: false } as const : { tier: plan, maxQuality: '1080p', watermark: true } as const;
}

async function outboxCredits(db: Db, where: { state: 'pending' | 'local'; cloudAccountId?: string | null; grantId?: string | null; period?: string }): Promise<number> {
  let query = db.selectFrom('account_outbox').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('credits'), eb.lit(0)).as('credits')).where('kind', '=', 'spend').where('state', '=', where.state);
  if (where.cloudAccountId !== undefined) query = query.where('cloud_account_id', where.cloudAccountId === null ? 'is' : '=', where.cloudAccountId);
  if (where.period !== undefined) query = query.where('period', '=', where.period);
  if (where.grantId !== undefined) {
    const grantId = where.grantId;
    // A spend made while no grant was known is bound to the grant current when it is sent.
    query = query.where((eb) => (grantId === null ? eb('grant_id', 'is', null) : eb.or([eb('grant_id', '=', grantId), eb('grant_id', 'is', null)])));
  }
  return Number((await query.executeTakeFirstOrThrow()).credits);
}

/**
 * The account renders are made for. The tier and its limits come only from a grant that verifies
 * offline against the cloud's key, or else the free defaults; the credits are what that grant (or
 * the free month) leaves after the spends made here that the cloud has not settled yet.
 */
export async function readAccount(db: Db, options: TrustOptions = {}): Promise<AccountSummary> {
  const { devices: _d, lastSyncAt: _l, lastSyncError: _e, grantProblem: _g, pendingSpends: _p, pendingCredits: _c, refusedSpends: _r, ...summary } = await readAccountDetails(db, options);
  return summary;
}

export async function readAccountDetails(db: Db, options: TrustOptions = {}): Promise<AccountDetails> {
  const now = options.now ?? new Date();
  const row = await accountRow(db);
  const signedIn = Boolean(row?.email && row.cloud_account_id);
  const { grant, problem } = signedIn ? trustedGrant(row, { ...options, now }) : { grant: null, problem: null };
  let credits: number;
  if (grant) {
    credits = grant.credits - grant.spent - (await outboxCredits(db, { state: 'pending', cloudAccountId: grant.accountId, grantId: grant.grantId }));
  } else if (signedIn) {
    // Signed in without a usable grant (never synced, expired offline, tampered): the free month,
    // less what was spent here meanwhile, which settles against the next grant.
    credits = FREE_CREDITS - (await outboxCredits(db, { state: 'pending', cloudAccountId: row!.cloud_account_id, grantId: null }));
  } else {
    credits = FREE_CREDITS - (await outboxCredits(db, { state: 'local', cloudAccountId: null, period: monthOf(now) }));
  }
  const pending = signedIn
    ? await db
        .selectFrom('account_outbox')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('credits'), eb.lit(0)).as('credits')])
        .where('kind', '=', 'spend')
        .where('state', '=', 'pending')
        .where('cloud_account_id', '=', row!.cloud_account_id)
        .executeTakeFirstOrThrow()
    : { n: 0, credits: 0 };
  const refused = signedIn
    ? await db.selectFrom('account_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'refused').where('cloud_account_id', '=', row!.cloud_account_id).executeTakeFirstOrThrow()
    : { n: 0 };
  return {
    signedIn,
    email: signedIn ? row!.email : null,
    ...limits(grant?.plan ?? 'free'),
    credits: Math.max(0, credits),
    devices: signedIn && row!.devices_json ? (JSON.parse(row!.devices_json) as Device[]) : [],
    lastSyncAt: row?.last_sync_at ?? null,
    lastSyncError: row?.last_sync_error ?? null,
    grantProblem: problem ?? row?.grant_problem ?? null,
    pendingSpends: Number(pending.n),
    pendingCredits: Number(pending.credits),
    refusedSpends: Number(refused.n),
  };
}

/**
 * Refuse a render up front when the credits known here do not cover its cost. Local only: the
 * user never waits on the network to start a render.
 */
export async function checkCredits(db: Db, cost: number, options: TrustOptions = {}): Promise<AccountSummary> {
  const account = await readAccount(db, options);
  if (cost > account.credits) {
    const more = account.tier === 'free' ? (account.signedIn ? ', or upgrade to premium' : ', or sign in to a premium account') : '';
    throw new AppError(
      ErrorCode.Forbidden,
      `credits: this render costs ${cost} credit${cost === 1 ? '' : 's'} (1 per started minute of video) and ${account.credits} ${account.credits === 1 ? 'is' : 'are'} left this month; shorten the script, wait for next month's credits${more}`,
    );
  }
  return account;
}

/**
 * Record what a finished render cost, in the outbox, in the same database as the render: never
 * on the network. Signed in, the sync sends it; signed out, it counts against this month's free
 * credits here. Returns the spend's id, which the cloud uses to count it once. `db` may be a
 * transaction, so the render's completion and its spend are written together.
 */
export async function recordSpend(db: Db, spend: { credits: number; videoId?: string; id?: string; now?: Date; publicKey?: string }): Promise<string> {
  if (!(Number.isInteger(spend.credits) && spend.credits > 0)) {
    throw new AppError(ErrorCode.BadInput, `spend.credits: ${spend.credits} is not a whole number of credits above 0`);
  }
  const now = spend.now ?? new Date();
  const id = spend.id ?? randomUUID();
  const row = await accountRow(db);
  const signedIn = Boolean(row?.email && row.cloud_account_id);
  const { grant } = signedIn ? trustedGrant(row, { publicKey: spend.publicKey, now }) : { grant: null };
  await db
    .insertInto('account_outbox')
    .values({
      id,
      kind: 'spend',
      state: signedIn ? 'pending' : 'local',
      cloud_account_id: signedIn ? row!.cloud_account_id : null,
      server_url: signedIn ? row!.server_url : null,
      grant_id: grant?.grantId ?? null,
      credits: spend.credits,
      video_id: spend.videoId ?? null,
      payload: null,
      period: monthOf(now),
      attempts: 0,
      next_attempt_at: now.toISOString(),
      last_error: null,
      created_at: now.toISOString(),
      settled_at: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}
