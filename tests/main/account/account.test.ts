import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checkCredits, readAccount, readAccountDetails, recordSpend } from '../../../src-main/account/account';
import { openDatabase, type Db } from '../../../src-main/db/connection';

let file: string;
let db: Db;

beforeEach(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'mp-account-')), 'mouthpiece.db');
  db = await openDatabase(file);
});
afterEach(async () => {
  await db.destroy();
});

describe('the account renders are made for, signed out', () => {
  test('with no account stored it is the free tier: 10 credits, at most 1080p, watermarked', async () => {
    expect(await readAccount(db)).toEqual({ signedIn: false, email: null, tier: 'free', credits: 10, maxQuality: '1080p', watermark: true });
  });

  test('a premium tier written into the accounts row without a signed grant is not believed', async () => {
    const now = new Date().toISOString();
    await db.insertInto('accounts').values({ id: 'local', email: 'me@example.com', tier: 'premium', credits: 600, updated_at: now, cloud_account_id: 'x', grant_token: 'e30.AAAA', server_key: 'AAAA' }).execute();
    expect(await readAccountDetails(db)).toMatchObject({ tier: 'free', maxQuality: '1080p', watermark: true, credits: 10, grantProblem: expect.stringContaining('signature') });
  });

  test('signed-out renders count against this month of free credits, kept across reopening, and last month is forgotten', async () => {
    await recordSpend(db, { credits: 3, videoId: 'v1' });
    await recordSpend(db, { credits: 4, now: new Date(Date.UTC(2020, 0, 15)) });
    await db.destroy();
    db = await openDatabase(file);
    expect(await readAccount(db)).toMatchObject({ signedIn: false, credits: 7 });
    expect(await db.selectFrom('account_outbox').select(['state', 'video_id']).where('video_id', '=', 'v1').execute()).toEqual([{ state: 'local', video_id: 'v1' }]);
  });

  test('the credits never read below zero, and a render that costs more than is left is refused naming what to do', async () => {
    await recordSpend(db, { credits: 12 });
    expect(await readAccount(db)).toMatchObject({ credits: 0 });
    await expect(checkCredits(db, 1)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('1 credit (1 per started minute of video) and 0 are left this month; shorten the script, wait for next month\'s credits, or sign in to a premium account') });
  });

  test('a spend of no or fractional credits is refused, naming the field; the same spend id is recorded once', async () => {
    await expect(recordSpend(db, { credits: 0 })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('spend.credits') });
    await expect(recordSpend(db, { credits: 1.5 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await recordSpend(db, { credits: 2, id: 'render-1' });
    await recordSpend(db, { credits: 2, id: 'render-1' });
    expect(await readAccount(db)).toMatchObject({ credits: 8 });
  });
});

describe('recording a spend with the render that caused it', () => {
  test('a spend recorded in a transaction that fails is not kept, so a render that did not complete costs nothing', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await recordSpend(trx, { credits: 4, videoId: 'v1' });
        throw new Error('the completion write failed');
      }),
    ).rejects.toThrow('the completion write failed');
    expect(await readAccount(db)).toMatchObject({ credits: 10 });
    expect(await db.selectFrom('account_outbox').selectAll().execute()).toEqual([]);
  });
});

describe('005_account_sync', () => {
  test('keeps the account row of an older database, and its premium tier without a grant falls back to free', async () => {
    const old = await openDatabase(file.replace('.db', '-old.db'), { until: '004_models' });
    await old.insertInto('accounts').values({ id: 'local', email: null, tier: 'premium', credits: 120, updated_at: '2026-01-01T00:00:00.000Z' } as never).execute();
    await old.destroy();
    const migrated = await openDatabase(file.replace('.db', '-old.db'));
    expect(await migrated.selectFrom('accounts').select(['id', 'tier', 'grant_token', 'last_sync_error']).execute()).toEqual([{ id: 'local', tier: 'premium', grant_token: null, last_sync_error: null }]);
    expect(await readAccount(migrated)).toMatchObject({ tier: 'free', credits: 10, watermark: true });
    await expect(migrated.insertInto('account_outbox').values({ id: 's', kind: 'refund', state: 'pending', credits: 1, period: '2026-01', next_attempt_at: 'x', created_at: 'x' } as never).execute()).rejects.toThrow(/CHECK/);
    await migrated.destroy();
  });
});
