import { useEffect, useState, type FormEvent } from 'react';
import { invoke } from '../../api';
import { Field } from '../../components/fields';
import { loadAccount, useStore } from '../../store';
import { formatCredits, describeLimits } from '../../store/account';
import { errorCode, ErrorCode } from '../../../src-shared/errors';
import type { AccountDetails, Device } from '../../../src-shared/ipc';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Main answers IO_FAILED when the cloud cannot be reached or does not answer in time. */
const OFFLINE_NOTE = 'Mouthpiece keeps working without the cloud: renders use the credits it last knew, and it settles when the cloud is back.';
const OFFLINE_SIGNED_OUT_NOTE = 'Mouthpiece keeps working without the cloud: go on making videos with this computer’s free credits, and sign in once it is back.';

interface Failure {
  text: string;
  offline: boolean;
}

const failureOf = (what: string, error: unknown): Failure => ({ text: `${what}: ${messageOf(error)}`, offline: errorCode(error) === ErrorCode.Io });

const tierName = (tier: AccountDetails['tier']) => (tier === 'premium' ? 'Premium' : 'Free');

/** "30 Nov 2026, 08:12" in the user's own locale. */
function formatTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function FailureText({ failure, id, offlineNote = OFFLINE_NOTE }: { failure: Failure; id?: string; offlineNote?: string }) {
  return (
    <div className="account__error" id={id} role="alert">
      <p>{failure.text}</p>
      {failure.offline && <p className="account__offline">{offlineNote}</p>}
    </div>
  );
}

/** Email and password, then Sign in or Create account; main's refusal is shown as it came. */
function SignInForm({ account }: { account: AccountDetails | null }) {
  const receiveAccount = useStore((state) => state.receiveAccount);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<'signIn' | 'register' | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);

  async function submit(channel: 'account:signIn' | 'account:register') {
    setBusy(channel === 'account:signIn' ? 'signIn' : 'register');
    setFailure(null);
    try {
      receiveAccount(await invoke(channel, { email: email.trim(), password }));
      setPassword('');
    } catch (error) {
      setFailure(failureOf(channel === 'account:signIn' ? 'Could not sign in' : 'Could not create the account', error));
    } finally {
      setBusy(null);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!busy) void submit('account:signIn');
  }

  const ready = email.trim() !== '' && password !== '' && busy === null;
  return (
    <div className="account__signed-out">
      <div className="account__intro">
        <p>
          Mouthpiece works fully without an account.{' '}
          {account && (
            <>
              On this computer you have <strong data-testid="local-credits">{formatCredits(account.credits)}</strong> left this month ({tierName(account.tier)}, {describeLimits(account)}).
            </>
          )}
        </p>
        {account?.lastSyncError && (
          <p className="account__warn" data-testid="account-sync-error">
            The last sync failed: {account.lastSyncError}
          </p>
        )}
        <p className="field__hint">Sign in to share your month’s credits between your computers, and to render with a Premium plan: 600 credits a month, up to 2160p, no watermark.</p>
      </div>
      <form className="account__form" aria-label="Sign in" onSubmit={onSubmit} aria-describedby={failure ? 'account-error' : undefined}>
        <Field id="account-email" label="Email">
          <input
            id="account-email"
            type="email"
            autoComplete="username"
            value={email}
            maxLength={320}
            spellCheck={false}
            onChange={(event) => {
              setEmail(event.target.value);
              setFailure(null);
            }}
          />
        </Field>
        <Field id="account-password" label="Password">
          <input
            id="account-password"
            type="password"
            autoComplete="current-password"
            value={password}
            maxLength={200}
            aria-describedby="account-password-hint"
            onChange={(event) => {
              setPassword(event.target.value);
              setFailure(null);
            }}
          />
          <p className="field__hint" id="account-password-hint">
            A new account needs at least 8 characters.
          </p>
        </Field>
        {failure && <FailureText failure={failure} id="account-error" offlineNote={OFFLINE_SIGNED_OUT_NOTE} />}
        <div className="account__actions">
          <button type="button" className="button button--quiet" disabled={!ready} onClick={() => void submit('account:register')}>
            {busy === 'register' ? 'Creating…' : 'Create account'}
          </button>
          <button type="submit" className="button button--primary" disabled={!ready}>
            {busy === 'signIn' ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </div>
  );
}

function DeviceList({ devices, busy, onRemove }: { devices: Device[]; busy: string | null; onRemove(device: Device): void }) {
  if (devices.length === 0) return <p className="field__hint">The devices signed in are listed after the next sync.</p>;
  return (
    <ul className="devices" aria-label="Devices">
      {devices.map((device) => (
        <li key={device.id} className="devices__item" aria-label={device.name}>
          <div className="devices__text">
            <span className="devices__name">
              {device.name}
              {device.current && <span className="badge badge--completed devices__this">This device</span>}
            </span>
            <span className="devices__meta">
              Signed in {formatTime(device.createdAt)} · last seen {formatTime(device.lastSeenAt)}
            </span>
          </div>
          {!device.current && (
            <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => onRemove(device)}>
              {busy === `remove:${device.id}` ? 'Removing…' : 'Sign it out'}
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The signed-in account: tier, credits, what is not settled yet, devices, last sync. */
function SignedIn({ account }: { account: AccountDetails }) {
  const receiveAccount = useStore((state) => state.receiveAccount);
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);

  useEffect(() => {
    // The device list is refreshed with every sync; this catches one signed in elsewhere since.
    // A failure needs no word here: it is the cloud being away (the next sync says so) or this
    // sign-in being revoked, which the account read afterwards shows as signed out.
    invoke('account:devices', {})
      .catch(() => undefined)
      .finally(() => void loadAccount());
  }, []);

  async function act(name: string, what: string, action: () => Promise<unknown>) {
    setBusy(name);
    setFailure(null);
    try {
      await action();
    } catch (error) {
      setFailure(failureOf(what, error));
    } finally {
      setBusy(null);
    }
  }

  const sync = () => act('sync', 'Could not sync', async () => receiveAccount(await invoke('account:sync', {})));
  const signOut = () => act('signOut', 'Could not sign out', async () => receiveAccount(await invoke('account:signOut', {})));
  const remove = (device: Device) =>
    act(`remove:${device.id}`, `Could not sign out ${device.name}`, async () => {
      await invoke('account:removeDevice', { deviceId: device.id });
      await loadAccount();
    });

  const premium = account.tier === 'premium';
  return (
    <div className="account__signed-in">
      <div className="account__who">
        <p className="account__email" data-testid="account-email">
          {account.email}
        </p>
        <span className={premium ? 'badge badge--premium' : 'badge'} data-testid="account-tier">
          {tierName(account.tier)}
        </span>
      </div>

      <dl className="account__facts">
        <div className="account__fact account__fact--credits">
          <dt>Credits left this month</dt>
          <dd data-testid="account-credits">{account.credits}</dd>
          <dd className="account__fact-note">1 credit per started minute of finished video</dd>
        </div>
        <div className="account__fact">
          <dt>{tierName(account.tier)} plan</dt>
          <dd data-testid="account-allows">{premium ? 'Up to 2160p, no watermark' : 'Up to 1080p, with a small “Made with Mouthpiece” mark'}</dd>
          <dd className="account__fact-note">{premium ? '600 credits a month' : '10 credits a month'}</dd>
        </div>
      </dl>

      {account.pendingSpends > 0 && (
        <p className="account__note" data-testid="account-pending">
          {account.pendingSpends === 1 ? '1 render' : `${account.pendingSpends} renders`} ({formatCredits(account.pendingCredits)}) made here {account.pendingSpends === 1 ? 'is' : 'are'} not settled with the cloud yet; {account.pendingCredits === 1 ? 'it is' : 'they are'} already taken off the credits above.
        </p>
      )}
      {account.refusedSpends > 0 && (
        <p className="account__warn" role="status">
          The cloud refused {account.refusedSpends === 1 ? '1 render’s credits' : `${account.refusedSpends} renders’ credits`}: another device spent this month’s credits first while this one was offline. The videos stay; they are not charged.
        </p>
      )}
      {account.grantProblem && (
        <p className="account__warn" role="alert" data-testid="account-grant-problem">
          A credit grant was ignored ({account.grantProblem}). The tier and credits shown come from the last grant that checked out, or the free defaults; Sync now to fetch a fresh one.
        </p>
      )}

      <section className="account__section" aria-labelledby="account-sync-heading">
        <div className="settings__section-head">
          <h3 id="account-sync-heading">Sync</h3>
          <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void sync()}>
            {busy === 'sync' ? 'Syncing…' : 'Sync now'}
          </button>
        </div>
        <p className="account__sync" data-testid="account-last-sync">
          {account.lastSyncAt ? `Last synced ${formatTime(account.lastSyncAt)}` : 'Not synced yet'}
        </p>
        {account.lastSyncError && (
          <div className="account__warn" data-testid="account-sync-error">
            <p>The last sync failed: {account.lastSyncError}</p>
            <p className="account__offline">{OFFLINE_NOTE}</p>
          </div>
        )}
      </section>

      <section className="account__section" aria-labelledby="account-devices-heading">
        <h3 id="account-devices-heading">Devices signed in</h3>
        <DeviceList devices={account.devices} busy={busy} onRemove={(device) => void remove(device)} />
      </section>

      {failure && <FailureText failure={failure} />}

      <section className="account__section account__sign-out" aria-labelledby="account-signout-heading">
        <h3 id="account-signout-heading" className="visually-hidden">
          Sign out
        </h3>
        <p className="field__hint">Signing out keeps every video and project on this computer; renders not settled yet are sent when you sign in again.</p>
        <button type="button" className="button button--quiet" disabled={busy !== null} onClick={() => void signOut()}>
          {busy === 'signOut' ? 'Signing out…' : 'Sign out'}
        </button>
      </section>
    </div>
  );
}

/** The Account screen: sign in or create an account, or see the tier, credits, devices and sync. */
export function Account() {
  const account = useStore((state) => state.account);
  const accountError = useStore((state) => state.accountError);

  useEffect(() => {
    void loadAccount();
  }, []);

  return (
    <section className="panel account" aria-labelledby="account-heading">
      <header className="panel__header">
        <h2 id="account-heading">Account</h2>
      </header>
      {accountError && (
        <p className="choice__error" role="alert">
          The account could not be read: {accountError}
        </p>
      )}
      {account === null && !accountError && (
        <p className="choice__status" role="status">
          <span className="spinner" aria-hidden="true" /> Reading the account…
        </p>
      )}
      {account && (account.signedIn ? <SignedIn account={account} /> : <SignInForm account={account} />)}
    </section>
  );
}
