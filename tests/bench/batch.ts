/**
 * A personalised batch against single renders: 20 rows of a 10-second video (a talking photo cut
 * out on the keynote template, 720p: a personal first scene and a constant second one), made
 * (a) as 20 separate CLI renders one after another, (b) as one CLI --batch, and (c) as 20 renders
 * queued in one process without a batch, which separates what one process saves (start-up, warm
 * workers) from what the batch's shared work saves (the photo's preparation, the constant scene's
 * speech, the template's stills). All in one fresh data folder, after one warm-up render.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { openApp } from '../../src-main/app';
import { LOCAL_ACCOUNT, monthOf } from '../../src-main/account/account';
import { signGrant, type SigningKey } from '../../src-cloud/crypto';
import { createVideo, parseProject } from '../../src-main/videos/createVideo';
import { SHARED_DIR, sharedFile } from '../support/shared';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NAMES = ['Anna', 'Ben', 'Chloe', 'Dev', 'Esther', 'Farid', 'Grace', 'Hiroshi', 'Ines', 'Jonas', 'Kemi', 'Lars', 'Maya', 'Nikolai', 'Olu', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tomasz'];

const projectOf = (firstName: string, avatar: string) => ({
  title: `Welcome, ${firstName}`,
  template: 'keynote',
  quality: '720p',
  avatar,
  voice: 'espeak:en-us',
  scenes: [
    { text: `Hi ${firstName}, and welcome to Cycle Corner. We are so glad you are here.` },
    { text: 'Come by any Saturday for a free safety check, and the coffee is on us.' },
  ],
});

/** Nothing listens on port 1: a connection there is refused at once. */
const CLOUD_URL = 'http://127.0.0.1:1';

/** A signed-in account whose free-plan grant (watermark, 1080p at most) holds enough credits for the bench. */
function benchAccount() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const key: SigningKey = { kid: createHash('sha256').update(spki).digest('hex').slice(0, 16), privateKey, publicSpki: spki.toString('base64') };
  const now = new Date();
  const grant = signGrant(
    {
      v: 1,
      kid: key.kid,
      grantId: 'bench-grant',
      accountId: 'bench-account',
      email: 'bench@example.com',
      plan: 'free',
      credits: 1000,
      spent: 0,
      maxQuality: '1080p',
      watermark: true,
      period: monthOf(now),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    },
    key,
  );
  return {
    id: LOCAL_ACCOUNT,
    email: 'bench@example.com',
    tier: 'free' as const,
    credits: 0,
    updated_at: now.toISOString(),
    server_url: CLOUD_URL,
    cloud_account_id: 'bench-account',
    device_id: null,
    server_kid: key.kid,
    server_key: key.publicSpki,
    grant_token: grant,
    grant_problem: null,
    devices_json: null,
    last_sync_at: null,
    last_sync_error: null,
  };
}

/** `npm run render -- ARGS` as a user runs it, in the bench's data folder. */
async function cli(home: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'render', '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, MOUTHPIECE_HOME: home, MOUTHPIECE_CLOUD_URL: CLOUD_URL },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: (performance.now() - started) / 1000, value };
}

export async function benchBatch(): Promise<void> {
  process.env.MOUTHPIECE_MODELS ??= join(SHARED_DIR, 'models');
  const dir = mkdtempSync(join(tmpdir(), 'mp-bench-batch-'));
  const home = join(dir, 'home');
  const photo = sharedFile('fixtures/portrait_nasa_eileen_collins.png');
  const rows = NAMES.length;

  // 61 renders are more than the free month's 10 credits: the bench's data folder is signed in
  // with a grant of its own, made with a key of its own. No cloud answers (CLOUD_URL is closed), so
  // each sync after a render fails at once and adds no round trip to the figures.
  const setup = await openApp({ home, cloudUrl: CLOUD_URL });
  try {
    await setup.db.insertInto('accounts').values(benchAccount()).execute();
  } finally {
    await setup.close();
  }
  await mkdir(join(dir, 'singles'));
  await mkdir(join(dir, 'queued'));

  // The warm-up prepares the photo into the library and probes the encoders, as a used app has done.
  await writeFile(join(dir, 'warm.json'), JSON.stringify(projectOf('Zoe', photo)));
  await cli(home, [join(dir, 'warm.json'), '-o', join(dir, 'warm.mp4')]);

  for (const [i, name] of NAMES.entries()) await writeFile(join(dir, `row-${i}.json`), JSON.stringify(projectOf(name, photo)));
  const singles = await timed(async () => {
    for (let i = 0; i < rows; i++) await cli(home, [join(dir, `row-${i}.json`), '-o', join(dir, 'singles', `row-${i}.mp4`)]);
  });

  const template = projectOf('{{first_name}}', photo);
  await writeFile(join(dir, 'project.json'), JSON.stringify(template));
  await writeFile(join(dir, 'rows.csv'), ['first_name', ...NAMES].join('\n') + '\n');
  const batch = await timed(() => cli(home, [join(dir, 'project.json'), '--batch', join(dir, 'rows.csv'), '--out-dir', join(dir, 'batch')]));
  const results = (await readFile(join(dir, 'batch', 'results.csv'), 'utf8')).trim().split('\n').slice(1);
  const made = results.filter((line) => line.split(',').includes('completed')).length;
  if (made !== rows) throw new Error(`the batch made ${made} of ${rows} videos:\n${results.join('\n')}`);
  const seconds = results.map((line) => Number(line.split(',')[4]));
  const videoSeconds = seconds.reduce((a, b) => a + b, 0) / seconds.length;

  const app = await openApp({ home, cloudUrl: CLOUD_URL });
  let queued;
  try {
    const avatar = await app.avatars.importForRender(photo, () => {});
    queued = await timed(async () => {
      const dones = [];
      for (const [i, name] of NAMES.entries()) {
        const video = await createVideo(app.db, { project: parseProject(projectOf(name, avatar.id), 'bench') });
        dones.push((await app.queue.enqueue(video.id, join(dir, 'queued', `row-${i}.mp4`))).done);
      }
      for (const summary of await Promise.all(dones)) {
        if (summary.status !== 'completed') throw new Error(`queued render ${summary.id} ${summary.status}: ${summary.error}`);
      }
    });
  } finally {
    await app.close();
  }

  await rm(dir, { recursive: true, force: true });
  const line = (label: string, total: number) => `  ${label.padEnd(34)} ${total.toFixed(1).padStart(6)} s, ${(total / rows).toFixed(2)} s per video`;
  console.log(`personalised batch, ${rows} rows of about ${videoSeconds.toFixed(1)} s of video (talking photo cut out on keynote, 720p)`);
  console.log(line(`(a) ${rows} single renders, CLI`, singles.seconds));
  console.log(line(`(b) one --batch of ${rows} rows, CLI`, batch.seconds));
  console.log(`  ratio a/b                          ${(singles.seconds / batch.seconds).toFixed(2)}x (the batch's saving over separate renders)`);
  console.log(line(`(c) ${rows} renders queued, one process`, queued.seconds));
  console.log(`  ratio c/b                          ${(queued.seconds / batch.seconds).toFixed(2)}x (shared work alone: same process, no batch)`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchBatch().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
