import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readAccount, setAccountTier } from '../../../src-main/account/account';
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

describe('the account renders are made for', () => {
  test('with no account stored it is the free tier: 10 credits, at most 1080p, watermarked', async () => {
    expect(await readAccount(db)).toEqual({ signedIn: false, email: null, tier: 'free', credits: 10, maxQuality: '1080p', watermark: true });
  });

  test('a premium account may render 2160p without the watermark, and stays premium after reopening', async () => {
    await setAccountTier(db, 'premium', 120);
    await db.destroy();
    db = await openDatabase(file);
    expect(await readAccount(db)).toMatchObject({ tier: 'premium', credits: 120, maxQuality: '2160p', watermark: false });
  });

  test('changing the tier keeps the credits unless new ones are given, in the one local account', async () => {
    await setAccountTier(db, 'premium', 40);
    expect(await setAccountTier(db, 'free')).toMatchObject({ tier: 'free', credits: 40, maxQuality: '1080p', watermark: true });
    expect(await db.selectFrom('accounts').select('id').execute()).toHaveLength(1);
  });

  test('negative or fractional credits are refused, naming the field', async () => {
    await expect(setAccountTier(db, 'free', -1)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('account.credits') });
    await expect(setAccountTier(db, 'free', 1.5)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await readAccount(db)).toMatchObject({ credits: 10 });
  });
});
