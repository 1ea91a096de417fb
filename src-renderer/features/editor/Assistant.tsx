import { useEffect, useRef, useState, type FormEvent } from 'react';
import { invoke, on } from '../../api';
import { Field, takeValue } from '../../components/fields';
import { useLoad } from '../../components/useLoad';
import { useStore } from '../../store';
import { newSceneKey } from '../../store/editor';
import { MAX_BRIEF_CHARS, readableDraft, type AssistantDraft, type AssistantSettings } from '../../../src-shared/assistant';
import { ErrorCode, errorCode } from '../../../src-shared/errors';
import { estimateSeconds } from '../../../src-shared/project';
import './Assistant.css';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Phase =
  | { kind: 'idle'; note?: string }
  | { kind: 'writing'; requestId: string }
  | { kind: 'failed'; message: string }
  | { kind: 'done'; draft: AssistantDraft };

/** The dialog's body once the settings are read: the brief, the text as it streams, the result. */
function Writer({ settings, onClose }: { settings: AssistantSettings; onClose(): void }) {
  const [brief, setBrief] = useState('');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [text, setText] = useState('');
  const writing = useRef<string | null>(null);
  const stopListening = useRef<(() => void) | null>(null);
  const speed = useStore((state) => state.project?.speed);

  // Closing the dialog (or the editor) mid-answer stops the request rather than leaving it running.
  useEffect(
    () => () => {
      stopListening.current?.();
      if (writing.current) void invoke('assistant:cancel', { requestId: writing.current }).catch(() => undefined);
    },
    [],
  );

  async function write(event: FormEvent) {
    event.preventDefault();
    const project = useStore.getState().project;
    const requestId = crypto.randomUUID();
    writing.current = requestId;
    setText('');
    setPhase({ kind: 'writing', requestId });
    // Listening before asking, so no text that arrives quickly is missed, and on after the answer:
    // events and answers travel apart, so the last text may come after it.
    stopListening.current?.();
    stopListening.current = on('assistant:delta', (delta) => {
      if (delta.requestId === requestId) setText((current) => current + delta.text);
    });
    try {
      const draft = await invoke('assistant:write', { requestId, brief: brief.trim(), ...(project ? { project } : {}) });
      if (writing.current === requestId) setPhase({ kind: 'done', draft });
    } catch (error) {
      if (writing.current !== requestId) return;
      setPhase(errorCode(error) === ErrorCode.Cancelled ? { kind: 'idle', note: 'Stopped. Change the brief and write again, or close.' } : { kind: 'failed', message: messageOf(error) });
    } finally {
      if (writing.current === requestId) writing.current = null;
    }
  }

  function cancel() {
    if (phase.kind === 'writing') void invoke('assistant:cancel', { requestId: phase.requestId }).catch(() => undefined);
  }

  function replace(draft: AssistantDraft) {
    const { editScenes, selectScene } = useStore.getState();
    // One undo step: the editor's Undo brings the old scenes (and title) back.
    editScenes((project) => ({
      project: { ...project, title: project.title?.trim() ? project.title : draft.title, scenes: draft.scenes.map((scene) => ({ text: scene.text })) },
      sceneKeys: draft.scenes.map(() => newSceneKey()),
    }));
    selectScene(0);
    onClose();
  }

  const busy = phase.kind === 'writing';
  const seconds = phase.kind === 'done' ? Math.round(estimateSeconds({ scenes: phase.draft.scenes, speed })) : 0;

  return (
    <form className="write-for-me__form" onSubmit={(event) => void write(event)}>
      <Field id="write-for-me-brief" label="What should the video say?">
        <textarea
          id="write-for-me-brief"
          className="write-for-me__brief"
          value={brief}
          maxLength={MAX_BRIEF_CHARS}
          autoFocus
          readOnly={busy}
          aria-describedby="write-for-me-hint"
          placeholder="A 60-second welcome for new customers of a bike shop, friendly"
          onChange={takeValue(setBrief)}
        />
        <p className="field__hint" id="write-for-me-hint">
          Say who it is for, how long it runs and the tone. Text in {'{{double braces}}'} stays as it is, for batches. Written by {settings.model} at {settings.endpoint}.
        </p>
      </Field>
      <div className="write-for-me__actions">
        {busy ? (
          <button type="button" className="button button--quiet" onClick={cancel}>
            Cancel
          </button>
        ) : (
          <button type="submit" className={phase.kind === 'done' ? 'button button--quiet' : 'button button--primary'} disabled={!brief.trim()}>
            {{ done: 'Write again', failed: 'Try again', idle: 'Write' }[phase.kind]}
          </button>
        )}
        {busy && (
          <span className="choice__status" role="status">
            <span className="spinner" aria-hidden="true" /> Writing…
          </span>
        )}
        {phase.kind === 'idle' && phase.note && (
          <span className="choice__status" role="status">
            {phase.note}
          </span>
        )}
      </div>
      {(busy || text) && (
        <pre className="write-for-me__stream" aria-live="polite" aria-label="What the assistant writes">
          {readableDraft(text)}
        </pre>
      )}
      {phase.kind === 'failed' && (
        <p className="choice__error" role="alert">
          {phase.message}
        </p>
      )}
      {phase.kind === 'done' && (
        <div className="write-for-me__result">
          <p className="write-for-me__summary" role="status">
            “{phase.draft.title}”: {phase.draft.scenes.length} {phase.draft.scenes.length === 1 ? 'scene' : 'scenes'}, about {seconds} seconds.
          </p>
          <ol className="write-for-me__scenes" aria-label="Written scenes">
            {phase.draft.scenes.map((scene, i) => (
              <li key={i}>{scene.text}</li>
            ))}
          </ol>
          <div className="write-for-me__actions">
            <button type="button" className="button button--primary" onClick={() => replace(phase.draft)}>
              Replace the scenes
            </button>
            <span className="field__hint">Undo brings the old scenes back.</span>
          </div>
        </div>
      )}
    </form>
  );
}

function WriteDialog({ onClose }: { onClose(): void }) {
  const settings = useLoad(() => invoke('assistant:get', {}), []);
  const ready = settings.kind === 'loaded' && settings.value.endpoint && settings.value.model;

  return (
    <div className="write-for-me__backdrop" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div
        className="panel write-for-me"
        role="dialog"
        aria-modal="true"
        aria-labelledby="write-for-me-heading"
        // The editor's Ctrl+Z undoes the project; inside the dialog it belongs to the brief.
        onKeyDown={(event) => {
          event.stopPropagation();
          if (event.key === 'Escape') onClose();
        }}
      >
        <header className="panel__header">
          <h2 id="write-for-me-heading">Write it for me</h2>
          <button type="button" className="button button--quiet" onClick={onClose}>
            Close
          </button>
        </header>
        {settings.kind === 'loading' && (
          <p className="choice__status" role="status">
            <span className="spinner" aria-hidden="true" /> Reading the assistant's settings…
          </p>
        )}
        {settings.kind === 'failed' && (
          <p className="choice__error" role="alert">
            The assistant's settings could not be read: {settings.message}
          </p>
        )}
        {settings.kind === 'loaded' && !ready && (
          <div className="write-for-me__setup" role="alert">
            <p>
              The script assistant is not set up yet. Give it a chat endpoint and a model in Settings: Ollama or LM Studio on this computer keeps your brief here, or a
              cloud endpoint with its API key.
            </p>
            <button
              type="button"
              className="button"
              onClick={() => {
                onClose();
                useStore.getState().showScreen('settings');
              }}
            >
              Open Settings
            </button>
          </div>
        )}
        {ready && <Writer settings={settings.value} onClose={onClose} />}
      </div>
    </div>
  );
}

/** "Write it for me": a brief becomes the project's scenes through the script assistant. */
export function WriteForMe() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button button--quiet" aria-haspopup="dialog" onClick={() => setOpen(true)}>
        Write it for me
      </button>
      {open && <WriteDialog onClose={() => setOpen(false)} />}
    </>
  );
}
