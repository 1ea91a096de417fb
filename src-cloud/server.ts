/**
 * npm run cloud: the reference cloud server. PORT (default 8787); DATABASE_URL a SQLite file
 * (default ./cloud-data/cloud.db) or a postgres:// URL (then `npm i pg` in the deployment);
 * CLOUD_SIGNING_KEY an Ed25519 private key in PEM (default: one kept in the database);
 * HOST (default 127.0.0.1; 0.0.0.0 behind a TLS proxy, with TRUST_PROXY=1).
 */
import { createCloud } from './app';
import { openCloudDatabase } from './db';

const db = await openCloudDatabase(process.env.DATABASE_URL ?? './cloud-data/cloud.db');
const cloud = await createCloud({ db, signingKeyPem: process.env.CLOUD_SIGNING_KEY, trustProxy: process.env.TRUST_PROXY === '1' });
const port = await cloud.listen(Number(process.env.PORT ?? 8787), process.env.HOST ?? '127.0.0.1');
console.log(`mouthpiece cloud on http://${process.env.HOST ?? '127.0.0.1'}:${port} (key ${cloud.key.kid})`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cloud.close().then(() => db.destroy()).then(() => process.exit(0)));
}
