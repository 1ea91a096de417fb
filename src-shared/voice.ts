export const VOICE_ENGINES = ['espeak', 'piper'] as const;
export type VoiceEngine = (typeof VOICE_ENGINES)[number];

/** A voice as the Voices screen and the editor show it. */
export interface VoiceSummary {
  /** `espeak:<name>` for built-in voices, `piper:<id>` for imported Piper voices. */
  id: string;
  name: string;
  engine: VoiceEngine;
  /** espeak-ng's language code, e.g. en-us, de, pt-br: voices are grouped by it. */
  language: string;
  /** Built-in voices cannot be deleted. */
  builtin: boolean;
  /** Named speakers of a multi-speaker Piper voice; empty for single-speaker voices. */
  speakers: string[];
  /** Where the voice came from and its licence, as the voice's files say; null when unknown. */
  licence: string | null;
}

/** Ids of voices: an engine, a colon, and a name of letters, digits, dots, dashes and underscores. */
export const VOICE_ID_PATTERN = /^(espeak|piper):[A-Za-z0-9._-]{1,80}$/;
