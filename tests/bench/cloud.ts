/**
 * The cloud's spend reconciliation: how many spends a second the reference server settles on this
 * machine (one spend per request from several devices at once, and batches of 500 as the outbox
 * sends them), and the time from "back online" to a settled balance for 1,000 spends queued
 * while the app was offline.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordSpend, readAccountDetails } from '../../src-main/account/account';
import { AccountSync } from '../../src-main/account/sync';
import { openDatabase } from '../../src-main/db/connection';
import { createCloud, type Limits } from '../../src-cloud/app';
import { openCloudDatabase } from '../../src-cloud/db';

const OPEN: Partial<Limits> = { perAccount: { max: 1e9, windowMs: 60_000 }, perIp: { max: 1e9, windowMs: 60_000 }, authPerIp: { max: 1e9, windowMs: 60_000 }, authPerAccount: { max: 1e9, windowMs: 60_000 } };
const DEVICES = 8;
const SINGLE_SECONDS = 3;
const QUEUED = 1_000;

// Untyped: the bench reads only the fields of answers it just asked for.
async function post(url: string, path: string, body: unknown, token?: string): Promise<any> {
  const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function startServer(file: string, port = 0) {
  const db = await openCloudDatabase(file);
  const cloud = await createCloud({ db, limits: OPEN });
  const bound = await cloud.listen(port);
  return { url: `http://127.0.0.1:${bound}`, port: bound, db, stop: async () => (await cloud.close(), await db.destroy()) };
}

export async function benchCloud(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mp-bench-cloud-'));
  const server = await startServer(join(dir, 'cloud.db'));
  const email = 'bench@example.com';
  await post(server.url, '/v1/accounts', { email, password: 'bench password' });
  const sessions = await Promise.all(Array.from({ length: DEVICES }, (_, i) => post(server.url, '/v1/sessions', { email, password: 'bench password', deviceName: `device ${i}` })));
  const grant = (await (await fetch(`${server.url}/v1/grants/current`, { headers: { authorization: `Bearer ${sessions[0].accessToken}` } })).json()) as { balance: { grantId: string } };
  // A grant too large to run out, so every spend is a real debit rather than a refusal.
  await server.db.updateTable('grants').set({ credits: 1e12 }).execute();

  let sent = 0;
  const deadline = performance.now() + SINGLE_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    sessions.map(async (s, device) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await post(server.url, '/v1/spends', { spends: [{ id: `single-${device}-${i}`, grantId: grant.balance.grantId, credits: 1, spentAt: new Date().toISOString() }] }, s.accessToken);
        sent += 1;
      }
    }),
  );
  const singleRate = sent / ((performance.now() - started) / 1000);

  const batches = 20;
  const batchStart = performance.now();
  for (let b = 0; b < batches; b++) {
    const spends = Array.from({ length: 500 }, (_, i) => ({ id: `batch-${b}-${i}`, grantId: grant.balance.grantId, credits: 1, spentAt: new Date().toISOString() }));
    await post(server.url, '/v1/spends', { spends }, sessions[b % DEVICES].accessToken);
  }
  const batchRate = (batches * 500) / ((performance.now() - batchStart) / 1000);
  const spentBefore = Number((await server.db.selectFrom('grants').select('spent').executeTakeFirstOrThrow()).spent);

  // 1,000 renders' spends queued offline in a real app database, then the cloud comes back.
  const appDb = await openDatabase(join(dir, 'app', 'mouthpiece.db'));
  const sync = new AccountSync({ db: appDb, serverUrl: server.url, tokenFile: join(dir, 'app', 'tokens'), deviceName: 'bench app' });
  await sync.signIn(email, 'bench password');
  const port = server.port;
  await server.stop();
  for (let i = 0; i < QUEUED; i++) await recordSpend(appDb, { credits: 1 });
  const offline = await sync.sync();
  const back = await startServer(join(dir, 'cloud.db'), port);
  const online = performance.now();
  // The backoff would wait; "back online" here is the moment the outbox is allowed to send.
  await appDb.updateTable('account_outbox').set({ next_attempt_at: new Date(0).toISOString() }).where('state', '=', 'pending').execute();
  const result = await sync.sync();
  const settleMs = performance.now() - online;
  const details = await readAccountDetails(appDb);
  const spentAfter = Number((await back.db.selectFrom('grants').select('spent').executeTakeFirstOrThrow()).spent);

  console.log('cloud spend reconciliation (SQLite, this machine)');
  console.log(`  single spends, ${DEVICES} devices at once   ${singleRate.toFixed(0)} spends/s (${sent} in ${SINGLE_SECONDS} s)`);
  console.log(`  batches of 500                  ${batchRate.toFixed(0)} spends/s`);
  console.log(`  ${QUEUED} spends queued offline       offline sync: ${offline.state}, ${offline.pending} pending`);
  console.log(`  back online -> settled          ${settleMs.toFixed(0)} ms (${result.settled} settled, ${details.pendingSpends} pending, cloud counted ${spentAfter - spentBefore} credits)`);
  await sync.stop();
  await appDb.destroy();
  await back.stop();
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCloud();
