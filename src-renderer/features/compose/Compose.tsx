import { useMemo, useState, type FormEvent, type KeyboardEvent } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import { choosableAvatars } from '../../store/avatars';
import { BUILTIN_AVATAR_ID } from '../../../src-shared/avatar';

// Roughly how fast the built-in voices speak, for the length hint under the script.
const WORDS_PER_MINUTE = 150;

function lengthHint(text: string): string {
  const words = text.trim() ? text.trim().split(/\s+/).length : 0;
  if (words === 0) return 'Type or paste what the presenter should say.';
  const seconds = Math.max(1, Math.round((words / WORDS_PER_MINUTE) * 60));
  const spoken = seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${words} ${words === 1 ? 'word' : 'words'} · about ${spoken} of speech`;
}

/**
 * The project for a script spoken by a chosen avatar. videos:create's plain-text form has no avatar
 * field, so this mirrors what main does with plain text (projectFromText in src-main/videos): each
 * paragraph is a scene, and an untitled video is named after its first words.
 */
export function Compose() {
  const receiveVideo = useStore((state) => state.receiveVideo);
  const avatars = useStore((state) => state.avatars);
  const choices = useMemo(() => choosableAvatars(avatars), [avatars]);
  const [chosenAvatar, setChosenAvatar] = useState(BUILTIN_AVATAR_ID);
  // An avatar deleted (or not yet listed) since it was chosen falls back to the built-in presenter.
  const avatar = choices.some((a) => a.id === chosenAvatar) ? chosenAvatar : BUILTIN_AVATAR_ID;
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function render() {
    setBusy(true);
    setError(null);
    try {
      const trimmedTitle = title.trim();
      const video = await invoke('videos:create', {
        text,
        ...(trimmedTitle ? { title: trimmedTitle } : {}),
        ...(avatar !== BUILTIN_AVATAR_ID ? { avatar } : {}),
      });
      receiveVideo(video);
      receiveVideo(await invoke('render:start', { videoId: video.id }));
      // The script now lives in the video; clear the form only once the render is queued.
      setText('');
      setTitle('');
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!busy) void render();
  }

  function submitOnCtrlEnter(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) submit(event);
  }

  return (
    <section className="panel compose" aria-labelledby="compose-heading">
      <header className="panel__header">
        <h2 id="compose-heading">New video</h2>
      </header>
      <form className="compose__form" onSubmit={submit} aria-describedby={error ? 'compose-error' : undefined}>
        <label className="field">
          <span className="field__label">Title</span>
          <input
            type="text"
            value={title}
            maxLength={200}
            placeholder="Optional"
            onChange={(event) => setTitle(event.target.value)}
          />
        </label>
        <label className="field">
          <span className="field__label">Avatar</span>
          <select value={avatar} onChange={(event) => setChosenAvatar(event.target.value)}>
            {choices.length === 0 && <option value={BUILTIN_AVATAR_ID}>Presenter (built in)</option>}
            {choices.map((choice) => (
              <option key={choice.id} value={choice.id}>
                {choice.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--grow">
          <span className="field__label">Script</span>
          <textarea
            value={text}
            rows={12}
            placeholder="Hello! In this short video I will show you…"
            aria-describedby="compose-hint"
            onChange={(event) => {
              setText(event.target.value);
              setError(null);
            }}
            onKeyDown={submitOnCtrlEnter}
          />
        </label>
        <p className="compose__hint" id="compose-hint">
          {lengthHint(text)}
        </p>
        {error && (
          <p className="compose__error" id="compose-error" role="alert">
            {error}
          </p>
        )}
        <div className="compose__actions">
          <span className="compose__shortcut" aria-hidden="true">
            Ctrl + Enter
          </span>
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? 'Starting…' : 'Render'}
          </button>
        </div>
      </form>
    </section>
  );
}
