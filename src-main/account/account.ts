import { AppError, ErrorCode } from '../../src-shared/errors';
import type { AccountSummary } from '../../src-shared/ipc';
import type { Db } from '../db/connection';
import type { AccountsTable } from '../db/schema';

/** Credits a new, signed-out user starts with. */
export const FREE_CREDITS = 10;
/** The id of the account row kept on this machine until the sync issue signs someone in. */
const LOCAL_ACCOUNT = 'local';

function summary(row: Pick<AccountsTable, 'email' | 'tier' | 'credits'>): AccountSummary {
  const premium = row.tier === 'premium';
  return {
    signedIn: row.email !== null,
    email: row.email,
    tier: row.tier,
    credits: row.credits,
    maxQuality: premium ? '2160p' : '1080p',
    watermark: !premium,
  };
}

async function currentRow(db: Db): Promise<AccountsTable | undefined> {
  return db.selectFrom('accounts').selectAll().orderBy('updated_at', 'desc').orderBy('id').executeTakeFirst();
}

/** The account renders are made for: the stored one, or the free defaults when there is none. */
export async function readAccount(db: Db): Promise<AccountSummary> {
  return summary((await currentRow(db)) ?? { email: null, tier: 'free', credits: FREE_CREDITS });
}

/** Set the tier (and, when given, the credits) of the account, creating the local one if there is none. */
export async function setAccountTier(db: Db, tier: AccountSummary['tier'], credits?: number): Promise<AccountSummary> {
  if (tier !== 'free' && tier !== 'premium') throw new AppError(ErrorCode.BadInput, `account.tier: "${String(tier)}" is not a tier; use free or premium`);
  if (credits !== undefined && !(Number.isInteger(credits) && credits >= 0)) {
    throw new AppError(ErrorCode.BadInput, `account.credits: ${credits} is not a whole number of credits of 0 or more`);
  }
  return db.transaction().execute(async (trx) => {
    const row = await currentRow(trx);
    const next: AccountsTable = {
      id: row?.id ?? LOCAL_ACCOUNT,
      email: row?.email ?? null,
      tier,
      credits: credits ?? row?.credits ?? FREE_CREDITS,
      updated_at: new Date().toISOString(),
    };
    if (row) await trx.updateTable('accounts').set(next).where('id', '=', row.id).execute();
    else await trx.insertInto('accounts').values(next).execute();
    return summary(next);
  });
}
