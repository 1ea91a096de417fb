import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { setPlan } from '../../../src-cloud/app';
import { checkCredits, readAccount, readAccountDetails, recordSpend } from '../../../src-main/account/account';
import type { AccountDetails } from '../../../src-shared/ipc';
import { AccountSync, type AccountSyncOptions } from '../../../src-main/account/sync';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { api, startCloud, startProxy, tempDir, type FaultProxy, type RunningCloud } from '../../cloud/support';

const PASSWORD = 'correct horse';
let dir: string;
let cloudFile: string;
let server: RunningCloud | null;
let proxy: FaultProxy;
let db: Db;
let clock: number;
const syncs: AccountSync[] = [];
const others: Db[] = [];

async function startServer(port = 0) {
  server = await startCloud(cloudFile, { limits: { perAccount: { max: 100_000, windowMs: 60_000 }, perIp: { max: 100_000, windowMs: 60_000 } } }, port);
  if (proxy) proxy.target = server.port;
  return server;
}
async function killServer() {
  await server?.stop();
  server = null;
}

function client(options: Partial<AccountSyncOptions> = {}, database = db, name = 'laptop') {
  const sync = new AccountSync({
    db: database,
    serverUrl: proxy.url,
    tokenFile: join(dir, `${name}-tokens`),
    deviceName: name,
    requestTimeoutMs: 2_000,
    now: () => clock,
    random: () => 0.5,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
    breaker: { failures: 3, cooldownMs: 30_000 },
    ...options,
  });
  syncs.push(sync);
  return sync;
}

async function registered(email = 'ada@example.com') {
  expect((await api(server!.url, 'POST', '/v1/accounts', { body: { email, password: PASSWORD } })).status).toBe(201);
  return email;
}

/** The cloud's own record: what this account's grant has spent. */
async function cloudSpent(email = 'ada@example.com') {
  const row = await server!.db.selectFrom('grants').innerJoin('accounts', 'accounts.id', 'grants.account_id').select(['spent', 'credits']).where('email', '=', email).executeTakeFirstOrThrow();
  return Number(row.spent);
}

/** A finished render's spend, recorded at the client's clock. */
const spend = (credits: number, database = db) => recordSpend(database, { credits, now: new Date(clock) });

const pendingIds = async () => (await db.selectFrom('account_outbox').select('id').where('state', '=', 'pending').execute()).map((r) => r.id);

beforeEach(async () => {
  dir = tempDir('mp-sync-');
  cloudFile = join(dir, 'cloud', 'cloud.db');
  clock = Date.now();
  await startServer();
  proxy = await startProxy(server!.port);
  db = await openDatabase(join(dir, 'app', 'mouthpiece.db'));
});

afterEach(async () => {
  for (const s of syncs.splice(0)) await s.stop();
  await proxy.close();
  await killServer();
  await db.destroy();
  for (const d of others.splice(0)) await d.destroy();
});

describe('signing in and out', () => {
  test('signing in pins the cloud key, fetches a verified grant and lists the device; the tier follows the plan', async () => {
    const email = await registered();
    const sync = client();
    expect(await sync.signIn(email, PASSWORD)).toMatchObject({ signedIn: true, email, tier: 'free', credits: 10, watermark: true, devices: [{ name: 'laptop', current: true }], lastSyncError: null });
    const { keys } = (await api(server!.url, 'GET', '/v1/keys')).json;
    expect((await db.selectFrom('accounts').select('server_key').executeTakeFirstOrThrow()).server_key).toBe(keys[0].spki);
    await setPlan(server!.db, email, 'premium');
    await sync.sync();
    expect(await readAccount(db)).toEqual({ signedIn: true, email, tier: 'premium', credits: 600, maxQuality: '2160p', watermark: false });
  });

  test('a wrong password is a clear error and leaves the app signed out on the free defaults', async () => {
    const email = await registered();
    await expect(client().signIn(email, 'wrong password')).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('email or password is wrong') });
    expect(await readAccount(db)).toMatchObject({ signedIn: false, tier: 'free', credits: 10 });
  });

  test('tokens are kept in an owner-only file, encrypted when the app gives a box', async () => {
    const email = await registered();
    const box = { encrypt: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)), decrypt: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString() };
    await client({ box }).signIn(email, PASSWORD);
    const file = join(dir, 'laptop-tokens');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toMatch(/mpr_|refreshToken/);
  });

  test('signing out keeps local projects and pending spends; offline, the revocation waits in the outbox and is sent later', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    const now = new Date().toISOString();
    await db.insertInto('videos').values({ id: 'v1', title: 'Mine', project_json: '{}', status: 'draft', stage: null, progress: 0, output_path: null, work_dir: null, error: null, timings_json: null, duration_seconds: null, created_at: now, updated_at: now }).execute();
    await killServer();
    await recordSpend(db, { credits: 2, videoId: 'v1', now: new Date(clock) });
    expect(await sync.signOut()).toMatchObject({ signedIn: false, tier: 'free', credits: 10 });
    expect(await db.selectFrom('videos').select('title').execute()).toEqual([{ title: 'Mine' }]);
    expect(await db.selectFrom('account_outbox').select(['kind', 'state']).orderBy('kind').execute()).toEqual([
      { kind: 'revoke', state: 'pending' },
      { kind: 'spend', state: 'pending' },
    ]);
    await startServer();
    clock += 120_000;
    expect(await sync.sync()).toMatchObject({ state: 'signed-out' });
    const sessions = await server!.db.selectFrom('sessions').select(['revoked_reason']).execute();
    expect(sessions).toEqual([{ revoked_reason: 'signed out' }]);
    // The spend made before signing out is settled when the same account signs in again.
    await sync.signIn(email, PASSWORD);
    expect(await cloudSpent()).toBe(2);
    expect(await pendingIds()).toEqual([]);
  });

  test('a refresh token used twice signs this device out with a clear reason', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    const stolen = JSON.parse(readFileSync(join(dir, 'laptop-tokens'), 'utf8').replace(/^plain:/, '')).refreshToken;
    await sync.refresh();
    await api(server!.url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: stolen } });
    clock += 20 * 60_000; // the access token has run out: the next sync must refresh, and is refused
    await sync.sync();
    expect(await readAccountDetails(db)).toMatchObject({ signedIn: false, lastSyncError: expect.stringMatching(/^signed out by the cloud: this sign-in was revoked/) });
  });
});

describe('grants', () => {
  test('a tampered grant is refused: the app falls back to the free defaults and says why', async () => {
    const email = await registered();
    await setPlan(server!.db, email, 'premium');
    await client().signIn(email, PASSWORD);
    expect(await readAccount(db)).toMatchObject({ tier: 'premium', credits: 600 });
    const { grant_token } = await db.selectFrom('accounts').select('grant_token').executeTakeFirstOrThrow();
    const [body, signature] = grant_token!.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...payload, credits: 100_000 })).toString('base64url')}.${signature}`;
    await db.updateTable('accounts').set({ grant_token: forged }).execute();
    expect(await readAccountDetails(db)).toMatchObject({ tier: 'free', credits: 10, watermark: true, grantProblem: expect.stringContaining('signature does not match') });
  });

  test('a grant received from a server with another key is not stored: the last good one stays and spends stay pending', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    const before = await db.selectFrom('accounts').select('grant_token').executeTakeFirstOrThrow();
    // The same database served with a different signing key: an impostor for this device.
    await killServer();
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    server = await startCloud(cloudFile, { signingKeyPem: pem });
    proxy.target = server.port;
    await sync.sync();
    expect((await db.selectFrom('accounts').select('grant_token').executeTakeFirstOrThrow()).grant_token).toBe(before.grant_token);
    expect(await readAccountDetails(db)).toMatchObject({ credits: 10, grantProblem: expect.stringContaining('refused a grant from the cloud') });
    // A spend answered with such a grant stays pending (and counted here) rather than vanish from the sums.
    await spend(2);
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'failed', pending: 1, error: expect.stringContaining('signature does not match') });
    expect(await readAccountDetails(db)).toMatchObject({ credits: 8, pendingSpends: 1 });
  });

  test('an expired grant is ignored and reported', async () => {
    const email = await registered();
    await client().signIn(email, PASSWORD);
    const later = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 2));
    expect(await readAccountDetails(db, { now: later })).toMatchObject({ tier: 'free', grantProblem: expect.stringContaining('expired') });
  });
});

describe('spending credits', () => {
  test('spends made before any grant was known are bound to the current grant when sent, and counted once', async () => {
    const email = await registered();
    proxy.fail('/v1/account', { kind: 'answer', status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } });
    const sync = client();
    expect(await sync.signIn(email, PASSWORD)).toMatchObject({ signedIn: true, credits: 10, lastSyncError: 'internal error' });
    await spend(1);
    expect(await db.selectFrom('account_outbox').select('grant_id').executeTakeFirstOrThrow()).toEqual({ grant_id: null });
    expect(await readAccount(db)).toMatchObject({ credits: 9 });
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 1 });
    const { grantId } = (await server!.db.selectFrom('grants').select('id as grantId').executeTakeFirstOrThrow());
    expect(await db.selectFrom('account_outbox').select('grant_id').executeTakeFirstOrThrow()).toEqual({ grant_id: grantId });
    expect(await cloudSpent()).toBe(1);
    expect(await readAccount(db)).toMatchObject({ credits: 9 });
  });

  test('a render costing more than the known credits is refused up front, without the network', async () => {
    await killServer();
    await spend(8);
    expect(await readAccount(db)).toMatchObject({ signedIn: false, credits: 2 });
    await expect(checkCredits(db, 3)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/^credits: this render costs 3 credits .* 2 are left this month/) });
    await expect(checkCredits(db, 2)).resolves.toMatchObject({ credits: 2 });
  });

  test('offline, renders spend against the credits last known, and settle once the cloud is back', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    await killServer();
    for (const credits of [1, 2, 3]) await spend(credits);
    expect(await readAccount(db)).toMatchObject({ credits: 4 });
    expect(await sync.sync()).toMatchObject({ state: 'failed', pending: 3, error: expect.stringContaining('cannot be reached') });
    await startServer();
    expect(await sync.sync()).toMatchObject({ state: 'waiting' }); // the backoff is respected
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 3, pending: 0 });
    expect(await cloudSpent()).toBe(6);
    expect(await readAccount(db)).toMatchObject({ credits: 4 });
  });

  test('the server killed after committing a sync, before answering, leads to neither loss nor double counting', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    for (let i = 0; i < 4; i++) await spend(1);
    proxy.fail('/v1/spends', { kind: 'drop-after-commit', then: killServer });
    expect(await sync.sync()).toMatchObject({ state: 'failed', pending: 4 });
    await startServer();
    expect(await cloudSpent()).toBe(4); // committed on the cloud, unknown to the app
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 4, pending: 0 });
    expect(await cloudSpent()).toBe(4);
    expect(await readAccount(db)).toMatchObject({ credits: 6 });
  });

  test('the server killed before a sync reaches it keeps the spends pending until it is back', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    await spend(2);
    proxy.fail('/v1/spends', { kind: 'before', first: killServer });
    expect(await sync.sync()).toMatchObject({ state: 'failed', pending: 1 });
    await startServer();
    clock += 60_000;
    await sync.sync();
    expect(await cloudSpent()).toBe(2);
  });

  test('answers of 500 and answers slower than the client waits converge to the right balance', async () => {
    const email = await registered();
    const sync = client({ requestTimeoutMs: 300 });
    await sync.signIn(email, PASSWORD);
    for (let i = 0; i < 3; i++) await spend(1);
    proxy.fail('/v1/spends', { kind: 'answer', status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } }, { kind: 'slow' });
    expect(await sync.sync()).toMatchObject({ state: 'failed', error: 'internal error' });
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'failed', error: expect.stringContaining('did not answer within 300 ms') });
    expect(await cloudSpent()).toBe(3); // the slow answer was committed all the same
    clock += 60_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 3 });
    expect(await cloudSpent()).toBe(3);
    expect(await readAccount(db)).toMatchObject({ credits: 7 });
  });

  test('429 with Retry-After is honoured: nothing is sent before the time it names', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    await spend(1);
    proxy.fail('/v1/spends', { kind: 'answer', status: 429, headers: { 'retry-after': '120' }, body: { error: { code: 'RATE_LIMITED', message: 'too many requests' } } });
    const limited = await sync.sync();
    expect(Date.parse(limited.nextAttemptAt!)).toBeGreaterThanOrEqual(clock + 120_000);
    const seen = proxy.seen.length;
    clock += 119_000;
    expect(await sync.sync()).toMatchObject({ state: 'waiting', pending: 1 });
    expect(proxy.seen.length).toBe(seen);
    clock += 1_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 1 });
  });

  test('after repeated failures the circuit opens and nothing is sent until it cools down', async () => {
    const email = await registered();
    const sync = client();
    await sync.signIn(email, PASSWORD);
    await spend(1);
    for (let i = 0; i < 3; i++) {
      proxy.fail('/v1/spends', { kind: 'answer', status: 503 });
      clock += 60_000;
      await sync.sync();
    }
    const seen = proxy.seen.length;
    clock += 10_000;
    expect(await sync.sync()).toMatchObject({ state: 'circuit-open', pending: 1 });
    expect(proxy.seen.length).toBe(seen);
    clock += 30_000;
    expect(await sync.sync()).toMatchObject({ state: 'synced', settled: 1 });
  });

  test('the background loop settles a spend recorded after a kick, and tells the app what changed', async () => {
    const email = await registered();
    const changes: AccountDetails[] = [];
    const sync = client({ pollMs: 50, onChange: (d) => changes.push(d) });
    await sync.signIn(email, PASSWORD);
    sync.start();
    await spend(3);
    sync.kick();
    await expect.poll(() => cloudSpent()).toBe(3);
    await expect.poll(() => changes.at(-1)?.pendingSpends).toBe(0);
    expect(changes.at(-1)).toMatchObject({ credits: 7, lastSyncError: null });
  });

  test('two devices offline spending from one grant: the cloud accepts only what it covers and the other is reported', async () => {
    const email = await registered();
    const laptop = client();
    await laptop.signIn(email, PASSWORD);
    const deskDb = await openDatabase(join(dir, 'desk', 'mouthpiece.db'));
    others.push(deskDb);
    const desk = client({}, deskDb, 'desk');
    await desk.signIn(email, PASSWORD);
    await spend(6);
    await spend(6, deskDb);
    const [a, b] = await Promise.all([laptop.sync(), desk.sync()]);
    expect(a.settled + b.settled).toBe(1);
    expect(a.refused + b.refused).toBe(1);
    expect(await cloudSpent()).toBe(6);
    const refusedOn = a.refused ? db : deskDb;
    expect(await readAccountDetails(refusedOn)).toMatchObject({ refusedSpends: 1, credits: 4 });
  });
});
