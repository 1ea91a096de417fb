import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setPlan } from '../../src-cloud/app';
import type { AccountDetails } from '../../src-shared/ipc';
import { api, startCloud, tempDir, type RunningCloud } from '../cloud/support';
import { usePage, type PageSession } from './harness';

/** Screenshots for a person to look at; not compared by the test. */
const SHOTS = process.env.MP_SHOTS ?? '/tmp/mp-shots';
const RENDER_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery';
// Over ten minutes of speech at the voices' pace: more than the free month's 10 credits.
const TOO_LONG_SCRIPT = 'This sentence is one of many that make the script longer than the credits left allow. '.repeat(120).trim();

/** The screens and the Account screen's parts, as a user finds them. */
function screens(ui: PageSession) {
  const open = (name: string) => ui.page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name, exact: true }).click();
  const account = () => ui.page.getByRole('region', { name: 'Account' });
  return {
    open,
    account,
    compose: () => ui.page.getByRole('region', { name: 'New video' }),
    library: () => ui.page.getByRole('region', { name: 'Library' }),
    signInForm: () => account().getByRole('form', { name: 'Sign in' }),
    devices: () => account().getByRole('list', { name: 'Devices' }),
    async fillCredentials(email: string, password: string) {
      await account().getByLabel('Email').fill(email);
      await account().getByLabel('Password').fill(password);
    },
    async details(): Promise<AccountDetails> {
      const answer = await ui.harness.app.handlers['account:get']({});
      if (!answer.ok) throw new Error(answer.error.message);
      return answer.value;
    },
  };
}

describe('the Account screen in Chromium, against the real cloud server', () => {
  let cloud: RunningCloud | undefined;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // The tests all sign in from 127.0.0.1; the per-address sign-in limit is raised so only the per-email one is met.
    cloud = await startCloud(join(tempDir('mouthpiece-e2e-cloud-'), 'cloud.db'), { limits: { authPerIp: { max: 1000, windowMs: 60_000 } } });
  });
  afterAll(async () => {
    await cloud?.stop();
  });
  const ui = usePage(() => ({ cloudUrl: cloud!.url, viewport: { width: 1280, height: 800 } }));
  const s = screens(ui);

  test('creating an account shows Free with 10 credits and this device; signing out keeps the library; a wrong password shows the server\'s message', async () => {
    const made = await ui.harness.app.handlers['videos:create']({ text: 'Made before signing in.', title: 'Made before signing in' });
    expect(made.ok).toBe(true);
    await ui.page.reload();

    await s.open('Account');
    await s.signInForm().waitFor();
    expect(await s.account().getByTestId('local-credits').textContent()).toBe('10 credits');
    await ui.page.screenshot({ path: join(SHOTS, 'account-signed-out.png') });

    await s.fillCredentials('ada@example.com', PASSWORD);
    await s.account().getByRole('button', { name: 'Create account' }).click();
    await s.account().getByTestId('account-email').waitFor();
    expect(await s.account().getByTestId('account-email').textContent()).toBe('ada@example.com');
    expect(await s.account().getByTestId('account-tier').textContent()).toBe('Free');
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('10');
    expect(await s.account().getByTestId('account-allows').textContent()).toBe('Up to 1080p, with a small “Made with Mouthpiece” mark');
    expect(await s.account().getByTestId('account-last-sync').textContent()).toMatch(/^Last synced /);
    // The device list is the cloud's: one device, this one.
    const device = s.devices().getByRole('listitem');
    expect(await device.count()).toBe(1);
    expect(await device.getByText('This device').count()).toBe(1);
    expect(await device.getByRole('button').count()).toBe(0);
    const account = await s.details();
    expect(account).toMatchObject({ signedIn: true, tier: 'free', credits: 10, maxQuality: '1080p', watermark: true, lastSyncError: null, grantProblem: null });
    await ui.page.screenshot({ path: join(SHOTS, 'account-signed-in.png') });

    await s.account().getByRole('button', { name: 'Sign out' }).click();
    await s.signInForm().waitFor();
    expect((await s.details()).signedIn).toBe(false);
    await s.open('Videos');
    await s.library().getByRole('listitem', { name: 'Made before signing in', exact: true }).waitFor();

    await s.open('Account');
    await s.fillCredentials('ada@example.com', 'not the password');
    await s.account().getByRole('button', { name: 'Sign in' }).click();
    const alert = s.account().getByRole('alert');
    await alert.waitFor();
    // The very words the server answers to a wrong password.
    const refused = await api(cloud!.url, 'POST', '/v1/sessions', { body: { email: 'nobody@example.com', password: 'not the password' } });
    expect(refused.status).toBe(401);
    expect(await alert.textContent()).toBe(`Could not sign in: ${refused.json.error.message}`);
    expect((await s.details()).signedIn).toBe(false);
    await ui.page.screenshot({ path: join(SHOTS, 'account-wrong-password.png') });

    await s.account().getByLabel('Password').fill(PASSWORD);
    await s.account().getByRole('button', { name: 'Sign in' }).click();
    await s.account().getByTestId('account-email').waitFor();
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('10');
    // Signing in again on this device is the same device, not a second one.
    expect(await s.devices().getByRole('listitem').count()).toBe(1);
    expect(ui.errors).toEqual([]);
  });

  test('a render takes its credit at once, settles with the cloud on Sync now, and the devices list can sign another device out', async () => {
    const signedIn = await ui.harness.app.handlers['account:register']({ email: 'bea@example.com', password: PASSWORD });
    if (!signedIn.ok) throw new Error(signedIn.error.message);
    await ui.page.reload();

    await s.compose().getByLabel('Title').fill('Short video');
    await s.compose().getByLabel('Script').fill('Hello! This short video costs one credit.');
    await s.compose().getByRole('button', { name: 'Render' }).click();
    await s.library().getByRole('listitem', { name: 'Short video', exact: true }).waitFor();
    await expect
      .poll(async () => {
        const listed = await ui.harness.app.handlers['videos:list']({});
        return listed.ok ? listed.value.find((v) => v.title === 'Short video')?.status : listed.error.message;
      }, { timeout: RENDER_TIMEOUT_MS, interval: 500 })
      .toBe('completed');

    // Taken off here at once; the cloud has not heard of it yet.
    await s.open('Account');
    await s.account().getByTestId('account-pending').waitFor();
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('9');
    expect(await s.account().getByTestId('account-pending').textContent()).toMatch(/^1 render \(1 credit\) made here is not settled with the cloud yet/);
    const grant = () => cloud!.db.selectFrom('grants').innerJoin('accounts', 'accounts.id', 'grants.account_id').select(['grants.spent', 'grants.credits']).where('accounts.email', '=', 'bea@example.com').executeTakeFirstOrThrow();
    expect(await grant()).toEqual({ spent: 0, credits: 10 });
    await ui.page.screenshot({ path: join(SHOTS, 'account-pending.png') });

    // A second device signs in to the same account elsewhere.
    const laptop = await api(cloud!.url, 'POST', '/v1/sessions', { body: { email: 'bea@example.com', password: PASSWORD, deviceName: 'Bea’s laptop' } });
    expect(laptop.status).toBe(201);

    await s.account().getByRole('button', { name: 'Sync now' }).click();
    await s.account().getByTestId('account-pending').waitFor({ state: 'detached' });
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('9');
    expect(await grant()).toEqual({ spent: 1, credits: 10 });
    expect(await s.details()).toMatchObject({ credits: 9, pendingSpends: 0, pendingCredits: 0, lastSyncError: null });

    await s.account().getByRole('button', { name: 'Sync now' }).click();
    const other = s.devices().getByRole('listitem', { name: 'Bea’s laptop' });
    await other.waitFor();
    expect(await s.devices().getByRole('listitem').count()).toBe(2);
    expect(await other.getByText('This device').count()).toBe(0);
    expect(await s.devices().getByText('This device').count()).toBe(1);
    await ui.page.screenshot({ path: join(SHOTS, 'account-two-devices.png') });
    await other.getByRole('button', { name: 'Sign it out' }).click();
    await other.waitFor({ state: 'detached' });
    expect(await s.devices().getByRole('listitem').count()).toBe(1);
    const laptopAfter = await api(cloud!.url, 'GET', '/v1/devices', { token: laptop.json.accessToken });
    expect(laptopAfter.status).toBe(401);

    // An upgrade made on the cloud reaches the screen with the next sync.
    await setPlan(cloud!.db, 'bea@example.com', 'premium');
    await s.account().getByRole('button', { name: 'Sync now' }).click();
    await expect.poll(() => s.account().getByTestId('account-tier').textContent()).toBe('Premium');
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('599');
    expect(await s.account().getByTestId('account-allows').textContent()).toBe('Up to 2160p, no watermark');
    await ui.page.screenshot({ path: join(SHOTS, 'account-premium.png') });
    expect(ui.errors).toEqual([]);
  }, RENDER_TIMEOUT_MS + 60_000);

  test('signing in too often shows the server\'s limit with its wait', async () => {
    await s.open('Account');
    await s.fillCredentials('cy@example.com', 'a wrong password');
    const alert = s.account().getByRole('alert');
    let shown = '';
    // The cloud allows a few attempts a minute per email, then answers 429 with how long to wait.
    for (let attempt = 0; attempt < 10 && !/too many/.test(shown); attempt++) {
      await s.account().getByRole('button', { name: 'Sign in' }).click();
      await alert.waitFor();
      await s.account().getByRole('button', { name: 'Sign in' }).and(ui.page.locator(':enabled')).waitFor();
      shown = (await alert.textContent()) ?? '';
    }
    expect(shown).toMatch(/^Could not sign in: too many requests; try again in \d+ s$/);
    await ui.page.screenshot({ path: join(SHOTS, 'account-rate-limited.png') });
  });
});

describe('signed out, with the cloud unreachable, in Chromium', () => {
  let deadCloud = '';
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // A port nothing listens on: taken, then let go.
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    deadCloud = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((done) => probe.close(() => done()));
  });
  const ui = usePage(() => ({ cloudUrl: deadCloud, viewport: { width: 1280, height: 800 } }));
  const s = screens(ui);

  test('a script costing more than the credits left is warned about before Render, and main\'s refusal says what to do', async () => {
    await s.compose().getByLabel('Title').fill('Too long');
    await s.compose().getByLabel('Script').fill(TOO_LONG_SCRIPT);
    const warning = s.compose().getByTestId('credits-warning');
    await warning.waitFor();
    expect(await warning.textContent()).toMatch(/^This video costs about \d+ credits and 10 are left this month, so it will not render\. Shorten the script, wait for next month’s credits, or sign in/);
    await warning.scrollIntoViewIfNeeded();
    await ui.page.screenshot({ path: join(SHOTS, 'credits-warning-compose.png') });

    await s.compose().getByRole('button', { name: 'Render' }).click();
    const refusal = s.compose().getByRole('alert');
    await refusal.waitFor();
    const draft = await ui.harness.app.handlers['videos:list']({});
    if (!draft.ok) throw new Error(draft.error.message);
    const started = await ui.harness.app.handlers['render:start']({ videoId: draft.value[0].id });
    expect(started.ok).toBe(false);
    if (started.ok) return;
    expect(started.error.code).toBe('FORBIDDEN');
    expect(await refusal.getByText(started.error.message, { exact: true }).count()).toBe(1);
    expect(await refusal.getByText('Not enough credits to render').count()).toBe(1);
    // The script stays, and the draft waits in the library for next month.
    expect(await s.compose().getByLabel('Script').inputValue()).toBe(TOO_LONG_SCRIPT);
    await ui.page.screenshot({ path: join(SHOTS, 'credits-refused-compose.png') });

    // The editor's render bar says the same before and after Render.
    await s.library().getByRole('listitem', { name: 'Too long', exact: true }).getByRole('button', { name: 'Edit', exact: true }).click();
    const editor = ui.page.getByRole('region', { name: 'Editor' });
    await editor.getByTestId('estimate').waitFor();
    expect(await editor.getByTestId('estimate').textContent()).toMatch(/ · \d+ credits · free: 10 left$/);
    await editor.getByTestId('credits-warning').waitFor();
    await editor.getByRole('button', { name: 'Render' }).click();
    const barRefusal = editor.locator('#render-error');
    await barRefusal.getByText(started.error.message, { exact: true }).waitFor();
    expect(await editor.getByTestId('credits-warning').count()).toBe(0);
    await ui.page.screenshot({ path: join(SHOTS, 'credits-refused-editor.png') });

    // Its button leads to the Account screen, to sign in.
    await barRefusal.getByRole('button', { name: 'Sign in' }).click();
    await s.signInForm().waitFor();
    expect(ui.errors).toEqual([]);
  });

  test('signing in says the cloud cannot be reached and that the app keeps working offline', async () => {
    await s.open('Account');
    await s.fillCredentials('dee@example.com', PASSWORD);
    await s.account().getByRole('button', { name: 'Sign in' }).click();
    const alert = s.account().getByRole('alert');
    await alert.waitFor();
    const answer = await ui.harness.app.handlers['account:signIn']({ email: 'dee@example.com', password: PASSWORD });
    expect(answer.ok).toBe(false);
    if (answer.ok) return;
    expect(answer.error.message).toContain(deadCloud);
    expect(await alert.getByText(`Could not sign in: ${answer.error.message}`, { exact: true }).count()).toBe(1);
    expect(await alert.getByText(/^Mouthpiece keeps working without the cloud/).count()).toBe(1);
    // Still the free month on this computer, ready to render.
    expect(await s.account().getByTestId('local-credits').textContent()).toBe('10 credits');
    await ui.page.screenshot({ path: join(SHOTS, 'account-offline.png') });
  });
});

describe('when the cloud goes away after signing in, in Chromium', () => {
  let cloud: RunningCloud | undefined;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    cloud = await startCloud(join(tempDir('mouthpiece-e2e-cloud-'), 'cloud.db'));
  });
  afterAll(async () => {
    await cloud?.stop();
  });
  const ui = usePage(() => ({ cloudUrl: cloud!.url, viewport: { width: 1280, height: 800 } }));
  const s = screens(ui);

  test('Sync now shows the failed sync and its error, and the credits last known stay usable', async () => {
    const signedIn = await ui.harness.app.handlers['account:register']({ email: 'eve@example.com', password: PASSWORD });
    if (!signedIn.ok) throw new Error(signedIn.error.message);
    await ui.page.reload();
    await s.open('Account');
    await s.account().getByTestId('account-email').waitFor();
    const synced = await s.account().getByTestId('account-last-sync').textContent();
    expect(synced).toMatch(/^Last synced /);

    const gone = cloud!;
    cloud = undefined;
    await gone.stop();
    await s.account().getByRole('button', { name: 'Sync now' }).click();
    const failure = s.account().getByTestId('account-sync-error');
    await failure.waitFor();
    const account = await s.details();
    expect(account.lastSyncError).toContain(gone.url);
    expect(await failure.getByText(`The last sync failed: ${account.lastSyncError}`, { exact: true }).count()).toBe(1);
    expect(await failure.getByText(/^Mouthpiece keeps working without the cloud/).count()).toBe(1);
    // Still signed in, with the grant it last had: the same credits and the time of the last good sync.
    expect(await s.account().getByTestId('account-credits').textContent()).toBe('10');
    expect(await s.account().getByTestId('account-last-sync').textContent()).toBe(synced);
    await ui.page.screenshot({ path: join(SHOTS, 'account-sync-failed.png') });
    expect(ui.errors).toEqual([]);
  });
});
