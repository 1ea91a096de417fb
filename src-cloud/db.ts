import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Dialect, type MigrationProvider } from 'kysely';

export interface CloudAccountsTable {
  id: string;
  email: string;
  password_hash: string;
  plan: 'free' | 'premium';
  created_at: string;
}

export interface CloudDevicesTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
  last_seen_at: string;
  revoked_at: string | null;
}

/** One sign-in on one device: the family every refresh token it rotates through belongs to. */
export interface CloudSessionsTable {
  id: string;
  account_id: string;
  device_id: string;
  created_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

export interface CloudAccessTokensTable {
  token_hash: string;
  session_id: string;
  expires_at: string;
}

export interface CloudRefreshTokensTable {
  token_hash: string;
  session_id: string;
  expires_at: string;
  /** Set when rotated: a second use of the same token means it leaked, and revokes the family. */
  used_at: string | null;
}

export interface CloudGrantsTable {
  id: string;
  account_id: string;
  /** UTC month, YYYY-MM. */
  period: string;
  plan: 'free' | 'premium';
  credits: number;
  spent: number;
  issued_at: string;
  expires_at: string;
}

export interface CloudSpendsTable {
  /** Chosen by the device, so a spend delivered twice is recognised. */
  id: string;
  account_id: string;
  grant_id: string;
  device_id: string | null;
  credits: number;
  status: 'accepted' | 'refused';
  spent_at: string;
  received_at: string;
}

export interface CloudAuditTable {
  id: string;
  at: string;
  account_id: string | null;
  type: string;
  ip: string | null;
  data_json: string | null;
}

export interface CloudKeysTable {
  kid: string;
  private_pem: string;
  public_spki: string;
  created_at: string;
}

export interface CloudDatabase {
  accounts: CloudAccountsTable;
  devices: CloudDevicesTable;
  sessions: CloudSessionsTable;
  access_tokens: CloudAccessTokensTable;
  refresh_tokens: CloudRefreshTokensTable;
  grants: CloudGrantsTable;
  spends: CloudSpendsTable;
  audit: CloudAuditTable;
  signing_keys: CloudKeysTable;
}

export type CloudDb = Kysely<CloudDatabase>;

// Frozen once released; timestamps are ISO text so that SQLite and Postgres compare them alike.
const migrations: Record<string, { up(db: Kysely<unknown>): Promise<void> }> = {
  '001_cloud': {
    async up(db) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull().check(sql`plan in ('free','premium')`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_reason', 'text')
        .execute();
      await db.schema
        .createTable('access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema
        .createTable('grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('credits', 'integer', (c) => c.notNull().check(sql`credits >= 0`))
        // The database itself refuses overspending, whatever a writer forgets.
        .addColumn('spent', 'integer', (c) => c.notNull().defaultTo(0).check(sql`spent >= 0 and spent <= credits`))
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('grants_account_period', ['account_id', 'period'])
        .execute();
      await db.schema
        .createTable('spends')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
        .addColumn('device_id', 'text')
        .addColumn('credits', 'integer', (c) => c.notNull().check(sql`credits > 0`))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('accepted','refused')`))
        .addColumn('spent_at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('data_json', 'text')
        .execute();
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('private_pem', 'text', (c) => c.notNull())
        .addColumn('public_spki', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_device').on('sessions').column('device_id').execute();
      await db.schema.createIndex('audit_account_at').on('audit').columns(['account_id', 'at']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Open the cloud database: a SQLite file by default, or Postgres when `url` is a postgres:// URL.
 * Postgres needs the `pg` package, which the app does not ship: deployments run `npm i pg`.
 */
export async function openCloudDatabase(url: string): Promise<CloudDb> {
  let dialect: Dialect;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = await import('pg' as string).catch(() => {
      throw new Error('DATABASE_URL is a Postgres URL but the pg package is missing; run `npm i pg` in the deployment');
    });
    dialect = new PostgresDialect({ pool: new (pg.default ?? pg).Pool({ connectionString: url }) });
  } else {
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new BetterSqlite3(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    dialect = new SqliteDialect({ database: sqlite });
  }
  const db = new Kysely<CloudDatabase>({ dialect });
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`cloud database migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
  return db;
}
