import { useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { invoke, pathForFile } from '../../api';
import { CreditsRefusal, CreditsWarning } from '../../components/CreditsNotice';
import { SelectField, SpeedField, fileName } from '../../components/fields';
import { useStore } from '../../store';
import { isCreditsRefusal } from '../../store/account';
import { choosableAvatars } from '../../store/avatars';
import { availableVoice, DEFAULT_VOICE_ID } from '../../store/voices';
import { rememberedVoice, rememberVoice, VoicePicker } from '../voices/VoicePicker';
import { BUILTIN_AVATAR_ID, type LipSyncEngine } from '../../../src-shared/avatar';
import { errorCode } from '../../../src-shared/errors';
import { creditCost, estimateSeconds } from '../../../src-shared/project';
import { openDraft } from '../editor/autosave';
import { STARTER_SCENE } from '../editor/Editor';

// Roughly how fast the built-in voices speak at speed 1, for the length hint under the script.
const WORDS_PER_MINUTE = 150;

// The pause markup main reads as silence (src-main/voices/text.ts): [pause] is half a second,
// [pause 500ms] and [pause 1.5s] say how long. Main refuses malformed markup; this only estimates.
const PAUSE = /\[\s*pause(?!\p{L})\s*(?:(\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?))?\s*\]/giu;
const DEFAULT_PAUSE_SECONDS = 0.5;

function lengthHint(text: string, speed: number): string {
  let pauses = 0;
  const spoken = text.replace(PAUSE, (_markup, amount: string | undefined, unit: string | undefined) => {
    pauses += amount === undefined ? DEFAULT_PAUSE_SECONDS : Number(amount) / (unit?.toLowerCase() === 'ms' ? 1000 : 1);
    return ' ';
  });
  const words = spoken.trim() ? spoken.trim().split(/\s+/).length : 0;
  if (words === 0) return 'Type or paste what the presenter should say.';
  const seconds = Math.max(1, Math.round(((words / WORDS_PER_MINUTE) * 60) / speed + pauses));
  const length = seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${words} ${words === 1 ? 'word' : 'words'} · about ${length} of speech`;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A Wav2Lip model main has checked, with the licence note it answered. */
interface CheckedModel {
  path: string;
  name: string;
  licence: string;
}

type ModelCheck = { kind: 'none' } | { kind: 'checking'; name: string } | { kind: 'refused'; message: string } | { kind: 'ok'; model: CheckedModel };

/**
 * How a photo avatar's mouth moves: the built-in landmark warp, or a Wav2Lip-compatible model the
 * user picks, which main checks (and whose licence note is shown) before a video may use it.
 */
function LipSyncChoice({
  engine,
  check,
  onEngine,
  onCheck,
}: {
  engine: LipSyncEngine;
  check: ModelCheck;
  onEngine(engine: LipSyncEngine): void;
  onCheck(check: ModelCheck): void;
}) {
  const picker = useRef<HTMLInputElement>(null);
  // The latest pick; a slow check of an earlier one must not overwrite it.
  const latest = useRef(0);

  async function checkModel(file: File) {
    const request = ++latest.current;
    const path = pathForFile(file);
    if (!path) {
      onCheck({ kind: 'refused', message: `${file.name}: not a file on this computer; save it to a folder first, then choose it from there` });
      return;
    }
    onCheck({ kind: 'checking', name: file.name });
    try {
      const { licence } = await invoke('lipsync:check', { path });
      if (request === latest.current) onCheck({ kind: 'ok', model: { path, name: file.name, licence } });
    } catch (error) {
      if (request === latest.current) onCheck({ kind: 'refused', message: messageOf(error) });
    }
  }

  return (
    <fieldset className="choice" aria-describedby="lipsync-hint">
      <legend className="field__label">Lip sync</legend>
      <label className="choice__option">
        <input type="radio" name="lipsync" checked={engine === 'warp'} onChange={() => onEngine('warp')} />
        Landmark warp (built in)
      </label>
      <label className="choice__option">
        <input
          type="radio"
          name="lipsync"
          checked={engine === 'wav2lip'}
          onChange={() => {
            onEngine('wav2lip');
            if (check.kind !== 'ok') picker.current?.click();
          }}
        />
        Wav2Lip model…
      </label>
      <input
        ref={picker}
        type="file"
        accept=".onnx"
        hidden
        aria-label="Wav2Lip model file"
        onChange={(event) => {
          const file = event.target.files?.[0];
          // Cleared so that choosing the same file again checks it again.
          event.target.value = '';
          if (file) void checkModel(file);
        }}
      />
      {engine === 'wav2lip' && (
        <div className="choice__detail">
          {check.kind === 'ok' && (
            <>
              <p className="choice__model">{check.model.name}</p>
              <p className="choice__licence">{check.model.licence}</p>
            </>
          )}
          {check.kind === 'checking' && (
            <p className="choice__status" role="status">
              <span className="spinner" aria-hidden="true" /> Checking {check.name}…
            </p>
          )}
          {check.kind === 'refused' && (
            <p className="choice__error" role="alert">
              {check.message}
            </p>
          )}
          {check.kind === 'none' && <p className="choice__status">Choose the .onnx export of a Wav2Lip or Wav2Lip-GAN model.</p>}
          <button type="button" className="button button--quiet" disabled={check.kind === 'checking'} onClick={() => picker.current?.click()}>
            {check.kind === 'ok' ? 'Choose another model…' : 'Choose model…'}
          </button>
        </div>
      )}
      <p className="field__hint" id="lipsync-hint">
        Only photo and clip avatars use this; the built-in presenter draws its own mouth.
      </p>
    </fieldset>
  );
}

/**
 * A script, spoken by a chosen avatar and voice, becomes a video: videos:create's plain-text form
 * makes each paragraph a scene, and render:start queues it.
 */
export function Compose() {
  const receiveVideo = useStore((state) => state.receiveVideo);
  const avatars = useStore((state) => state.avatars);
  const voices = useStore((state) => state.voices);
  const voicesLoaded = useStore((state) => state.voicesLoaded);
  const choices = useMemo(() => choosableAvatars(avatars), [avatars]);
  const [chosenAvatar, setChosenAvatar] = useState(BUILTIN_AVATAR_ID);
  // An avatar deleted (or not yet listed) since it was chosen falls back to the built-in presenter.
  const avatar = choices.some((a) => a.id === chosenAvatar) ? chosenAvatar : BUILTIN_AVATAR_ID;
  const [chosenVoice, setChosenVoice] = useState(() => rememberedVoice() ?? DEFAULT_VOICE_ID);
  const voice = availableVoice(voices, voicesLoaded, chosenVoice);
  const [speed, setSpeed] = useState(1);
  const [lipSync, setLipSync] = useState<LipSyncEngine>('warp');
  const [modelCheck, setModelCheck] = useState<ModelCheck>({ kind: 'none' });
  const [recording, setRecording] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [creditsRefused, setCreditsRefused] = useState<string | null>(null);
  const account = useStore((state) => state.account);
  const showScreen = useStore((state) => state.showScreen);
  // The same estimate main charges by, with each paragraph a scene as videos:create makes them.
  const cost = creditCost(estimateSeconds({ scenes: text.split(/\n\s*\n/).map((t) => ({ text: t })), speed }));
  const short = account !== null && text.trim() !== '' && account.credits < cost;

  async function render() {
    if (lipSync === 'wav2lip' && modelCheck.kind !== 'ok') {
      setError('Choose a Wav2Lip model that passes the check, or set lip sync to the landmark warp.');
      return;
    }
    setBusy(true);
    setError(null);
    setCreditsRefused(null);
    try {
      const trimmedTitle = title.trim();
      const video = await invoke('videos:create', {
        text,
        ...(trimmedTitle ? { title: trimmedTitle } : {}),
        ...(avatar !== BUILTIN_AVATAR_ID ? { avatar } : {}),
        voice,
        speed,
        lipSync: lipSync === 'wav2lip' && modelCheck.kind === 'ok' ? modelCheck.model.path : 'warp',
        ...(recording ? { audio: recording } : {}),
      });
      receiveVideo(video);
      receiveVideo(await invoke('render:start', { videoId: video.id }));
      // The script now lives in the video; clear the form only once the render is queued. The
      // voice, speed and lip sync stay: the next video is likely made the same way.
      setText('');
      setTitle('');
      setRecording(null);
    } catch (failure) {
      const refusal = { code: errorCode(failure), message: messageOf(failure) };
      // The video stays in the library as a draft, to render once there are credits.
      if (isCreditsRefusal(refusal)) setCreditsRefused(refusal.message);
      else setError(refusal.message);
    } finally {
      setBusy(false);
    }
  }

  /** The script so far becomes a draft, a scene per paragraph, and opens in the editor. */
  async function openInEditor() {
    setBusy(true);
    setError(null);
    try {
      const paragraphs = text
        .split(/\n\s*\n/)
        .map((t) => t.trim())
        .filter(Boolean);
      const trimmedTitle = title.trim();
      const video = await invoke('videos:create', {
        project: {
          title: trimmedTitle || 'Untitled video',
          avatar,
          voice,
          speed,
          ...(lipSync === 'wav2lip' && modelCheck.kind === 'ok' ? { lipSync: modelCheck.model.path } : {}),
          // A recording is one scene, whatever its transcript's paragraphs.
          scenes: recording
            ? [{ text: text.trim(), audio: { path: recording } }]
            : (paragraphs.length > 0 ? paragraphs : [STARTER_SCENE]).map((t) => ({ text: t })),
        },
      });
      receiveVideo(video);
      setText('');
      setTitle('');
      setRecording(null);
      await openDraft(video.id);
    } catch (failure) {
      setError(messageOf(failure));
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
        <button type="button" className="button button--quiet" disabled={busy} onClick={() => void openInEditor()}>
          Open in the editor
        </button>
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
        <SelectField
          id="compose-avatar"
          label="Avatar"
          value={avatar}
          options={[
            ...(choices.length === 0 ? [{ value: BUILTIN_AVATAR_ID, label: 'Presenter (built in)' }] : []),
            ...choices.map((choice) => ({ value: choice.id, label: choice.name })),
          ]}
          onChange={setChosenAvatar}
        />
        <VoicePicker
          value={voice}
          onChange={(voiceId) => {
            setChosenVoice(voiceId);
            rememberVoice(voiceId);
          }}
        />
        <div className="field">
          <span className="field__label">Your recording</span>
          {recording ? (
            <span className="compose__recording">
              <span data-testid="recording-name">{fileName(recording)}</span> speaks instead of the voice; the
              script is its transcript, for captions.{' '}
              <button type="button" className="button button--quiet" onClick={() => setRecording(null)}>
                Remove
              </button>
            </span>
          ) : (
            <input
              type="file"
              accept="audio/*,.wav,.mp3,.ogg,.m4a"
              aria-label="Use your own recording instead of a voice"
              onChange={(event) => {
                const file = event.target.files?.[0];
                if (file) setRecording(pathForFile(file));
                event.target.value = '';
              }}
            />
          )}
        </div>
        <SpeedField id="compose-speed" label="Speed" value={speed} onChange={setSpeed} />
        <LipSyncChoice
          engine={lipSync}
          check={modelCheck}
          onEngine={(engine) => {
            setLipSync(engine);
            setError(null);
          }}
          onCheck={(check) => {
            setModelCheck(check);
            setError(null);
          }}
        />
        <label className="field field--grow">
          <span className="field__label">Script</span>
          <textarea
            value={text}
            rows={10}
            placeholder="Hello! In this short video I will show you…"
            aria-describedby="compose-hint compose-pause-hint"
            onChange={(event) => {
              setText(event.target.value);
              setError(null);
              setCreditsRefused(null);
            }}
            onKeyDown={submitOnCtrlEnter}
          />
        </label>
        <div className="compose__hints">
          <p className="compose__hint" id="compose-hint">
            {lengthHint(text, speed)}
          </p>
          <p className="compose__hint" id="compose-pause-hint">
            Write <code>[pause 1s]</code> where the presenter should stop for a moment (up to 10 s); each paragraph is
            a scene.
          </p>
        </div>
        {short && !creditsRefused && <CreditsWarning cost={cost} account={account} onOpenAccount={() => showScreen('account')} />}
        {error && (
          <p className="compose__error" id="compose-error" role="alert">
            {error}
          </p>
        )}
        {creditsRefused && <CreditsRefusal message={creditsRefused} account={account} onOpenAccount={() => showScreen('account')} />}
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
