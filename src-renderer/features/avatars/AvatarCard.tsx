import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import type { AvatarKind, AvatarStatus, AvatarSummary } from '../../../src-shared/avatar';

const KIND_LABELS: Record<AvatarKind, string> = { builtin: 'Built in', photo: 'Photo', clip: 'Clip' };

const STATUS_LABELS: Record<AvatarStatus, string> = {
  preparing: 'Preparing',
  ready: 'Ready',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What the card is doing besides showing the avatar: one inline task at a time. */
type Mode = { kind: 'idle' } | { kind: 'preview'; url: string } | { kind: 'rename' } | { kind: 'confirm-delete' };

export function AvatarCard({ avatar }: { avatar: AvatarSummary }) {
  const receiveAvatar = useStore((state) => state.receiveAvatar);
  const removeAvatar = useStore((state) => state.removeAvatar);
  const message = useStore((state) => state.avatarMessages[avatar.id]);
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  const [draftName, setDraftName] = useState(avatar.name);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const builtin = avatar.kind === 'builtin';
  const percent = Math.round(Math.min(1, Math.max(0, avatar.progress)) * 100);

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setActionError(null);
    try {
      await work();
    } catch (error) {
      setActionError(messageOf(error));
    } finally {
      setBusy(false);
    }
  }

  const preview = () =>
    act(async () => {
      const { url } = await invoke('avatars:preview', { avatarId: avatar.id });
      setMode({ kind: 'preview', url });
    });

  const cancel = () => act(async () => receiveAvatar(await invoke('avatars:cancel', { avatarId: avatar.id })));

  const remove = () =>
    act(async () => {
      await invoke('avatars:delete', { avatarId: avatar.id });
      removeAvatar(avatar.id);
    });

  function startRename() {
    setDraftName(avatar.name);
    setActionError(null);
    setMode({ kind: 'rename' });
  }

  function rename(event: FormEvent) {
    event.preventDefault();
    const name = draftName.trim();
    if (busy) return;
    if (name === avatar.name) return setMode({ kind: 'idle' });
    void act(async () => {
      receiveAvatar(await invoke('avatars:rename', { avatarId: avatar.id, name }));
      setMode({ kind: 'idle' });
    });
  }

  function escapeRename(event: KeyboardEvent) {
    if (event.key === 'Escape') setMode({ kind: 'idle' });
  }

  return (
    // Named by aria-label, not by its heading, which the rename form replaces.
    <li className={`avatar avatar--${avatar.status}`} aria-label={avatar.name}>
      <div className="avatar__picture">
        {mode.kind === 'preview' ? (
          <video
            className="avatar__video"
            src={mode.url}
            controls
            autoPlay
            aria-label={`Preview of ${avatar.name}`}
          />
        ) : avatar.thumbnail ? (
          <img className="avatar__thumbnail" src={avatar.thumbnail} alt={`Thumbnail of ${avatar.name}`} />
        ) : (
          <span className="avatar__placeholder" aria-hidden="true">
            {avatar.name.trim().charAt(0).toUpperCase()}
          </span>
        )}
      </div>

      <div className="avatar__body">
        {mode.kind === 'rename' ? (
          <form className="avatar__rename" onSubmit={rename}>
            <input
              type="text"
              value={draftName}
              maxLength={100}
              required
              autoFocus
              aria-label={`New name for ${avatar.name}`}
              onChange={(event) => setDraftName(event.target.value)}
              onKeyDown={escapeRename}
            />
            <button type="submit" className="button button--quiet" disabled={busy || !draftName.trim()}>
              Save
            </button>
            <button type="button" className="button button--quiet" onClick={() => setMode({ kind: 'idle' })}>
              Cancel
            </button>
          </form>
        ) : (
          <h3 className="avatar__name">{avatar.name}</h3>
        )}

        <p className="avatar__meta">
          <span>{KIND_LABELS[avatar.kind]}</span>
          <span className={`badge badge--${avatar.status}`}>{STATUS_LABELS[avatar.status]}</span>
        </p>

        {avatar.status === 'preparing' && (
          <div className="avatar__progress">
            <div className="avatar__stage">
              <span>{message ?? 'Starting'}</span>
              <span className="avatar__percent">{percent}%</span>
            </div>
            <progress max={1} value={avatar.progress} aria-label={`Preparing ${avatar.name}`} />
          </div>
        )}

        {avatar.status === 'failed' && avatar.error && <p className="avatar__error">{avatar.error}</p>}
        {avatar.status === 'cancelled' && <p className="avatar__note">Preparation was cancelled.</p>}

        {actionError && (
          <p className="avatar__error" role="alert">
            {actionError}
          </p>
        )}

        {mode.kind === 'confirm-delete' ? (
          <div className="avatar__confirm" role="group" aria-label={`Delete ${avatar.name}?`}>
            <span>Delete this avatar? Your original file is kept.</span>
            <div className="avatar__actions">
              <button type="button" className="button button--danger" disabled={busy} onClick={() => void remove()}>
                Delete
              </button>
              <button type="button" className="button button--quiet" disabled={busy} onClick={() => setMode({ kind: 'idle' })}>
                Keep
              </button>
            </div>
          </div>
        ) : (
          mode.kind !== 'rename' && (
            <div className="avatar__actions">
              {avatar.status === 'preparing' && (
                <button type="button" className="button button--quiet" disabled={busy} onClick={() => void cancel()}>
                  Cancel
                </button>
              )}
              {avatar.status === 'ready' &&
                avatar.hasPreview &&
                (mode.kind === 'preview' ? (
                  <button type="button" className="button button--quiet" onClick={() => setMode({ kind: 'idle' })}>
                    Close preview
                  </button>
                ) : (
                  <button type="button" className="button button--quiet" disabled={busy} onClick={() => void preview()}>
                    Preview
                  </button>
                ))}
              {!builtin && avatar.status === 'ready' && (
                <button type="button" className="button button--quiet" disabled={busy} onClick={startRename}>
                  Rename
                </button>
              )}
              {!builtin && avatar.status !== 'preparing' && (
                <button
                  type="button"
                  className="button button--quiet"
                  disabled={busy}
                  onClick={() => {
                    setActionError(null);
                    setMode({ kind: 'confirm-delete' });
                  }}
                >
                  Delete
                </button>
              )}
            </div>
          )
        )}
      </div>
    </li>
  );
}
