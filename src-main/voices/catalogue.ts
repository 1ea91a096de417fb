import { AppError, ErrorCode } from '../../src-shared/errors';
import { listEspeakVoices, synthesizeEspeak, type Speech } from './espeak';

export interface VoiceRef {
  engine: 'espeak';
  /** espeak-ng's voice name, e.g. en-us. */
  name: string;
}

/** Accept `espeak:en-us` or a bare espeak voice name; refuse anything espeak-ng does not have. */
export async function resolveVoice(id: string): Promise<VoiceRef> {
  const name = id.startsWith('espeak:') ? id.slice('espeak:'.length) : id;
  const voices = await listEspeakVoices();
  if (!voices.some((v) => v.id === name || v.language === name)) {
    throw new AppError(ErrorCode.BadInput, `voice "${id}" does not exist; run with --list-voices to see the voices (for example espeak:en-us)`);
  }
  return { engine: 'espeak', name };
}

export function synthesize(voice: VoiceRef, text: string, signal: AbortSignal): Promise<Speech> {
  return synthesizeEspeak(text, { voice: voice.name, signal });
}
