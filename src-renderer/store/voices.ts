import type { StateCreator } from 'zustand';
import type { VoiceSummary } from '../../src-shared/voice';

export interface VoicesSlice {
  /** Every voice, keyed by id. */
  voices: Record<string, VoiceSummary>;
  /** Whether the first `voices:list` has answered; until then pickers show that voices are loading. */
  voicesLoaded: boolean;
  voicesError: string | null;
  receiveVoices(voices: VoiceSummary[]): void;
  receiveVoice(voice: VoiceSummary): void;
  removeVoice(voiceId: string): void;
  failVoices(message: string): void;
}

export const createVoicesSlice: StateCreator<VoicesSlice, [], [], VoicesSlice> = (set) => ({
  voices: {},
  voicesLoaded: false,
  voicesError: null,
  receiveVoices: (voices) =>
    set((state) => {
      // Merged, not replaced: an import answered while the list was on its way is not in it.
      const next = { ...state.voices };
      for (const voice of voices) next[voice.id] = voice;
      return { voices: next, voicesLoaded: true, voicesError: null };
    }),
  receiveVoice: (voice) => set((state) => ({ voices: { ...state.voices, [voice.id]: voice } })),
  removeVoice: (voiceId) =>
    set((state) => {
      if (!Object.hasOwn(state.voices, voiceId)) return state;
      const next = { ...state.voices };
      delete next[voiceId];
      return { voices: next };
    }),
  failVoices: (message) => set({ voicesError: message }),
});

/** The voice a project gets when it names none (projectSchema's default). */
export const DEFAULT_VOICE_ID = 'espeak:en-us';

/**
 * The voice a video will be made with when the user wanted `wanted`: it, while it exists (or while
 * the list has not come, when main is the judge); once a chosen voice is deleted, the default.
 */
export function availableVoice(voices: Record<string, VoiceSummary>, loaded: boolean, wanted: string): string {
  if (!loaded || Object.hasOwn(voices, wanted)) return wanted;
  return Object.hasOwn(voices, DEFAULT_VOICE_ID) ? DEFAULT_VOICE_ID : (Object.keys(voices)[0] ?? DEFAULT_VOICE_ID);
}

/** The voices of one language: imported Piper voices first, then espeak-ng's, each by name. */
export interface VoiceGroup {
  /** The language's primary subtag (en for en-us, en-gb-scotland...): what voices are grouped by. */
  key: string;
  /** The language's name in English ("English", "German"). */
  label: string;
  voices: VoiceSummary[];
}

/** The language a voice belongs to for grouping: its code up to the first dash or underscore. */
export function languageKey(voice: Pick<VoiceSummary, 'language'>): string {
  return voice.language.toLowerCase().split(/[-_]/)[0] || voice.language;
}

let languageNames: Intl.DisplayNames | null | undefined;

function languageName(key: string): string | undefined {
  if (languageNames === undefined) {
    try {
      languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
    } catch {
      languageNames = null;
    }
  }
  try {
    return languageNames?.of(key) ?? undefined;
  } catch {
    // espeak-ng has languages no BCP 47 registry knows (Klingon as piqd, Quenya as qya).
    return undefined;
  }
}

const engineOrder = (voice: VoiceSummary) => (voice.engine === 'piper' ? 0 : 1);
// Punctuation ignored, so "English (America)" comes before "English (America, New York City)".
const byName = (a: VoiceSummary, b: VoiceSummary) =>
  engineOrder(a) - engineOrder(b) || a.name.localeCompare(b.name, 'en', { ignorePunctuation: true });

/**
 * Voices grouped by language, groups by name, except that languages holding imported voices come
 * first: a voice the user imported is what they are most likely looking for.
 */
export function groupVoices(voices: Record<string, VoiceSummary>): VoiceGroup[] {
  const byKey = new Map<string, VoiceSummary[]>();
  for (const voice of Object.values(voices)) {
    const key = languageKey(voice);
    byKey.set(key, [...(byKey.get(key) ?? []), voice]);
  }
  const groups = [...byKey].map(([key, members]): VoiceGroup => {
    members.sort(byName);
    // Where Intl knows no name (piqd, qya, hyw), espeak-ng's name of the language's main voice, in
    // full, so that hyw's "Armenian (West Armenia)" stays apart from hy's "Armenian".
    const builtin = members.find((v) => v.engine === 'espeak' && v.language.toLowerCase() === key) ?? members.find((v) => v.engine === 'espeak');
    const label = languageName(key) ?? builtin?.name ?? key;
    return { key, label, voices: members };
  });
  const imported = (group: VoiceGroup) => (group.voices.some((v) => !v.builtin) ? 0 : 1);
  return groups.sort((a, b) => imported(a) - imported(b) || a.label.localeCompare(b.label));
}

/**
 * The groups and voices matching what the user typed: a voice's name, the start of its language
 * code ("pt" finds pt and pt-br) or its language's name, which keeps all the language's voices.
 */
export function searchVoices(groups: VoiceGroup[], query: string): VoiceGroup[] {
  const q = query.trim().toLowerCase();
  if (!q) return groups;
  return groups.flatMap((group) => {
    if (group.label.toLowerCase().includes(q) || group.key === q) return [group];
    const voices = group.voices.filter((v) => v.name.toLowerCase().includes(q) || v.language.toLowerCase().startsWith(q));
    return voices.length > 0 ? [{ ...group, voices }] : [];
  });
}
