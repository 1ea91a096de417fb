import { useEffect, useState, type FormEvent } from 'react';
import { invoke } from '../../api';
import { Field, takeValue } from '../../components/fields';
import type { AssistantSettings } from '../../../src-shared/assistant';
import { SaveMessage, type SaveMessageValue } from './SaveMessage';
import './Assistant.css';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The script assistant's endpoint, model and key; the key is only ever sent, never shown again. */
export function AssistantSettingsSection() {
  const [settings, setSettings] = useState<AssistantSettings | null>(null);
  const [endpoint, setEndpoint] = useState('');
  const [model, setModel] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<SaveMessageValue>(null);

  function receive(next: AssistantSettings) {
    setSettings(next);
    setEndpoint(next.endpoint ?? '');
    setModel(next.model ?? '');
    setApiKey('');
  }

  useEffect(() => {
    invoke('assistant:get', {}).then(receive, (error: unknown) => setMessage({ kind: 'error', text: `The assistant's settings could not be read: ${messageOf(error)}` }));
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const key = apiKey.trim();
      const next = await invoke('assistant:save', { endpoint: endpoint.trim() || null, model: model.trim() || null, ...(key ? { apiKey: key } : {}) });
      receive(next);
      setMessage({ kind: 'saved', text: next.endpoint && next.model ? `Saved: scripts are written by ${next.model} at ${next.endpoint}.` : 'Saved. The assistant needs an endpoint and a model to write.' });
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  }

  async function removeKey() {
    setBusy(true);
    setMessage(null);
    try {
      const next = await invoke('assistant:save', { apiKey: null });
      setSettings(next);
      setMessage({ kind: 'saved', text: 'The API key was removed.' });
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  }

  const loaded = settings !== null;
  return (
    <section className="settings__section" aria-labelledby="settings-assistant-heading">
      <h3 id="settings-assistant-heading">Script assistant</h3>
      <p className="field__hint">
        “Write it for me” in the editor asks any OpenAI-compatible chat endpoint for a script. Ollama (<code>http://127.0.0.1:11434/v1</code>) or LM Studio (
        <code>http://127.0.0.1:1234/v1</code>) on this computer keep your briefs here; a cloud endpoint needs its API key.
      </p>
      <form className="settings__form assistant-settings" onSubmit={(event) => void save(event)}>
        <Field id="settings-assistant-endpoint" label="Endpoint">
          <input
            id="settings-assistant-endpoint"
            type="text"
            inputMode="url"
            value={endpoint}
            maxLength={2048}
            spellCheck={false}
            placeholder="http://127.0.0.1:11434/v1"
            disabled={!loaded}
            aria-invalid={(message?.kind === 'error' && message.text.startsWith('endpoint')) || undefined}
            onChange={takeValue(setEndpoint)}
          />
        </Field>
        <Field id="settings-assistant-model" label="Model">
          <input id="settings-assistant-model" type="text" value={model} maxLength={200} spellCheck={false} placeholder="llama3.2" disabled={!loaded} onChange={takeValue(setModel)} />
        </Field>
        <Field id="settings-assistant-key" label="API key">
          <input
            id="settings-assistant-key"
            type="password"
            value={apiKey}
            maxLength={4096}
            autoComplete="off"
            placeholder={settings?.hasKey ? 'Type a new key to replace the stored one' : 'Only if the endpoint needs one'}
            disabled={!loaded}
            onChange={takeValue(setApiKey)}
          />
          {settings?.hasKey && (
            <p className="assistant-settings__key">
              A key is stored.
              <button type="button" className="button button--quiet" disabled={busy} onClick={() => void removeKey()}>
                Remove
              </button>
            </p>
          )}
        </Field>
        <div>
          <button type="submit" className="button" disabled={!loaded || busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
      <SaveMessage message={message} />
    </section>
  );
}
