import { useState } from 'react';
import { invoke } from '../../api';
import { useStore } from '../../store';
import type { VoiceSummary } from '../../../src-shared/voice';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What the Voices screen's one preview is doing for this voice. */
export type PreviewState = { kind: 'idle' } | { kind: 'synthesising' } | { kind: 'playing'; url: string };

interface Props {
  voice: VoiceSummary;
  preview: PreviewState;
  play(): void;
  stop(): void;
}

export function VoiceRow({ voice, preview, play, stop }: Props) {
  const removeVoice = useStore((state) => state.removeVoice);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await invoke('voices:delete', { voiceId: voice.id });
      if (preview.kind !== 'idle') stop();
      removeVoice(voice.id);
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  }

  return (
    <li className={`voice${preview.kind === 'idle' ? '' : ' voice--previewing'}`} aria-label={voice.name}>
      <div className="voice__main">
        {preview.kind === 'idle' ? (
          <button type="button" className="voice__play" aria-label={`Play ${voice.name}`} onClick={play}>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">
              <path d="M5 3.5v9l7.5-4.5z" />
            </svg>
          </button>
        ) : (
          <button
            type="button"
            className="voice__play voice__play--active"
            aria-label={`Stop ${voice.name}`}
            aria-busy={preview.kind === 'synthesising'}
            onClick={stop}
          >
            {preview.kind === 'synthesising' ? (
              <span className="spinner" aria-hidden="true" />
            ) : (
              <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                <rect x="4" y="4" width="8" height="8" rx="1" />
              </svg>
            )}
          </button>
        )}

        <div className="voice__body">
          <p className="voice__title">
            <span className="voice__name">{voice.name}</span>
            {voice.engine === 'piper' && <span className="badge badge--piper">Piper</span>}
          </p>
          <p className="voice__meta">
            <span className="voice__code">{voice.language}</span>
            {voice.speakers.length > 0 && <span>{voice.speakers.length} speakers</span>}
            {voice.licence ? (
              <span className="voice__licence">{voice.licence}</span>
            ) : (
              !voice.builtin && (
                <span className="voice__licence voice__licence--unknown">
                  Licence not stated in its .onnx.json; check where the voice came from before you publish with it
                </span>
              )
            )}
          </p>
        </div>

        {!voice.builtin && !confirming && (
          <button
            type="button"
            className="button button--quiet"
            onClick={() => {
              setError(null);
              setConfirming(true);
            }}
          >
            Delete
          </button>
        )}
      </div>

      {preview.kind === 'synthesising' && (
        <p className="voice__status" role="status">
          Synthesising a sample…
        </p>
      )}
      {preview.kind === 'playing' && (
        <audio className="voice__audio" src={preview.url} controls autoPlay aria-label={`Sample of ${voice.name}`} />
      )}

      {confirming && (
        <div className="voice__confirm" role="group" aria-label={`Delete ${voice.name}?`}>
          <span>Delete this voice? The files you imported it from are kept.</span>
          <button type="button" className="button button--danger" disabled={busy} onClick={() => void remove()}>
            Delete
          </button>
          <button type="button" className="button button--quiet" disabled={busy} onClick={() => setConfirming(false)}>
            Keep
          </button>
        </div>
      )}

      {error && (
        <p className="voice__error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
