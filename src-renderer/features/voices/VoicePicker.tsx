import { useId, useMemo } from 'react';
import { useStore } from '../../store';
import { groupVoices, languageKey } from '../../store/voices';

const REMEMBERED_VOICE = 'mouthpiece.voice';

/** The voice the user last chose in the editor, so the next video starts in the same language. */
export function rememberedVoice(): string | null {
  try {
    return localStorage.getItem(REMEMBERED_VOICE);
  } catch {
    // Storage can be switched off; then each session starts from the default voice.
    return null;
  }
}

export function rememberVoice(voiceId: string): void {
  try {
    localStorage.setItem(REMEMBERED_VOICE, voiceId);
  } catch {
    // As above: forgetting the choice is harmless.
  }
}

/**
 * Two selects, language then voice: ~140 voices in one list are hard to scan, while each language
 * has only a few. Choosing a language picks its first voice (an imported one, if any).
 */
export function VoicePicker({ value, onChange }: { value: string; onChange(voiceId: string): void }) {
  const voices = useStore((state) => state.voices);
  const loaded = useStore((state) => state.voicesLoaded);
  const loadError = useStore((state) => state.voicesError);
  const groups = useMemo(() => groupVoices(voices), [voices]);
  // Labels point at their selects rather than wrap them, so a select's name is the label alone,
  // not the label followed by the option chosen.
  const languageId = useId();
  const voiceId = useId();
  const voice = voices[value];
  const group = voice ? groups.find((g) => g.key === languageKey(voice)) : undefined;

  if (!loaded || !voice || !group) {
    const placeholder = loadError ? 'Voices could not be loaded' : loaded ? 'No voices' : 'Loading voices…';
    return (
      <div className="field-row">
        <div className="field">
          <label className="field__label" htmlFor={languageId}>
            Language
          </label>
          <select id={languageId} disabled>
            <option>{placeholder}</option>
          </select>
        </div>
        <div className="field">
          <label className="field__label" htmlFor={voiceId}>
            Voice
          </label>
          <select id={voiceId} disabled>
            <option>{placeholder}</option>
          </select>
        </div>
      </div>
    );
  }

  return (
    <div className="field-row">
      <div className="field">
        <label className="field__label" htmlFor={languageId}>
          Language
        </label>
        <select
          id={languageId}
          value={group.key}
          onChange={(event) => {
            const chosen = groups.find((g) => g.key === event.target.value);
            if (chosen) onChange(chosen.voices[0].id);
          }}
        >
          {groups.map((g) => (
            <option key={g.key} value={g.key}>
              {g.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label className="field__label" htmlFor={voiceId}>
          Voice
        </label>
        <select id={voiceId} value={value} onChange={(event) => onChange(event.target.value)}>
          {group.voices.map((v) => (
            <option key={v.id} value={v.id}>
              {v.engine === 'piper' ? `${v.name} (Piper)` : v.name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
