import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { VoiceSummary } from '../../src-shared/voice';
import { recordEvent } from '../audit/log';
import type { Db } from '../db/connection';
import type { VoicesTable } from '../db/schema';
import { resolveVoice, synthesize } from './catalogue';
import { mainFile } from '../models/repository';
import { listEspeakVoices } from './espeak';
import { checkPiperVoice } from './piper';
import { normalizeText } from './text';
import { encodeWav } from './wav';

/** What a voice says when previewed, in its language where we have a line, else in English. */
const SAMPLE_LINES: Record<string, string> = {
  en: 'Hello! This is how I sound in your videos.',
  de: 'Hallo! So klinge ich in deinen Videos.',
  fr: 'Bonjour ! Voici ma voix dans vos vidéos.',
  es: '¡Hola! Así sueno en tus vídeos.',
  it: 'Ciao! Ecco come suono nei tuoi video.',
  pt: 'Olá! É assim que eu soo nos seus vídeos.',
  nl: 'Hallo! Zo klink ik in je video’s.',
};

export function sampleLine(language: string): string {
  return SAMPLE_LINES[language.split('-')[0]] ?? SAMPLE_LINES.en;
}

function toSummary(row: VoicesTable, licence: string | null = null, speakers: string[] = []): VoiceSummary {
  return { id: `piper:${row.id}`, name: row.name, engine: 'piper', language: row.language, builtin: false, speakers, licence };
}

/**
 * The voices a user can choose: espeak-ng's (built in, every language it has) and the Piper voices
 * they import, whose .onnx and .onnx.json are copied into <home>/voices/<id> so the library never
 * depends on where the originals were.
 */
export class VoiceLibrary {
  constructor(
    private readonly db: Db,
    private readonly home: string,
  ) {}

  async list(): Promise<VoiceSummary[]> {
    const builtin: VoiceSummary[] = (await listEspeakVoices()).map((v) => ({
      id: `espeak:${v.id}`,
      name: v.name,
      engine: 'espeak',
      language: v.id,
      builtin: true,
      speakers: [],
      licence: 'GPL-3.0 (espeak-ng)',
    }));
    const imported: VoiceSummary[] = [];
    for (const row of await this.db.selectFrom('voices').selectAll().where('engine', '=', 'piper').orderBy('created_at', 'desc').execute()) {
      const info = await checkPiperVoice(row.model_path!).catch(() => undefined);
      imported.push(toSummary(row, info?.licence ?? null, info?.speakers ?? []));
    }
    // Piper voices downloaded or imported on the Models screen.
    for (const model of await this.db.selectFrom('models').selectAll().where('kind', '=', 'voice').where('status', '=', 'installed').orderBy('created_at', 'desc').execute()) {
      const info = await checkPiperVoice(mainFile(model)).catch(() => undefined);
      if (!info) continue;
      imported.push({ id: `piper:${model.id}`, name: model.name, engine: 'piper', language: model.language ?? info.language, builtin: false, speakers: info.speakers, licence: model.licence });
    }
    return [...imported, ...builtin];
  }

  /** Import a Piper voice from its .onnx (the .onnx.json beside it), refusing what cannot speak. */
  async import(path: string): Promise<VoiceSummary> {
    const info = await checkPiperVoice(path);
    const id = randomUUID();
    const dir = join(this.home, 'voices', id);
    await mkdir(dir, { recursive: true });
    const modelPath = join(dir, basename(info.modelPath));
    try {
      await copyFile(info.modelPath, modelPath);
      await copyFile(info.configPath, `${modelPath}.json`);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw new AppError(ErrorCode.Io, `${basename(path)}: could not copy the voice into the library (${(error as Error).message}); check the disk has space`);
    }
    const row: VoicesTable = { id, name: info.name, engine: 'piper', language: info.language, model_path: modelPath, created_at: new Date().toISOString() };
    await this.db.insertInto('voices').values(row).execute();
    await recordEvent(this.db, 'voice.imported', row.id, { source: path, language: info.language });
    return toSummary(row, info.licence, info.speakers);
  }

  async delete(voiceId: string): Promise<{ voiceId: string }> {
    if (!voiceId.startsWith('piper:')) throw new AppError(ErrorCode.BadInput, `voice "${voiceId}" is built in and cannot be deleted`);
    const id = voiceId.slice('piper:'.length);
    const row = await this.db.selectFrom('voices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError(ErrorCode.NotFound, `voice "${voiceId}" does not exist; list the voices to see their ids`);
    await this.db.deleteFrom('voices').where('id', '=', id).execute();
    await rm(join(this.home, 'voices', id), { recursive: true, force: true });
    await recordEvent(this.db, 'voice.deleted', id);
    return { voiceId };
  }

  /** The voice saying a line, as a WAV data: URL the page can play. */
  async preview(voiceId: string, text?: string): Promise<{ url: string }> {
    const voice = await resolveVoice(voiceId, this.db);
    const line = text ?? sampleLine(voice.language);
    const speech = await synthesize(voice, normalizeText(line, voice.language), { signal: new AbortController().signal });
    return { url: `data:audio/wav;base64,${encodeWav(speech.samples, speech.sampleRate).toString('base64')}` };
  }
}
