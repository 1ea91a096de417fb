import { open, readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { createSession } from '../inference/session';
import { visemeForPhoneme } from '../render/mouthTrack';
import { listEspeakVoices, phonemizeEspeak, type PhonemeTiming, type Speech, type WordTiming } from './espeak';

/*
 * Piper (OHF-Voice/piper1-gpl, and rhasspy/piper with piper-phonemize before it), step for step:
 * espeak-ng reads the text clause by clause (espeak_TextToPhonemes, IPA); each clause's phonemes
 * get the punctuation that ended it; a clause that ends a sentence ends Piper's unit of synthesis;
 * the sentence's phonemes are split into code points after NFD, mapped through phoneme_id_map
 * with BOS first, the pad after every phoneme and EOS last; the VITS model turns the ids into
 * audio, which Piper scales to full range, sentence by sentence.
 */

export interface PiperVoiceInfo {
  modelPath: string;
  configPath: string;
  /** The model file's name without .onnx, e.g. en_US-lessac-medium. */
  name: string;
  /** The espeak-ng voice its phonemes are in, e.g. en-us. */
  language: string;
  sampleRate: number;
  /** Speaker names in speaker-id order; empty for a single-speaker voice. */
  speakers: string[];
  /** The config's licence, when it states one. */
  licence: string | null;
}

/** Piper's defaults for a config's `inference` values it leaves out (piper1-gpl config.py). */
const DEFAULT_NOISE_SCALE = 0.667;
const DEFAULT_LENGTH_SCALE = 1;
const DEFAULT_NOISE_W = 0.8;
/** Audio samples per duration frame, when the config does not say (piper1-gpl config.py). */
const DEFAULT_HOP_LENGTH = 256;

const PAD = '_';
const BOS = '^';
const EOS = '$';

const MIN_SPEED = 0.5;
const MAX_SPEED = 2;

/**
 * What checkPiperVoice phonemizes to see that the config's map can express the voice's language:
 * espeak-ng reads numbers in every language it speaks.
 */
const SAMPLE_TEXT = '1 2 3 4 5 6 7 8 9 10 20 100.';

type Mark = '.' | '?' | '!' | ',' | ':' | ';';

interface VoiceConfig {
  sampleRate: number;
  espeakVoice: string;
  phonemeIdMap: Map<string, number[]>;
  /** Replaces one phoneme by others before ids are looked up (piper-phonemize; rarely used). */
  phonemeMap: Map<string, string[]>;
  /** Runs of phonemes looked up as one ("a", "ɪ" -> "aɪ"), longest first. */
  vowelClusters: string[][];
  noiseScale: number;
  lengthScale: number;
  noiseW: number;
  numSpeakers: number;
  speakerIdMap: Record<string, number>;
  numSymbols: number | undefined;
  hopLength: number;
  licence: string | null;
}

interface LoadedVoice {
  info: PiperVoiceInfo;
  config: VoiceConfig;
  session: ort.InferenceSession;
  audioOutput: string;
  /** Some exports add the duration of each phoneme id, in frames, as a second output. */
  durationsOutput: string | undefined;
  takesSpeaker: boolean;
}

/**
 * Check that `modelPath` is a Piper voice Mouthpiece can speak with: an ONNX model with Piper's
 * inputs, its .onnx.json beside it, in a language espeak-ng knows, with phonemes the model accepts.
 * Refusals are BadInput, naming the file and what to do. The voice stays loaded for synthesis.
 */
export async function checkPiperVoice(modelPath: string): Promise<PiperVoiceInfo> {
  return (await loadVoice(modelPath)).info;
}

/**
 * Speak `text` with a Piper voice: the sentences one after another, each timed for captions and
 * mouth shapes. `speed` 1 is the voice's own pace (its config's length_scale).
 */
export async function synthesizePiper(
  modelPath: string,
  text: string,
  options: { signal?: AbortSignal; speed?: number; speaker?: number } = {},
): Promise<Speech> {
  const parts: Speech[] = [];
  let sampleRate = 0;
  for await (const part of streamPiper(modelPath, text, options)) {
    parts.push(part);
    sampleRate = part.sampleRate;
  }
  if (parts.length === 0) {
    sampleRate = (await loadVoice(modelPath)).config.sampleRate;
  }
  const samples = new Float32Array(parts.reduce((n, p) => n + p.samples.length, 0));
  const words: WordTiming[] = [];
  const phonemes: PhonemeTiming[] = [];
  let offset = 0;
  for (const part of parts) {
    const at = offset / sampleRate;
    samples.set(part.samples, offset);
    offset += part.samples.length;
    for (const w of part.words) words.push({ ...w, start: at + w.start, end: at + w.end });
    for (const p of part.phonemes) phonemes.push({ ...p, start: at + p.start, end: at + p.end });
  }
  return { sampleRate, samples, words, phonemes, duration: samples.length / sampleRate };
}

/**
 * Speak `text` with a Piper voice one sentence at a time, as Piper does: each Speech is one
 * sentence, its timings from its own start, so the first audio of a long script comes after one
 * sentence's work and memory holds one sentence.
 */
export async function* streamPiper(
  modelPath: string,
  text: string,
  options: { signal?: AbortSignal; speed?: number; speaker?: number } = {},
): AsyncGenerator<Speech> {
  const speed = options.speed ?? 1;
  if (!Number.isFinite(speed) || speed < MIN_SPEED || speed > MAX_SPEED) {
    throw new AppError(ErrorCode.BadInput, `speed ${speed}: a Piper voice speaks between ${MIN_SPEED} and ${MAX_SPEED} times its own pace`);
  }
  throwIfCancelled(options.signal);
  const voice = await loadVoice(modelPath);
  const speaker = speakerId(voice, options.speaker);
  for await (const sentence of sentences(text, voice.config)) {
    throwIfCancelled(options.signal);
    yield await speakSentence(voice, sentence, { speed, speaker, signal: options.signal });
  }
}

/**
 * Piper's phoneme ids for a phoneme string: its code points after NFD (merged where the config
 * lists vowel clusters), each mapped through `phoneme_id_map` and followed by the pad id, between
 * BOS and EOS (piper1-gpl phoneme_ids.py, piper-phonemize phoneme_ids.cpp). Phonemes the map
 * lacks are skipped, as Piper skips them.
 */
export function piperPhonemeIds(
  phonemes: string,
  config: { phoneme_id_map: Record<string, number[]>; vowel_clusters?: string[][] },
): number[] {
  const map = new Map(Object.entries(config.phoneme_id_map));
  for (const symbol of [PAD, BOS, EOS]) {
    if (!map.has(symbol)) throw new AppError(ErrorCode.BadInput, `phoneme_id_map has no "${symbol}"; every Piper config maps _, ^ and $`);
  }
  const items = Array.from(phonemes.normalize('NFD'), (p) => ({ phoneme: p, unit: -1 }));
  return encode(mergeClusters(items, sortedClusters(config.vowel_clusters ?? [])), map).ids;
}

/**
 * The phonemes Piper gives a model for `text` in an espeak-ng language, sentence by sentence
 * (piper1-gpl PiperVoice.phonemize): code points after NFD, with the punctuation that ended each
 * clause. Sentences with no phonemes are left out.
 */
export async function phonemizePiper(text: string, espeakVoice: string): Promise<string[][]> {
  const config = { espeakVoice, phonemeMap: new Map(), vowelClusters: [] };
  const out: string[][] = [];
  for await (const sentence of sentences(text, config)) out.push(sentence.phonemes.map((p) => p.phoneme));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Loading and checking a voice

const voices = new Map<string, { signature: string; voice: Promise<LoadedVoice> }>();

/**
 * One loaded voice (config and onnxruntime session) per model file per process. A file changed
 * on disk since is loaded afresh; a failed load is forgotten, so the next call tries again.
 */
async function loadVoice(modelPath: string): Promise<LoadedVoice> {
  const path = resolve(modelPath);
  if (extname(path).toLowerCase() !== '.onnx') {
    throw refuse(path, "not a Piper voice model; choose the voice's .onnx file, with its .onnx.json beside it");
  }
  const model = await stat(path).catch(() => undefined);
  if (!model?.isFile()) throw refuse(path, 'no such model file; check the path, or download the voice again');
  const config = await stat(`${path}.json`).catch(() => undefined);
  const signature = `${model.size}:${model.mtimeMs}|${config?.size}:${config?.mtimeMs}`;
  const cached = voices.get(path);
  if (cached?.signature === signature) return cached.voice;
  const voice = openVoice(path);
  voices.set(path, { signature, voice });
  voice.catch(() => {
    if (voices.get(path)?.voice === voice) voices.delete(path);
  });
  return voice;
}

async function openVoice(path: string): Promise<LoadedVoice> {
  await refuseUnlessOnnx(path);
  const configPath = `${path}.json`;
  const config = await readConfig(path, configPath);

  const language = config.espeakVoice.toLowerCase();
  const listed = (await listEspeakVoices()).some((v) => v.id === language || v.language.toLowerCase() === language);
  // The list names each voice by its first language only; espeak-ng also finds a voice by the
  // others it lists, and phonemizing nothing in the language tells whether it does.
  if (!listed && !(await phonemizeEspeak('', { voice: language }).then(() => true, () => false))) {
    throw refuse(
      configPath,
      `espeak.voice "${config.espeakVoice}" is not a language espeak-ng knows, so its phonemes cannot be made; use the .onnx.json that comes with this voice, or a voice in another language`,
    );
  }
  const maxId = Math.max(...[...config.phonemeIdMap.values()].flat());
  if (config.numSymbols !== undefined && maxId >= config.numSymbols) {
    throw refuse(
      configPath,
      `phoneme_id_map uses id ${maxId} but the model has ${config.numSymbols} phoneme symbols; the config does not belong to this model, so download the .onnx.json that comes with it`,
    );
  }
  await refuseUnlessMapped(configPath, config);

  const { session } = await createSession(path);
  try {
    return await readyVoice(path, configPath, config, session, maxId);
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** Check the model's inputs and outputs against its config, and run the config's highest id through it. */
async function readyVoice(
  path: string,
  configPath: string,
  config: VoiceConfig,
  session: ort.InferenceSession,
  maxId: number,
): Promise<LoadedVoice> {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : undefined]));
  const wanted: [string, string][] = [
    ['input', 'int64'],
    ['input_lengths', 'int64'],
    ['scales', 'float32'],
  ];
  if (!wanted.every(([name, type]) => inputs.has(name) && [type, undefined].includes(inputs.get(name)))) {
    throw refuse(
      path,
      `an ONNX model, but not a Piper voice: it takes ${[...inputs.keys()].join(', ') || 'no inputs'}, where a Piper voice takes input, input_lengths and scales; choose a Piper voice's .onnx`,
    );
  }
  const takesSpeaker = inputs.has('sid');
  if (config.numSpeakers > 1 && !takesSpeaker) {
    throw refuse(configPath, `says ${config.numSpeakers} speakers, but the model takes no speaker id; use the .onnx.json that comes with this model`);
  }
  if (config.numSpeakers <= 1 && takesSpeaker) {
    throw refuse(configPath, 'says one speaker, but the model takes a speaker id; use the .onnx.json that comes with this model');
  }
  const [audioOutput, durationsOutput] = session.outputNames;
  if (audioOutput === undefined) throw refuse(path, "an ONNX model with no outputs, not a Piper voice; choose a Piper voice's .onnx");

  const voice: LoadedVoice = {
    info: {
      modelPath: path,
      configPath,
      name: basename(path, extname(path)),
      language: config.espeakVoice,
      sampleRate: config.sampleRate,
      speakers: speakerNames(config),
      licence: config.licence,
    },
    config,
    session,
    audioOutput,
    durationsOutput,
    takesSpeaker,
  };
  // The highest id of the map through the model: a config made for a model with fewer phoneme
  // symbols fails here (onnxruntime's Gather refuses the id) rather than in the middle of a render.
  const ids = [BOS, PAD].flatMap((s) => config.phonemeIdMap.get(s)!);
  ids.push(maxId, ...config.phonemeIdMap.get(PAD)!, ...config.phonemeIdMap.get(EOS)!);
  try {
    if (!(await infer(voice, ids, { speed: 1, speaker: 0 })).audio) throw new Error('its first output is not float32 audio');
  } catch (error) {
    throw refuse(
      path,
      `does not accept the phoneme ids of its config (onnxruntime said: ${error instanceof Error ? error.message : String(error)}); the config does not belong to this model, so download the .onnx.json that comes with it`,
    );
  }
  return voice;
}

/** Refuse a file that is plainly not an ONNX model before onnxruntime reads all of it. */
async function refuseUnlessOnnx(path: string): Promise<void> {
  const file = await open(path, 'r');
  const head = Buffer.alloc(64);
  let length: number;
  try {
    length = (await file.read(head, 0, head.length, 0)).bytesRead;
  } finally {
    await file.close();
  }
  const text = head.toString('latin1', 0, length);
  if (text.startsWith('version https://git-lfs')) {
    throw refuse(path, 'a Git LFS pointer, not the model itself; download the real .onnx file of the voice');
  }
  // A serialized ModelProto opens with its ir_version, field 1 as a varint: the byte 0x08.
  if (length === 0 || head[0] !== 0x08) {
    throw refuse(path, "not an ONNX model (damaged, incomplete, or another kind of file); download the voice's .onnx again");
  }
}

async function readConfig(modelPath: string, configPath: string): Promise<VoiceConfig> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch {
    throw refuse(
      modelPath,
      `its config ${basename(configPath)} is missing; a Piper voice comes as two files, so download the .onnx.json of this voice and put it beside the .onnx`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw refuse(configPath, `not valid JSON (${error instanceof Error ? error.message : String(error)}); download the voice's .onnx.json again`);
  }
  const bad = (field: string, what: string) =>
    refuse(configPath, `${field} ${what}; this is not a Piper voice config, so download the .onnx.json that comes with the voice`);
  if (!isRecord(json)) throw bad('the file', 'is not a JSON object');

  const sampleRate = isRecord(json.audio) ? json.audio.sample_rate : undefined;
  if (!Number.isInteger(sampleRate) || (sampleRate as number) <= 0) throw bad('audio.sample_rate', 'is missing or not a positive whole number');
  const espeakVoice = isRecord(json.espeak) ? json.espeak.voice : undefined;
  if (typeof espeakVoice !== 'string' || espeakVoice.trim() === '') throw bad('espeak.voice', 'is missing or not a language name');
  if (json.phoneme_type !== undefined && json.phoneme_type !== 'espeak') {
    throw refuse(
      configPath,
      `phoneme_type "${String(json.phoneme_type)}" is not supported: Mouthpiece speaks Piper voices whose phonemes come from espeak-ng; choose another voice`,
    );
  }

  if (!isRecord(json.phoneme_id_map)) throw bad('phoneme_id_map', 'is missing');
  const phonemeIdMap = new Map<string, number[]>();
  for (const [phoneme, ids] of Object.entries(json.phoneme_id_map)) {
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
      throw bad(`phoneme_id_map["${phoneme}"]`, 'is not a list of ids');
    }
    phonemeIdMap.set(phoneme, ids as number[]);
  }
  for (const symbol of [PAD, BOS, EOS]) {
    if (!phonemeIdMap.has(symbol)) throw bad('phoneme_id_map', `has no "${symbol}" (Piper's ${{ _: 'pad', '^': 'start', $: 'end' }[symbol]} symbol)`);
  }

  if (!isRecord(json.inference)) throw bad('inference', 'is missing');
  const scale = (name: string, fallback: number) => {
    const value = (json.inference as Record<string, unknown>)[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(`inference.${name}`, 'is not a number');
    return value;
  };

  const numSpeakers = json.num_speakers ?? 1;
  if (!Number.isInteger(numSpeakers) || (numSpeakers as number) < 1) throw bad('num_speakers', 'is not a whole number of speakers');
  const speakerIdMap: Record<string, number> = {};
  if (isRecord(json.speaker_id_map)) {
    for (const [name, id] of Object.entries(json.speaker_id_map)) if (Number.isInteger(id)) speakerIdMap[name] = id as number;
  }
  const numSymbols = Number.isInteger(json.num_symbols) ? (json.num_symbols as number) : undefined;
  const hopLength = Number.isInteger(json.hop_length) && (json.hop_length as number) > 0 ? (json.hop_length as number) : DEFAULT_HOP_LENGTH;

  const phonemeMap = new Map<string, string[]>();
  if (isRecord(json.phoneme_map)) {
    for (const [from, to] of Object.entries(json.phoneme_map)) {
      if (Array.isArray(to) && to.every((p) => typeof p === 'string')) phonemeMap.set(from, to as string[]);
    }
  }
  const vowelClusters = Array.isArray(json.vowel_clusters)
    ? json.vowel_clusters.filter((c): c is string[] => Array.isArray(c) && c.length > 1 && c.every((p) => typeof p === 'string'))
    : [];

  return {
    sampleRate: sampleRate as number,
    espeakVoice: espeakVoice.trim(),
    phonemeIdMap,
    phonemeMap,
    vowelClusters: sortedClusters(vowelClusters),
    noiseScale: scale('noise_scale', DEFAULT_NOISE_SCALE),
    lengthScale: scale('length_scale', DEFAULT_LENGTH_SCALE),
    noiseW: scale('noise_w', DEFAULT_NOISE_W),
    numSpeakers: numSpeakers as number,
    speakerIdMap,
    numSymbols,
    hopLength,
    licence: licenceOf(json),
  };
}

/** A licence the config states: `license`/`licence` at the top or inside a `dataset` object. */
function licenceOf(json: Record<string, unknown>): string | null {
  for (const holder of [json, json.dataset]) {
    if (!isRecord(holder)) continue;
    for (const key of ['license', 'licence']) {
      const value = holder[key];
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
    }
  }
  return null;
}

/**
 * Refuse a config whose map cannot express the voice's language: most of the phonemes espeak-ng
 * gives for a sample in that language would be dropped, and the model would mumble.
 */
async function refuseUnlessMapped(configPath: string, config: VoiceConfig): Promise<void> {
  const phonemes: string[] = [];
  for await (const sentence of sentences(SAMPLE_TEXT, config)) phonemes.push(...sentence.phonemes.map((p) => p.phoneme));
  const dropped = phonemes.filter((p) => !config.phonemeIdMap.has(p));
  if (phonemes.length === 0 || dropped.length * 2 > phonemes.length) {
    const examples = [...new Set(dropped)].slice(0, 12).join(' ');
    throw refuse(
      configPath,
      `phoneme_id_map has no id for ${dropped.length} of the ${phonemes.length} phonemes espeak-ng gives in "${config.espeakVoice}" ` +
        `(${examples}), so the model does not accept this config's phonemes; use the .onnx.json that comes with this voice`,
    );
  }
}

function speakerNames(config: VoiceConfig): string[] {
  if (config.numSpeakers <= 1) return [];
  const names = Array.from({ length: config.numSpeakers }, (_, i) => String(i));
  for (const [name, id] of Object.entries(config.speakerIdMap)) if (id >= 0 && id < names.length) names[id] = name;
  return names;
}

/** The sid to send: Piper sends none to a single-speaker voice and speaker 0 by default. */
function speakerId(voice: LoadedVoice, speaker: number | undefined): number {
  if (voice.config.numSpeakers <= 1) return 0;
  const id = speaker ?? 0;
  if (!Number.isInteger(id) || id < 0 || id >= voice.config.numSpeakers) {
    const some = voice.info.speakers.slice(0, 5).join(', ') + (voice.config.numSpeakers > 5 ? ', ...' : '');
    throw new AppError(
      ErrorCode.BadInput,
      `speaker ${id}: ${voice.info.name} has speakers 0 to ${voice.config.numSpeakers - 1}; choose one of them (${some})`,
    );
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// Text to Piper's sentences of phonemes

interface Phoneme {
  /** One code point, or a vowel cluster. */
  phoneme: string;
  /** Index in the sentence's `units` of the espeak phoneme it comes from; -1 for spaces and punctuation. */
  unit: number;
}

interface PiperSentence {
  /** The sentence as written, whole words, for captions. */
  text: string;
  phonemes: Phoneme[];
  /** espeak-ng's phonemes of the sentence, as synthesizeEspeak names them. */
  units: string[];
}

/** Clause-ending punctuation of espeak-ng (its clause types), with the mark Piper writes for each. */
const CLAUSE_ENDS = new Map<string, { mark: Mark; spaceOptional: boolean }>([
  ...marks('.', '.\u06d4\u0965\u1362\uff61\ufe52', '\u0589\u0964\u3002\uff0e'),
  // U+037E is the Greek question mark.
  ...marks('?', '?\u037e\u061f\u2047\u2753\u2754\u1367', '\uff1f'),
  ...marks('!', '!\u203c\u2755\u2757', '\uff01'),
  ...marks(',', ',\u060c\uff64\ufe50\u1363\u055d', '\u3001\uff0c'),
  ...marks(':', ':\u1365', '\uff1a'),
  // espeak gives dashes, the ellipsis and the inverted marks the semicolon's clause type, and
  // Piper writes ";" for them (piper1-gpl tests/test_espeakbridge.py).
  ...marks(';', ';\u061b\u0387\u1364\u2013\u2014\u2e3a\u2e3b', '\uff1b\u2026\u22ef\u00a1\u00bf'),
]);

function marks(mark: Mark, spaced: string, unspaced: string): [string, { mark: Mark; spaceOptional: boolean }][] {
  return [
    ...Array.from(spaced, (c): [string, { mark: Mark; spaceOptional: boolean }] => [c, { mark, spaceOptional: false }]),
    ...Array.from(unspaced, (c): [string, { mark: Mark; spaceOptional: boolean }] => [c, { mark, spaceOptional: true }]),
  ];
}

/** espeak-ng's IsBracket: after these, punctuation still ends a clause. */
const BRACKETS = new Set(['(', ')', '[', ']', '{', '}', '<', '>', '"', "'", '`', '\u00ab', '\u00bb', '\u300a', '\u300b']);
const isBracket = (c: string) => BRACKETS.has(c) || (c >= '\u2014' && c <= '\u201f');
const isSpace = (c: string) => /\s/u.test(c);

interface Clause {
  start: number;
  end: number;
  mark: Mark | '';
  endsSentence: boolean;
}

/**
 * Longest text spoken as one sentence, in characters. Piper would speak a script with no full stop
 * as one sentence, in one inference as long as the script; this keeps the first audio early and
 * memory flat. A longer sentence ends at a clause end (or a space) before this length.
 */
const MAX_SENTENCE_CHARS = 500;

/**
 * The clauses espeak-ng reads `text` in (its ReadClause rules): punctuation followed by a space,
 * a bracket or the end; a full stop not when a lower-case word follows (an abbreviation) or
 * nothing has been said yet; three dots as an ellipsis; a blank line as a paragraph, which ends a
 * sentence with no mark. Each clause is phonemized on its own, so espeak still splits one further
 * where it must (a clause too long for its buffer) and those inner ends carry no mark, as in Piper.
 */
function* splitClauses(text: string): Generator<Clause> {
  const chars: { c: string; at: number }[] = [];
  for (let i = 0; i < text.length; ) {
    const c = String.fromCodePoint(text.codePointAt(i)!);
    chars.push({ c, at: i });
    i += c.length;
  }
  const at = (k: number) => (k < chars.length ? chars[k].at : text.length);
  const isAlnum = (c: string) => /[\p{L}\p{N}]/u.test(c);
  const whitespaceAfter = (k: number) => {
    let newlines = 0;
    while (k < chars.length && isSpace(chars[k].c)) {
      if (chars[k].c === '\n') newlines++;
      k++;
    }
    return { next: k, newlines };
  };

  let from = 0; // where the clause being read starts, in code points
  let anyAlnum = false;
  let lastSpace = -1;
  for (let k = 0; k < chars.length; k++) {
    if (at(k) - at(from) >= MAX_SENTENCE_CHARS) {
      // A clause this long ends at its last space (espeak too cuts a clause that fills its buffer).
      const cut = lastSpace > from ? lastSpace + 1 : k;
      yield { start: at(from), end: at(cut), mark: '', endsSentence: false };
      from = cut;
      anyAlnum = chars.slice(cut, k).some((x) => isAlnum(x.c));
    }
    let c1 = chars[k].c;
    if (isSpace(c1)) lastSpace = k;
    if (c1 === '\n') {
      const { next, newlines } = whitespaceAfter(k + 1);
      if (newlines > 0) {
        yield { start: at(from), end: at(next), mark: '', endsSentence: true };
        from = next;
        anyAlnum = false;
        k = next - 1;
      }
      continue;
    }
    if (isAlnum(c1)) {
      anyAlnum = true;
      continue;
    }
    let after = k + 1;
    if (c1 === '.' && chars[after]?.c === '.') {
      while (chars[after]?.c === '.') after++;
      // Two dots: the second may still end the clause as a full stop.
      if (after - k < 3) continue;
      c1 = '\u2026';
    }
    const end = CLAUSE_ENDS.get(c1);
    if (!end) continue;
    // espeak takes a run such as "?!" or "?.." as one end, the first mark deciding.
    if (end.mark === '?' || end.mark === '!') while (after < chars.length && CLAUSE_ENDS.has(chars[after].c)) after++;
    const c2 = chars[after]?.c;
    if (!(c2 === undefined || isSpace(c2) || end.spaceOptional || isBracket(c2) || c2 === '?')) continue;
    const { next, newlines } = whitespaceAfter(after);
    if (newlines === 0) {
      const cNext = chars[next]?.c ?? '';
      if (!anyAlnum) continue;
      if (c1 === '.' && (/\p{Ll}/u.test(cNext) || (cNext === "'" && chars[next + 1]?.c === 's'))) continue;
    }
    // Punctuation before a blank line is a paragraph end to espeak, which Piper writes no mark for.
    const paragraph = newlines > 1;
    yield {
      start: at(from),
      end: at(after),
      mark: paragraph ? '' : end.mark,
      endsSentence: paragraph || end.mark === '.' || end.mark === '?' || end.mark === '!',
    };
    from = after;
    anyAlnum = false;
    // espeak reads the blank line with the paragraph's end; it does not end a clause again.
    k = (paragraph ? next : after) - 1;
  }
  if (at(from) < text.length) yield { start: at(from), end: text.length, mark: '', endsSentence: true };
}

type PhonemizeConfig = Pick<VoiceConfig, 'espeakVoice' | 'phonemeMap' | 'vowelClusters'>;

/**
 * Piper's sentences of `text`: the phonemes of each, and the text of each for captions, which
 * runs on to the end of the word so that a closing quote or bracket stays with its sentence.
 * Sentences with no phonemes are skipped, as Piper skips them; their text joins the next caption.
 */
async function* sentences(text: string, config: PhonemizeConfig): AsyncGenerator<PiperSentence> {
  let captionStart = 0;
  let pending: Clause[] = [];
  const take = async () => {
    const clauses = pending;
    pending = [];
    const sentence = await phonemizeSentence(text, clauses, config);
    if (sentence.phonemes.length === 0) return undefined;
    let captionEnd = clauses[clauses.length - 1].end;
    while (captionEnd < text.length && /[\p{Pe}\p{Pf}\p{Po}]/u.test(text[captionEnd])) captionEnd++;
    const caption = text.slice(captionStart, captionEnd);
    captionStart = captionEnd;
    return { ...sentence, text: caption };
  };
  for (const clause of splitClauses(text)) {
    if (pending.length > 0 && clause.end - pending[0].start > MAX_SENTENCE_CHARS) {
      const sentence = await take();
      if (sentence) yield sentence;
    }
    pending.push(clause);
    if (!clause.endsSentence) continue;
    const sentence = await take();
    if (sentence) yield sentence;
  }
  if (pending.length > 0) {
    const sentence = await take();
    if (sentence) yield sentence;
  }
}

async function phonemizeSentence(text: string, clauses: Clause[], config: PhonemizeConfig): Promise<Omit<PiperSentence, 'text'>> {
  const phonemes: Phoneme[] = [];
  const units: string[] = [];
  for (const clause of clauses) {
    const spoken = await phonemizeEspeak(text.slice(clause.start, clause.end), { voice: config.espeakVoice });
    spoken.forEach((words, i) => {
      // Inner clause ends are espeak's own (a clause too long); Piper writes no mark for them.
      const mark = i === spoken.length - 1 ? clause.mark : '';
      phonemes.push(...clausePhonemes(words, mark, units));
    });
  }
  return { phonemes: mergeClusters(mapPhonemes(phonemes, config.phonemeMap), config.vowelClusters), units };
}

/**
 * One clause as Piper writes it: the phonemes without espeak's language-switch marks, words
 * apart by spaces, the clause's mark after (and a space after , : ;), split into code points
 * after NFD. Each code point remembers the espeak phoneme it belongs to, for timing.
 */
function clausePhonemes(words: string[][], mark: Mark | '', units: string[]): Phoneme[] {
  const out: Phoneme[] = [];
  let written = '';
  words.forEach((word, w) => {
    if (w > 0) {
      out.push({ phoneme: ' ', unit: -1 });
      written += ' ';
    }
    for (const name of word) {
      // piper1-gpl drops "(lang)" marks with this pattern; they surround words of another language.
      const phoneme = name.replace(/\([^)]+\)/g, '');
      if (phoneme === '') continue;
      units.push(phoneme);
      for (const p of phoneme.normalize('NFD')) out.push({ phoneme: p, unit: units.length - 1 });
      written += phoneme;
    }
  });
  const tail = mark === '' ? '' : mark === '.' || mark === '?' || mark === '!' ? mark : `${mark} `;
  for (const p of tail) out.push({ phoneme: p, unit: -1 });
  written += tail;
  // NFD may reorder combining marks across two espeak phonemes; Piper normalizes the clause as a
  // whole, so where the two differ its order wins and those phonemes go untimed by the model.
  const whole = Array.from(written.normalize('NFD'));
  if (whole.length !== out.length || whole.some((p, i) => p !== out[i].phoneme)) {
    return whole.map((phoneme) => ({ phoneme, unit: -1 }));
  }
  return out;
}

function mapPhonemes(phonemes: Phoneme[], map: Map<string, string[]>): Phoneme[] {
  if (map.size === 0) return phonemes;
  return phonemes.flatMap((p) => (map.get(p.phoneme) ?? [p.phoneme]).map((phoneme) => ({ phoneme, unit: p.unit })));
}

function sortedClusters(clusters: string[][]): string[][] {
  return [...clusters].sort((a, b) => b.length - a.length);
}

/** piper1-gpl's _merge_known_vowel_clusters: the longest listed run at each place becomes one phoneme. */
function mergeClusters(phonemes: Phoneme[], clusters: string[][]): Phoneme[] {
  if (clusters.length === 0) return phonemes;
  const out: Phoneme[] = [];
  for (let i = 0; i < phonemes.length; ) {
    const match = clusters.find((c) => c.length <= phonemes.length - i && c.every((p, j) => phonemes[i + j].phoneme === p));
    if (match) {
      out.push({ phoneme: match.join(''), unit: phonemes[i].unit });
      i += match.length;
    } else {
      out.push(phonemes[i++]);
    }
  }
  return out;
}

interface Encoded {
  ids: number[];
  /** How many ids come before the first phoneme's (BOS and its pad). */
  lead: number;
  /** How many ids each phoneme got: its own and the pad after; 0 for one the map lacks. */
  counts: number[];
}

/** Ids as Piper builds them, with where each phoneme's are, to sum per-id durations per phoneme. */
function encode(phonemes: Phoneme[], map: Map<string, number[]>): Encoded {
  const pad = map.get(PAD)!;
  const ids = [...map.get(BOS)!, ...pad];
  const lead = ids.length;
  const counts: number[] = [];
  for (const { phoneme } of phonemes) {
    const mapped = map.get(phoneme);
    if (mapped) ids.push(...mapped, ...pad);
    counts.push(mapped ? mapped.length + pad.length : 0);
  }
  ids.push(...map.get(EOS)!);
  return { ids, lead, counts };
}

// ---------------------------------------------------------------------------------------------
// Synthesis and timing

async function infer(
  voice: LoadedVoice,
  ids: number[],
  options: { speed: number; speaker: number },
): Promise<{ audio: Float32Array | undefined; durations: number[] | undefined }> {
  const { config } = voice;
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length)), [1]),
    scales: new ort.Tensor('float32', Float32Array.of(config.noiseScale, config.lengthScale / options.speed, config.noiseW), [3]),
  };
  if (voice.takesSpeaker) feeds.sid = new ort.Tensor('int64', BigInt64Array.of(BigInt(options.speaker)), [1]);
  const results = await voice.session.run(feeds);
  const audio = results[voice.audioOutput]?.data;
  const frames = voice.durationsOutput === undefined ? undefined : results[voice.durationsOutput]?.data;
  const durations =
    frames && !Array.isArray(frames) && frames.length === ids.length ? Array.from(frames as ArrayLike<number | bigint>, Number) : undefined;
  return { audio: audio instanceof Float32Array ? audio : undefined, durations };
}

async function speakSentence(
  voice: LoadedVoice,
  sentence: PiperSentence,
  options: { speed: number; speaker: number; signal: AbortSignal | undefined },
): Promise<Speech> {
  const { config } = voice;
  const encoded = encode(sentence.phonemes, config.phonemeIdMap);
  let result: Awaited<ReturnType<typeof infer>>;
  try {
    result = await infer(voice, encoded.ids, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError(ErrorCode.Speech, `${voice.info.modelPath}: the voice failed on "${sentence.text.trim().slice(0, 60)}": ${reason}`);
  }
  if (!result.audio) throw new AppError(ErrorCode.Speech, `${voice.info.modelPath}: the voice gave no float32 audio`);
  throwIfCancelled(options.signal);
  const samples = normalize(result.audio);
  const duration = samples.length / config.sampleRate;

  // A timing guide from the sentence's own phonemes, moved onto Piper's audio, times the words
  // (and the phonemes, when the model does not give their durations).
  const guide = guideFromPhonemes(sentence, config.sampleRate);
  const secondsPerFrame = config.hopLength / config.sampleRate;
  const fromModel = result.durations && modelPhonemeTimings(sentence, encoded, result.durations, secondsPerFrame, duration);
  let warp: (t: number) => number;
  let phonemes: PhonemeTiming[];
  if (fromModel && fromModel.length > 0) {
    phonemes = fromModel;
    warp = warpByPhonemes(guide, fromModel, duration);
  } else {
    warp = warpBySpeech(guide, samples, config.sampleRate);
    phonemes = guide.phonemes.map((p) => ({ ...p, start: warp(p.start), end: warp(p.end) }));
  }
  const words = guide.words.map((w) => ({ ...w, start: warp(w.start), end: warp(w.end) }));
  return { sampleRate: config.sampleRate, samples, words, phonemes, duration };
}

const VOWEL = /[aeiouyæɑɒɔəɛɜɪʊʌøœɐɘɵɤɯɨʉɚɝ]/;
/** Typical lengths at an ordinary pace, in seconds; only their proportions matter after the warp. */
const GUIDE_SECONDS = { vowel: 0.085, consonant: 0.06, comma: 0.2, stop: 0.35 };

/**
 * A guide to when each phoneme and word of a sentence is said, from its phonemes alone: vowels
 * longer than consonants, stressed and long ones longer still, pauses at clause marks. Speaking
 * the sentence with espeak-ng to time it would cost ten times the work around the model.
 */
function guideFromPhonemes(sentence: PiperSentence, sampleRate: number): Speech {
  const phonemes: PhonemeTiming[] = [];
  const spokenWords: { start: number; end: number }[] = [];
  let t = 0;
  let lastUnit = -1;
  let wordStart: number | undefined;
  const endWord = () => {
    if (wordStart !== undefined) spokenWords.push({ start: wordStart, end: t });
    wordStart = undefined;
  };
  for (const p of sentence.phonemes) {
    if (p.unit >= 0) {
      if (p.unit === lastUnit) continue;
      lastUnit = p.unit;
      const name = sentence.units[p.unit];
      let length = VOWEL.test(name) ? GUIDE_SECONDS.vowel : GUIDE_SECONDS.consonant;
      if (name.includes('ː')) length *= 1.6;
      if (name.includes('ˈ')) length *= 1.25;
      wordStart ??= t;
      phonemes.push({ phoneme: name, viseme: visemeForPhoneme(name), start: t, end: t + length });
      t += length;
    } else if (p.phoneme === ' ') {
      endWord();
    } else if (/[,:;]/.test(p.phoneme)) {
      endWord();
      t += GUIDE_SECONDS.comma;
    } else if (/[.?!]/.test(p.phoneme)) {
      endWord();
      t += GUIDE_SECONDS.stop;
    }
  }
  endWord();
  const written = sentence.text.trim().split(/\s+/).filter(Boolean);
  let words: WordTiming[];
  if (written.length === spokenWords.length) {
    words = written.map((text, i) => ({ text, ...spokenWords[i] }));
  } else {
    // Numbers or symbols spoken as several words: share the speech by the written words' lengths.
    const total = written.reduce((n, w) => n + w.length + 1, 0);
    const span = { start: phonemes[0]?.start ?? 0, end: phonemes.at(-1)?.end ?? t };
    let at = 0;
    words = written.map((text) => {
      const start = span.start + ((span.end - span.start) * at) / total;
      at += text.length + 1;
      return { text, start, end: span.start + ((span.end - span.start) * (at - 1)) / total };
    });
  }
  return { sampleRate, samples: new Float32Array(0), words, phonemes, duration: t };
}

/** Piper scales each sentence to full range (normalize_audio, on by default in piper1-gpl). */
function normalize(audio: Float32Array): Float32Array {
  let peak = 0;
  for (const s of audio) peak = Math.max(peak, Math.abs(s));
  const out = new Float32Array(audio.length);
  if (peak < 1e-8) return out;
  for (let i = 0; i < audio.length; i++) out[i] = Math.max(-1, Math.min(1, audio[i] / peak));
  return out;
}

/**
 * Phoneme timings from the model's own durations (frames per id, as piper1-gpl's alignments): each
 * espeak phoneme lasts as long as the ids of its code points and the pads after them.
 */
function modelPhonemeTimings(
  sentence: PiperSentence,
  encoded: Encoded,
  durations: number[],
  secondsPerFrame: number,
  duration: number,
): PhonemeTiming[] {
  const seconds = (from: number, to: number) => durations.slice(from, to).reduce((n, d) => n + d, 0) * secondsPerFrame;
  let id = encoded.lead;
  let t = seconds(0, id);
  const spans = new Map<number, { start: number; end: number }>();
  sentence.phonemes.forEach((p, i) => {
    const count = encoded.counts[i];
    const length = seconds(id, id + count);
    id += count;
    if (p.unit >= 0 && count > 0) {
      const span = spans.get(p.unit);
      if (span) span.end = t + length;
      else spans.set(p.unit, { start: t, end: t + length });
    }
    t += length;
  });
  return [...spans]
    .sort(([a], [b]) => a - b)
    .map(([unit, span]) => {
      const name = sentence.units[unit];
      const start = Math.min(span.start, duration);
      return { phoneme: name, viseme: visemeForPhoneme(name), start, end: Math.min(Math.max(span.end, start), duration) };
    });
}

/**
 * A map from espeak-ng's time to Piper's, through the phonemes both said: matched by name in
 * order (the same espeak translation made both), each match pins its start and end.
 */
function warpByPhonemes(guide: Speech, timed: PhonemeTiming[], duration: number): (t: number) => number {
  const pairs = matchInOrder(
    guide.phonemes.map((p) => p.phoneme),
    timed.map((p) => p.phoneme),
  );
  const anchors: [number, number][] = [[0, 0]];
  for (const [a, b] of pairs) {
    anchors.push([guide.phonemes[a].start, timed[b].start], [guide.phonemes[a].end, timed[b].end]);
  }
  anchors.push([guide.duration, duration]);
  return piecewiseLinear(anchors, duration);
}

/**
 * A map from espeak-ng's time to Piper's when the model gives no durations: espeak's speech (first
 * phoneme to last) is stretched over Piper's, found by its loudness; the pauses before and after
 * map onto Piper's. Where Piper's audio is silent throughout, the whole is stretched.
 */
function warpBySpeech(guide: Speech, samples: Float32Array, sampleRate: number): (t: number) => number {
  const duration = samples.length / sampleRate;
  const anchors: [number, number][] = [[0, 0]];
  const spoken = loudSpan(samples, sampleRate);
  if (spoken && guide.phonemes.length > 0) {
    anchors.push([guide.phonemes[0].start, spoken.start], [guide.phonemes[guide.phonemes.length - 1].end, spoken.end]);
  }
  anchors.push([guide.duration, duration]);
  return piecewiseLinear(anchors, duration);
}

/** From the first to the end of the last 10 ms frame within 20 dB of the loudest. */
function loudSpan(samples: Float32Array, sampleRate: number): { start: number; end: number } | undefined {
  const frame = Math.max(1, Math.round(sampleRate / 100));
  const levels: number[] = [];
  for (let i = 0; i < samples.length; i += frame) {
    let sum = 0;
    const end = Math.min(samples.length, i + frame);
    for (let j = i; j < end; j++) sum += samples[j] * samples[j];
    levels.push(Math.sqrt(sum / (end - i)));
  }
  const loudest = Math.max(0, ...levels);
  if (loudest < 1e-4) return undefined;
  const first = levels.findIndex((l) => l >= loudest / 10);
  let last = levels.length - 1;
  while (levels[last] < loudest / 10) last--;
  return { start: (first * frame) / sampleRate, end: Math.min(samples.length, (last + 1) * frame) / sampleRate };
}

/** Through the anchors in order of both times (a pair that would run backwards is dropped), clamped to [0, duration]. */
function piecewiseLinear(anchors: [number, number][], duration: number): (t: number) => number {
  const points: [number, number][] = [];
  for (const [x, y] of [...anchors].sort((a, b) => a[0] - b[0])) {
    const last = points[points.length - 1];
    if (last && (x <= last[0] || y < last[1])) continue;
    points.push([x, y]);
  }
  return (t) => {
    let i = 1;
    while (i < points.length - 1 && t > points[i][0]) i++;
    const [x0, y0] = points[i - 1] ?? [0, 0];
    const [x1, y1] = points[i] ?? [x0 + 1, y0];
    const y = x1 === x0 ? y0 : y0 + ((t - x0) * (y1 - y0)) / (x1 - x0);
    return Math.min(duration, Math.max(0, y));
  };
}

/** Index pairs of a longest common subsequence of `a` and `b`. */
function matchInOrder(a: string[], b: string[]): [number, number][] {
  // Beyond this many cells the table costs more than the timing gains; only the ends are pinned.
  if (a.length * b.length > 4_000_000) return [];
  const width = b.length + 1;
  const table = new Uint16Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i] === b[j] ? table[(i + 1) * width + j + 1] + 1 : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const pairs: [number, number][] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) i++;
    else j++;
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------

function refuse(file: string, what: string): AppError {
  return new AppError(ErrorCode.BadInput, `${file}: ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Speech synthesis was cancelled.');
}
