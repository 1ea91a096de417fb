import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Db } from '../db/connection';
import { listEspeakVoices, synthesizeEspeak, type Speech } from './espeak';
import { checkPiperVoice, synthesizePiper } from './piper';
import { findModelRow, mainFile } from '../models/repository';

export type VoiceRef =
  | {
      engine: 'espeak';
      /** espeak-ng's voice name, e.g. en-us. */
      name: string;
      language: string;
    }
  | {
      engine: 'piper';
      modelPath: string;
      /** The espeak-ng language its phonemes are in. */
      language: string;
      speaker?: number;
    };

/** How fast espeak-ng speaks at speed 1, in words per minute (its own default). */
const ESPEAK_RATE = 165;

/**
 * A voice by id: `espeak:en-us` (or a bare espeak voice name), `piper:<id>` of a voice imported
 * into the library (needs `db`), or the path of a Piper `.onnx` with its `.onnx.json` beside it.
 */
export async function resolveVoice(id: string, db?: Db): Promise<VoiceRef> {
  if (extname(id).toLowerCase() === '.onnx' || (id.includes('/') && existsSync(id))) {
    const info = await checkPiperVoice(resolve(id));
    return { engine: 'piper', modelPath: info.modelPath, language: info.language };
  }
  if (id.startsWith('piper:')) {
    const key = id.slice('piper:'.length);
    const row = db && (await db.selectFrom('voices').selectAll().where('id', '=', key).executeTakeFirst());
    if (row?.model_path) return { engine: 'piper', modelPath: row.model_path, language: row.language };
    // A voice downloaded or imported on the Models screen lives in the model registry.
    const model = db && (await findModelRow(db, key));
    if (model?.kind === 'voice' && model.status === 'installed') return { engine: 'piper', modelPath: mainFile(model), language: model.language ?? 'en-us' };
    throw new AppError(ErrorCode.BadInput, `voice "${id}" is not in the library; import its .onnx on the Voices screen, or run with --list-voices`);
  }
  const name = id.startsWith('espeak:') ? id.slice('espeak:'.length) : id;
  const voice = (await listEspeakVoices()).find((v) => v.id === name || v.language === name);
  if (!voice) {
    throw new AppError(ErrorCode.BadInput, `voice "${id}" does not exist; run with --list-voices to see the voices (for example espeak:en-us)`);
  }
  return { engine: 'espeak', name, language: voice.id };
}

/** Speak `text` with a voice at a speed (1 = the voice's own pace). */
export function synthesize(voice: VoiceRef, text: string, options: { signal: AbortSignal; speed?: number }): Promise<Speech> {
  const speed = options.speed ?? 1;
  if (voice.engine === 'piper') return synthesizePiper(voice.modelPath, text, { signal: options.signal, speed, speaker: voice.speaker });
  return synthesizeEspeak(text, { voice: voice.name, signal: options.signal, rate: ESPEAK_RATE * speed });
}
