import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { setPlan } from '../../src-cloud/app';
import { verifyGrant } from '../../src-main/account/grant';
import { api, startCloud, tempDir, type RunningCloud } from './support';

let running: RunningCloud[] = [];
afterEach(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  running = [];
});

async function cloud(options: Parameters<typeof startCloud>[1] = {}, file = join(tempDir('mp-cloud-'), 'cloud.db')) {
  const r = await startCloud(file, options);
  running.push(r);
  return r;
}

async function signUp(url: string, email: string, deviceName = 'Laptop') {
  expect((await api(url, 'POST', '/v1/accounts', { body: { email, password: 'correct horse' } })).status).toBe(201);
  const session = await api(url, 'POST', '/v1/sessions', { body: { email, password: 'correct horse', deviceName } });
  expect(session.status).toBe(201);
  return session.json as { accessToken: string; refreshToken: string; deviceId: string; account: { id: string } };
}

describe('accounts and sessions', () => {
  test('register, sign in, refresh rotates both tokens and the old access token stops working', async () => {
    const { url } = await cloud();
    const first = await signUp(url, 'Ada@Example.com');
    expect((await api(url, 'GET', '/v1/account', { token: first.accessToken })).json).toMatchObject({ email: 'ada@example.com', plan: 'free' });
    const refreshed = await api(url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: first.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refreshToken).not.toBe(first.refreshToken);
    expect((await api(url, 'GET', '/v1/account', { token: first.accessToken })).status).toBe(401);
    expect((await api(url, 'GET', '/v1/account', { token: refreshed.json.accessToken })).status).toBe(200);
  });

  test('reusing a rotated refresh token revokes the whole sign-in, newest tokens included, and is audited', async () => {
    const { url, db } = await cloud();
    const first = await signUp(url, 'bob@example.com');
    const second = (await api(url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: first.refreshToken } })).json;
    const reuse = await api(url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: first.refreshToken } });
    expect(reuse).toMatchObject({ status: 401, json: { error: { code: 'REFRESH_REUSED' } } });
    expect((await api(url, 'GET', '/v1/account', { token: second.accessToken })).status).toBe(401);
    expect((await api(url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: second.refreshToken } })).json.error.code).toBe('SESSION_REVOKED');
    expect(await db.selectFrom('audit').select('type').where('type', '=', 'refresh.reused').execute()).toHaveLength(1);
  });

  test('signing out revokes the session and takes the device off the account, other devices stay', async () => {
    const { url } = await cloud();
    const laptop = await signUp(url, 'cy@example.com', 'Laptop');
    const desk = (await api(url, 'POST', '/v1/sessions', { body: { email: 'cy@example.com', password: 'correct horse', deviceName: 'Desk' } })).json;
    expect((await api(url, 'GET', '/v1/devices', { token: desk.accessToken })).json.devices.map((d: { name: string }) => d.name)).toEqual(['Laptop', 'Desk']);
    expect((await api(url, 'DELETE', '/v1/sessions/current', { token: laptop.accessToken })).status).toBe(204);
    expect((await api(url, 'GET', '/v1/account', { token: laptop.accessToken })).status).toBe(401);
    expect((await api(url, 'POST', '/v1/sessions/refresh', { body: { refreshToken: laptop.refreshToken } })).status).toBe(401);
    expect((await api(url, 'GET', '/v1/devices', { token: desk.accessToken })).json.devices).toMatchObject([{ name: 'Desk', current: true }]);
  });

  test('removing a device signs it out everywhere', async () => {
    const { url } = await cloud();
    const laptop = await signUp(url, 'dee@example.com', 'Laptop');
    const desk = (await api(url, 'POST', '/v1/sessions', { body: { email: 'dee@example.com', password: 'correct horse', deviceName: 'Desk' } })).json;
    expect((await api(url, 'DELETE', `/v1/devices/${laptop.deviceId}`, { token: desk.accessToken })).status).toBe(204);
    expect((await api(url, 'GET', '/v1/grants/current', { token: laptop.accessToken })).status).toBe(401);
    expect((await api(url, 'DELETE', `/v1/devices/${laptop.deviceId}`, { token: desk.accessToken })).json.error.code).toBe('NOT_FOUND');
  });
});

describe('clear errors and rate limits', () => {
  test('a wrong password and an unknown email get the same clear 401, a taken email a 409', async () => {
    const { url } = await cloud();
    await signUp(url, 'eve@example.com');
    const wrong = await api(url, 'POST', '/v1/sessions', { body: { email: 'eve@example.com', password: 'not it at all' } });
    const unknown = await api(url, 'POST', '/v1/sessions', { body: { email: 'nobody@example.com', password: 'not it at all' } });
    expect(wrong).toMatchObject({ status: 401, json: { error: { code: 'INVALID_CREDENTIALS', message: expect.stringMatching(/email or password is wrong/) } } });
    expect(unknown.json).toEqual(wrong.json);
    expect((await api(url, 'POST', '/v1/accounts', { body: { email: 'eve@example.com', password: 'another one' } })).json.error).toMatchObject({ code: 'EMAIL_TAKEN', message: expect.stringContaining('sign in instead') });
  });

  test('malformed requests are answered 400 naming the field or the body', async () => {
    const { url } = await cloud();
    expect((await api(url, 'POST', '/v1/accounts', { raw: '{"email":' })).json.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('body: not valid JSON') });
    expect((await api(url, 'POST', '/v1/accounts', { body: { email: 'x@example.com', password: 'short' } })).json.error.message).toMatch(/^password: at least 8/);
    expect((await api(url, 'POST', '/v1/accounts', { body: { email: 'not an email', password: 'long enough' } })).json.error.message).toMatch(/^email: not an email/);
    const s = await signUp(url, 'fay@example.com');
    const spend = await api(url, 'POST', '/v1/spends', { token: s.accessToken, body: { spends: [{ id: 'spend-0001', grantId: 'g', credits: -2, spentAt: new Date().toISOString() }] } });
    expect(spend).toMatchObject({ status: 400, json: { error: { message: expect.stringContaining('spends.0.credits') } } });
    expect((await api(url, 'GET', '/v1/account')).json.error.message).toMatch(/Authorization: send "Bearer/);
  });

  test('sign-in attempts are limited per account and per address, answering 429 with Retry-After', async () => {
    const { url } = await cloud({ limits: { authPerAccount: { max: 3, windowMs: 60_000 }, authPerIp: { max: 6, windowMs: 60_000 } } });
    await api(url, 'POST', '/v1/accounts', { body: { email: 'gus@example.com', password: 'correct horse' } });
    for (let i = 0; i < 2; i++) expect((await api(url, 'POST', '/v1/sessions', { body: { email: 'gus@example.com', password: 'guess ' + i } })).status).toBe(401);
    const limited = await api(url, 'POST', '/v1/sessions', { body: { email: 'gus@example.com', password: 'correct horse' } });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account from the same address still gets through until the address's own limit.
    expect((await api(url, 'POST', '/v1/sessions', { body: { email: 'hal@example.com', password: 'whatever1' } })).status).toBe(401);
    expect((await api(url, 'POST', '/v1/sessions', { body: { email: 'ida@example.com', password: 'whatever1' } })).status).toBe(401);
    const byAddress = await api(url, 'POST', '/v1/accounts', { body: { email: 'jo@example.com', password: 'whatever1' } });
    expect(byAddress.status).toBe(429);
    expect(byAddress.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('grants and spends', () => {
  test('the month grant is signed with the key served at /v1/keys, and the key survives a restart on the same database', async () => {
    const file = join(tempDir('mp-cloud-'), 'cloud.db');
    const first = await cloud({}, file);
    const s = await signUp(first.url, 'kim@example.com');
    const { keys } = (await api(first.url, 'GET', '/v1/keys')).json;
    const { grant } = (await api(first.url, 'GET', '/v1/grants/current', { token: s.accessToken })).json;
    const checked = verifyGrant(grant, keys[0].spki, new Date());
    expect(checked).toMatchObject({ ok: true, grant: { plan: 'free', credits: 10, spent: 0, maxQuality: '1080p', watermark: true, accountId: s.account.id } });
    await first.stop();
    running = [];
    const second = await cloud({}, file);
    expect((await api(second.url, 'GET', '/v1/keys')).json.keys).toEqual(keys);
    await setPlan(second.db, 'kim@example.com', 'premium');
    const premium = (await api(second.url, 'GET', '/v1/grants/current', { token: s.accessToken })).json;
    expect(verifyGrant(premium.grant, keys[0].spki, new Date())).toMatchObject({ ok: true, grant: { plan: 'premium', credits: 600, maxQuality: '2160p', watermark: false } });
  });

  test('two devices spending from one grant at the same time never take it past its credits', async () => {
    const { url, db } = await cloud({ limits: { perAccount: { max: 10_000, windowMs: 60_000 } } });
    const laptop = await signUp(url, 'lee@example.com', 'Laptop');
    const desk = (await api(url, 'POST', '/v1/sessions', { body: { email: 'lee@example.com', password: 'correct horse', deviceName: 'Desk' } })).json;
    const { balance } = (await api(url, 'GET', '/v1/grants/current', { token: laptop.accessToken })).json;
    const spendsOf = (device: string, n: number, credits: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `${device}-spend-${i}`, grantId: balance.grantId, credits, spentAt: new Date().toISOString() }));
    // 2 x 8 single spends of 1 credit, and 2 batches of 3 x 2 credits, all at once: 28 credits asked of 10.
    const answers = await Promise.all([
      ...spendsOf('laptop', 8, 1).map((s) => api(url, 'POST', '/v1/spends', { token: laptop.accessToken, body: { spends: [s] } })),
      ...spendsOf('desk', 8, 1).map((s) => api(url, 'POST', '/v1/spends', { token: desk.accessToken, body: { spends: [s] } })),
      api(url, 'POST', '/v1/spends', { token: laptop.accessToken, body: { spends: spendsOf('laptop-batch', 3, 2) } }),
      api(url, 'POST', '/v1/spends', { token: desk.accessToken, body: { spends: spendsOf('desk-batch', 3, 2) } }),
    ]);
    const results = answers.flatMap((a) => a.json.results as { id: string; status: string; credits?: number }[]);
    const accepted = await db.selectFrom('spends').select(['id', 'credits']).where('status', '=', 'accepted').execute();
    const grant = await db.selectFrom('grants').select(['spent', 'credits']).executeTakeFirstOrThrow();
    expect(grant).toEqual({ spent: 10, credits: 10 });
    expect(accepted.reduce((n, s) => n + Number(s.credits), 0)).toBe(10);
    expect(results.filter((r) => r.status === 'accepted').map((r) => r.id).sort()).toEqual(accepted.map((s) => s.id).sort());
    expect(results.find((r) => r.status === 'refused')).toMatchObject({ reason: expect.stringMatching(/credits left, the spend needs/) });
  });

  test('the same spend delivered twice, in one request or two, is counted once', async () => {
    const { url } = await cloud();
    const s = await signUp(url, 'max@example.com');
    const { balance } = (await api(url, 'GET', '/v1/grants/current', { token: s.accessToken })).json;
    const spend = { id: 'render-7f3a', grantId: balance.grantId, credits: 3, spentAt: new Date().toISOString() };
    const once = await api(url, 'POST', '/v1/spends', { token: s.accessToken, body: { spends: [spend, spend] } });
    expect(once.json.results).toEqual([
      { id: 'render-7f3a', status: 'accepted', duplicate: false },
      { id: 'render-7f3a', status: 'accepted', duplicate: true },
    ]);
    const twice = await api(url, 'POST', '/v1/spends', { token: s.accessToken, body: { spends: [spend] } });
    expect(twice.json.balance).toMatchObject({ spent: 3, remaining: 7 });
  });

  test("a spend naming another account's grant is refused and not counted", async () => {
    const { url, db } = await cloud();
    const a = await signUp(url, 'ned@example.com');
    const b = await signUp(url, 'ola@example.com');
    const grantA = (await api(url, 'GET', '/v1/grants/current', { token: a.accessToken })).json.balance.grantId;
    const answer = await api(url, 'POST', '/v1/spends', { token: b.accessToken, body: { spends: [{ id: 'steal-0001', grantId: grantA, credits: 5, spentAt: new Date().toISOString() }] } });
    expect(answer.json.results[0]).toMatchObject({ status: 'refused', reason: expect.stringContaining('no such grant') });
    expect(await db.selectFrom('grants').select('spent').where('id', '=', grantA).executeTakeFirstOrThrow()).toEqual({ spent: 0 });
  });
});

describe('the service around it', () => {
  test('/health answers, and every route in /openapi.json exists on the server', async () => {
    const { url } = await cloud();
    expect((await api(url, 'GET', '/health')).json).toEqual({ ok: true });
    const doc = (await api(url, 'GET', '/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), path.replace('{id}', 'x')]));
    expect(routes.length).toBeGreaterThanOrEqual(13);
    for (const [method, path] of routes) {
      const answer = await api(url, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
      expect(answer.json?.error?.message ?? '', `${method} ${path}`).not.toMatch(/no such route/);
    }
    expect((await api(url, 'GET', '/v1/nothing')).json.error.message).toMatch(/no such route/);
  });

  test('src-cloud imports nothing from the app or the renderer, so it deploys on its own', () => {
    const root = resolve(import.meta.dirname, '../..');
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
    const offenders = files(join(root, 'src-cloud')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]).filter((i) => /src-(main|renderer)|^electron$/.test(i)).map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('deployment', () => {
  test('a Postgres DATABASE_URL without the pg package fails saying what to install', async () => {
    const { openCloudDatabase } = await import('../../src-cloud/db');
    await expect(openCloudDatabase('postgres://cloud@127.0.0.1:1/cloud')).rejects.toThrow(/npm i pg/);
  });
});
