import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { invoke } from '../../api';
import { Field } from '../../components/fields';
import { loadAccount, useStore } from '../../store';
import { About } from './About';
import { AssistantSettingsSection } from './Assistant';
import { SaveMessage, type SaveMessageValue } from './SaveMessage';
import { MAX_RENDER_CONCURRENCY, type AccountSummary, type EncoderReport } from '../../../src-shared/ipc';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Load<T> = { kind: 'loading' } | { kind: 'loaded'; value: T } | { kind: 'failed'; message: string };

/** How many renders run at once: one by default; more only pays on a machine with many cores and a big GPU. */
function ConcurrencyField() {
  const [value, setValue] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    invoke('settings:get', {}).then(
      (settings) => setValue(settings.renderConcurrency),
      (failure: unknown) => setError(`The settings could not be read: ${messageOf(failure)}`),
    );
  }, []);

  async function choose(next: number) {
    setError(null);
    try {
      setValue((await invoke('settings:save', { renderConcurrency: next })).renderConcurrency);
    } catch (failure) {
      setError(messageOf(failure));
    }
  }

  return (
    <Field id="settings-concurrency" label="Renders at once">
      <select id="settings-concurrency" value={value ?? 1} disabled={value === null} aria-describedby="settings-concurrency-hint" onChange={(event) => void choose(Number(event.target.value))}>
        {Array.from({ length: MAX_RENDER_CONCURRENCY }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <p id="settings-concurrency-hint" className="field__hint">
        One at a time suits most machines; each extra render needs its own share of the processor and graphics memory.
      </p>
      {error && (
        <p className="choice__error" role="alert">
          {error}
        </p>
      )}
    </Field>
  );
}

/** The ffmpeg setting: a path to a system ffmpeg, or empty to look on PATH. */
function FfmpegForm({ onSaved }: { onSaved(): void }) {
  const [path, setPath] = useState('');
  const [loaded, setLoaded] = useState(false);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<SaveMessageValue>(null);

  useEffect(() => {
    invoke('settings:get', {}).then(
      (settings) => {
        setPath(settings.ffmpegPath ?? '');
        setLoaded(true);
      },
      (error: unknown) => setMessage({ kind: 'error', text: `The settings could not be read: ${messageOf(error)}` }),
    );
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setMessage(null);
    try {
      const saved = await invoke('settings:save', { ffmpegPath: path.trim() || null });
      setPath(saved.ffmpegPath ?? '');
      setMessage({ kind: 'saved', text: saved.ffmpegPath ? `Saved: renders use ${saved.ffmpegPath} where it can encode.` : 'Saved: the ffmpeg on PATH is used.' });
      onSaved();
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="settings__form" onSubmit={(event) => void save(event)}>
      <Field id="settings-ffmpeg" label="System ffmpeg">
        <span className="settings__path">
          <input
            id="settings-ffmpeg"
            type="text"
            value={path}
            maxLength={4096}
            spellCheck={false}
            placeholder="Empty: look for ffmpeg on PATH"
            aria-describedby={message?.kind === 'error' ? 'settings-ffmpeg-error settings-ffmpeg-hint' : 'settings-ffmpeg-hint'}
            aria-invalid={message?.kind === 'error' || undefined}
            disabled={!loaded}
            onChange={(event) => setPath(event.target.value)}
          />
          <button type="submit" className="button" disabled={!loaded || saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
        </span>
        <p className="field__hint" id="settings-ffmpeg-hint">
          The full path of an ffmpeg program with encoders the bundled one lacks (NVENC, say).
        </p>
      </Field>
      <SaveMessage message={message} errorId="settings-ffmpeg-error" />
    </form>
  );
}

function EncoderTable({ report }: { report: EncoderReport }) {
  return (
    <>
      <p className="settings__ffmpeg">
        <span className="settings__version">Checked with</span> <code>{report.ffmpeg}</code> <span className="settings__version">version {report.version}</span>
      </p>
      <table className="encoders" aria-label="Encoders">
        <thead>
          <tr>
            <th scope="col">Encoder</th>
            <th scope="col">On this computer</th>
          </tr>
        </thead>
        <tbody>
          {report.candidates.map((candidate) => (
            <tr key={candidate.name} className={candidate.ok ? 'encoders__row encoders__row--ok' : 'encoders__row'}>
              <th scope="row">
                <code>{candidate.name}</code>
              </th>
              <td>
                {candidate.ok ? <span className="badge badge--completed">Works</span> : <span className="encoders__reason">{candidate.reason ?? 'Did not work'}</span>}
                {candidate.name === report.chosen && <span className="badge badge--rendering encoders__chosen">In use</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function describeAccount(account: AccountSummary): string {
  const who = account.signedIn && account.email ? account.email : 'Not signed in';
  const tier = account.tier === 'free' ? 'Free' : 'Premium';
  const credits = `${account.credits} ${account.credits === 1 ? 'credit' : 'credits'}`;
  const mark = account.watermark ? ', with a small “Made with Mouthpiece” mark' : '';
  return `${who} · ${tier} · ${credits} · renders up to ${account.maxQuality}${mark}`;
}

/** What the app renders with: the ffmpeg, the encoders it has here, and the account. */
export function Settings() {
  const [report, setReport] = useState<Load<EncoderReport>>({ kind: 'loading' });
  const [checking, setChecking] = useState(false);
  const account = useStore((state) => state.account);
  const accountError = useStore((state) => state.accountError);
  const showScreen = useStore((state) => state.showScreen);

  const check = useCallback(async () => {
    setChecking(true);
    try {
      setReport({ kind: 'loaded', value: await invoke('encoders:list', {}) });
    } catch (error) {
      setReport({ kind: 'failed', message: messageOf(error) });
    } finally {
      setChecking(false);
    }
  }, []);

  useEffect(() => {
    void check();
    void loadAccount();
  }, [check]);

  return (
    <section className="panel settings" aria-labelledby="settings-heading">
      <header className="panel__header">
        <h2 id="settings-heading">Settings</h2>
      </header>

      <section className="settings__section" aria-labelledby="settings-ffmpeg-heading">
        <h3 id="settings-ffmpeg-heading">ffmpeg</h3>
        <FfmpegForm onSaved={() => void check()} />
      </section>

      <section className="settings__section" aria-labelledby="settings-queue-heading">
        <h3 id="settings-queue-heading">Render queue</h3>
        <ConcurrencyField />
      </section>

      <section className="settings__section" aria-labelledby="settings-encoders-heading">
        <div className="settings__section-head">
          <h3 id="settings-encoders-heading">Video encoders</h3>
          <button type="button" className="button button--quiet" disabled={checking} onClick={() => void check()}>
            {checking ? 'Checking…' : 'Check again'}
          </button>
        </div>
        <p className="field__hint">Renders use the first encoder in this list that works here.</p>
        {report.kind === 'loading' && (
          <p className="choice__status" role="status">
            <span className="spinner" aria-hidden="true" /> Trying each encoder…
          </p>
        )}
        {report.kind === 'failed' && (
          <p className="choice__error" role="alert">
            The encoders could not be checked: {report.message}
          </p>
        )}
        {report.kind === 'loaded' && <EncoderTable report={report.value} />}
      </section>

      <section className="settings__section" aria-labelledby="settings-account-heading">
        <div className="settings__section-head">
          <h3 id="settings-account-heading">Account</h3>
          <button type="button" className="button button--quiet" onClick={() => showScreen('account')}>
            {account?.signedIn ? 'Manage account' : 'Sign in'}
          </button>
        </div>
        {account && <p className="settings__account">{describeAccount(account)}</p>}
        {accountError && (
          <p className="choice__error" role="alert">
            The account could not be read: {accountError}
          </p>
        )}
      </section>

      <AssistantSettingsSection />
      <About />
    </section>
  );
}
