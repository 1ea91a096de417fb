import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { Viseme } from '../../src-shared/visemes';
import { visemeForPhoneme } from '../render/mouthTrack';

export interface WordTiming {
  text: string;
  /** Seconds from the start of this utterance. */
  start: number;
  end: number;
}

export interface PhonemeTiming {
  /** espeak-ng's name for the phoneme; this build reports IPA, with stress marks ("ˈoʊ"). */
  phoneme: string;
  viseme: Viseme;
  start: number;
  end: number;
}

export interface Speech {
  sampleRate: number;
  /** Mono, -1..1. */
  samples: Float32Array;
  /** The words of the text, in order, each once. */
  words: WordTiming[];
  phonemes: PhonemeTiming[];
  /** Seconds; samples.length / sampleRate. */
  duration: number;
}

/** espeak-ng's own range for espeakRATE, in words per minute. */
const MIN_RATE = 80;
const MAX_RATE = 450;
const DEFAULT_RATE = 165;

/**
 * Longest text handed to espeak in one synchronous call. Synthesis blocks this thread (about 0.25 ms
 * per character on a 2-core test machine), so this bounds how long the event loop stalls and how
 * late a cancel lands.
 */
const MAX_CHUNK_CHARS = 400;

/**
 * Synthesise `text` with espeak-ng (WASM, in this process). Words are the text's own
 * whitespace-separated words, for captions; phonemes carry the mouth shape for each sound.
 * Long text is spoken a few sentences at a time, checking `signal` in between.
 */
export async function synthesizeEspeak(
  text: string,
  options: { voice: string; rate?: number; signal?: AbortSignal },
): Promise<Speech> {
  const rate = options.rate ?? DEFAULT_RATE;
  if (!Number.isFinite(rate) || rate < MIN_RATE || rate > MAX_RATE) {
    throw new AppError(ErrorCode.BadInput, `rate ${rate}: espeak-ng speaks between ${MIN_RATE} and ${MAX_RATE} words per minute`);
  }
  throwIfCancelled(options.signal);
  const engine = await loadEngine();
  throwIfCancelled(options.signal);
  const voice = resolveVoice(engine, options.voice);

  const audio: Float32Array[] = [];
  let sampleCount = 0;
  const words: WordTiming[] = [];
  const phonemes: PhonemeTiming[] = [];
  const chunks = splitIntoChunks(text);
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) {
      // Let a cancel (or anything else waiting) run between chunks.
      await new Promise((resolve) => setImmediate(resolve));
      throwIfCancelled(options.signal);
    }
    const chunk = chunks[i];
    // Another synthesis may have run in between: the voice and rate are engine-wide state.
    selectVoice(engine, voice);
    engine.worker.set_rate(Math.round(rate));
    const spoken = speakChunk(engine, text.slice(chunk.start, chunk.end));
    const at = sampleCount / engine.sampleRate;
    audio.push(spoken.samples);
    sampleCount += spoken.samples.length;
    for (const w of spoken.words) {
      words.push({ text: w.text, start: at + w.start, end: at + w.end });
    }
    for (const p of spoken.phonemes) {
      phonemes.push({ ...p, start: at + p.start, end: at + p.end });
    }
  }

  const samples = new Float32Array(sampleCount);
  let offset = 0;
  for (const part of audio) {
    samples.set(part, offset);
    offset += part.length;
  }
  return { sampleRate: engine.sampleRate, samples, words, phonemes, duration: sampleCount / engine.sampleRate };
}

/** Every voice espeak-ng can speak with; `id` is what `synthesizeEspeak` takes as `voice`. */
export async function listEspeakVoices(): Promise<{ id: string; name: string; language: string }[]> {
  const engine = await loadEngine();
  return engine.voices.map((v) => ({
    // The voice file's name (gmw/en-US -> en-us) is what espeak_SetVoiceByName matches.
    id: v.identifier.slice(v.identifier.lastIndexOf('/') + 1).toLowerCase(),
    name: v.name,
    language: v.languages[0]?.name ?? '',
  }));
}

/**
 * espeak-ng's IPA phonemes for `text`, read the way Piper reads them: espeak_TextToPhonemes in IPA
 * mode, clause after clause, as plain text (no SSML, no [[phoneme]] input). One entry per clause
 * espeak reads, each a list of words, each a list of phonemes as espeak names them ("h", "ˈaɪ"),
 * the same names `synthesizeEspeak` reports. Pauses have no IPA name and are left out, so a word
 * may be empty; language-switch marks such as "(en)" are kept, for the caller to drop or use.
 */
export async function phonemizeEspeak(text: string, options: { voice: string }): Promise<string[][][]> {
  const engine = await loadEngine();
  const voice = resolveVoice(engine, options.voice);
  selectVoice(engine, voice);
  // Blank text is no clause at all (espeak would answer one empty clause).
  if (!/\S/.test(text)) return [];
  let raw: string;
  try {
    // espeak_Synth leaves its SSML and [[phoneme]] flags on for later TextToPhonemes calls, and
    // synthesizeEspeak always sets both: an empty flag-less synthesis turns them off again, so
    // "&amp;" or "<b>" in a script is read as the text it is, as Piper reads it.
    engine.worker.synthesize_ipa('');
    // The glue frees nothing it returns: the text is copied out of the heap and freed here.
    const result = engine.worker.convert_to_phonemes(text.replaceAll('\0', ' '), true);
    const pointer = engine.module.getPointer(result);
    const heap = engine.module.HEAPU8;
    const end = heap.indexOf(0, pointer);
    raw = new TextDecoder().decode(heap.subarray(pointer, end));
    engine.module._free(pointer);
    delete engine.module.getCache(engine.module.VoidPtr)[pointer];
  } catch (error) {
    // A trap inside the WASM leaves its memory in an unknown state: start afresh next time.
    loadedEngine = undefined;
    throw new AppError(ErrorCode.Speech, `espeak-ng failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  // The glue joins clauses with " | " and asks for "_" between the phonemes of a word; IPA has
  // neither, and a pause shows as an empty name between two separators. Empty words stay, so that
  // joining phonemes, then words with spaces, gives exactly what espeak writes without separators.
  return raw.split(' | ').map((clause) => clause.split(' ').map((word) => word.split('_').filter((phoneme) => phoneme !== '')));
}

/** The part of the Emscripten module (and its eSpeakNGWorker glue) that this file uses. */
interface EspeakModule {
  eSpeakNGWorker: new () => EspeakWorker;
  HEAPU8: Uint8Array;
  /** The heap address behind a glue wrapper object. */
  getPointer(wrapper: unknown): number;
  /** The glue's wrapper objects by address, per class; they are never dropped by themselves. */
  getCache(wrapperClass: unknown): Record<number, unknown>;
  VoidPtr: unknown;
  _free(pointer: number): void;
}

interface EspeakWorker {
  samplerate: number;
  /** 0 on success, else an espeak_ng_STATUS. */
  set_voice(name: string): number;
  set_rate(wordsPerMinute: number): void;
  list_voices(): EspeakVoice[];
  /** Synchronous; the callback gets each ~100 ms of int16 audio and the events inside it, returns true to stop. */
  synthesize(text: string, callback: (samples: Int16Array, events: EspeakEvent[]) => boolean): void;
  /** espeak_Synth with no flags, tracing phonemes to a file in the module's file system. */
  synthesize_ipa(text: string): { code: number; ipa: string };
  /**
   * espeak_TextToPhonemes over the whole text (IPA when `useIpa`), "_" between phonemes, " | "
   * between clauses; returns a wrapper of a heap string the caller must free.
   */
  convert_to_phonemes(text: string, useIpa: boolean): unknown;
}

interface EspeakVoice {
  name: string;
  identifier: string;
  languages: { priority: number; name: string }[];
}

interface EspeakEvent {
  type: 'list_terminated' | 'word' | 'sentence' | 'mark' | 'play' | 'end' | 'msg_terminated' | 'phoneme' | 'samplerate';
  /** 1-based, in code points of the text as given to espeak. */
  text_position: number;
  word_length: number;
  /** Milliseconds from the start of this synthesize call. */
  audio_position: number;
  /** The phoneme's name for phoneme events. */
  id?: string | number;
}

interface Engine {
  module: EspeakModule;
  worker: EspeakWorker;
  sampleRate: number;
  voices: EspeakVoice[];
  /** The voice last set on the worker, so it is set again only when it changes. */
  currentVoice: string | undefined;
}

let loadedEngine: Promise<Engine> | undefined;

/** Load and start espeak-ng once per process; a failed load is retried on the next call. */
function loadEngine(): Promise<Engine> {
  loadedEngine ??= startEngine().catch((error: unknown) => {
    loadedEngine = undefined;
    throw new AppError(ErrorCode.Speech, `espeak-ng could not start: ${error instanceof Error ? error.message : String(error)}`);
  });
  return loadedEngine;
}

async function startEngine(): Promise<Engine> {
  // The module finds espeak-ng.data beside its own import.meta.url, which is wrong once it is
  // bundled; resolving the file here and handing it over works both bundled and unbundled.
  const dataPath = createRequire(import.meta.url).resolve('@echogarden/espeak-ng-emscripten/espeak-ng.data');
  const data = await readFile(dataPath);
  // Emscripten's file packager insists on an ArrayBuffer holding exactly the file.
  const dataBuffer =
    data.byteOffset === 0 && data.buffer.byteLength === data.byteLength
      ? data.buffer
      : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  // @ts-expect-error the package ships no type declarations; EspeakModule describes what is used
  const { default: createModule } = await import('@echogarden/espeak-ng-emscripten');
  const module = (await createModule({ getPreloadedPackage: () => dataBuffer })) as EspeakModule;
  const worker = new module.eSpeakNGWorker();
  return { module, worker, sampleRate: worker.samplerate, voices: worker.list_voices(), currentVoice: undefined };
}

/**
 * The name to give espeak for `voice`. espeak_SetVoiceByName knows voice file names ("en-us",
 * "fr") but not every language code a voice lists ("en-gb", "fr-fr", "zh"), so those are looked
 * up in the voice list.
 */
function resolveVoice(engine: Engine, voice: string): string {
  const name = voice.trim().toLowerCase();
  if (name !== '' && trySetVoice(engine, name)) return name;
  const byLanguage = engine.voices
    .flatMap((v) => v.languages.filter((l) => l.name === name).map((l) => ({ id: v.identifier, priority: l.priority })))
    .sort((a, b) => a.priority - b.priority)[0];
  if (byLanguage && trySetVoice(engine, byLanguage.id)) return byLanguage.id;
  throw new AppError(
    ErrorCode.BadInput,
    `voice "${voice}": espeak-ng has no such voice; run --list-voices to see the ones it has (for example en-us, de, fr)`,
  );
}

function selectVoice(engine: Engine, name: string): void {
  if (!trySetVoice(engine, name)) {
    throw new AppError(ErrorCode.Speech, `espeak-ng could not load voice "${name}"`);
  }
}

function trySetVoice(engine: Engine, name: string): boolean {
  if (engine.currentVoice === name) return true;
  const ok = engine.worker.set_voice(name) === 0;
  engine.currentVoice = ok ? name : undefined;
  // Each voice change queues a samplerate event for the next audio buffer, whose event list has a
  // fixed size: after ~30 changes with nothing spoken (blank scenes) it had no room left for the
  // first words. Speaking nothing delivers the queued events and empties the queue.
  if (ok) engine.worker.synthesize('', () => false);
  return ok;
}

/** One synchronous espeak call, with times in seconds from the start of `text`. */
function speakChunk(engine: Engine, text: string): { samples: Float32Array; words: WordTiming[]; phonemes: PhonemeTiming[] } {
  const { markup, sourceIndex } = toEspeakMarkup(text);
  const buffers: Int16Array[] = [];
  let length = 0;
  const events: EspeakEvent[] = [];
  try {
    engine.worker.synthesize(markup, (samples, chunkEvents) => {
      if (samples.length > 0) {
        buffers.push(samples);
        length += samples.length;
      }
      events.push(...chunkEvents);
      return false;
    });
  } catch (error) {
    // A trap inside the WASM leaves its memory in an unknown state: start afresh next time.
    loadedEngine = undefined;
    throw new AppError(ErrorCode.Speech, `espeak-ng failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  const samples = new Float32Array(length);
  let offset = 0;
  for (const buffer of buffers) {
    for (let i = 0; i < buffer.length; i++) samples[offset + i] = buffer[i] / 32768;
    offset += buffer.length;
  }
  const duration = length / engine.sampleRate;
  const { words, phonemes } = readTimings(text, events, sourceIndex, duration);
  return { samples, words, phonemes };
}

/**
 * The glue always synthesises with espeakSSML | espeakPHONEMES, so the text is escaped as XML and
 * "[[" (which would start raw phoneme input) is broken up. `sourceIndex[i]` is the index in
 * `text` of the i-th code point of the markup, to map espeak's text positions back.
 */
function toEspeakMarkup(text: string): { markup: string; sourceIndex: number[] } {
  let markup = '';
  const sourceIndex: number[] = [];
  let previous = '';
  for (let i = 0; i < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    let out = ch;
    if (ch === '&') out = '&amp;';
    else if (ch === '<') out = '&lt;';
    else if (ch === '>') out = '&gt;';
    else if (ch === '[' && previous === '[') out = ' [';
    else if (ch === '\0') out = ' ';
    markup += out;
    for (let k = 0; k < out.length; k++) sourceIndex.push(i);
    previous = ch;
    i += ch.length;
  }
  return { markup, sourceIndex };
}

interface SpokenWord {
  /** Index in the text where espeak's word starts. */
  at: number;
  start: number;
  end: number;
}

/**
 * Turns espeak's event stream into word and phoneme timings. A phoneme lasts until the next
 * phoneme event (espeak marks pauses with an empty phoneme) or the end of the audio; an espeak
 * word lasts from its word event to the end of its last phoneme.
 */
function readTimings(
  text: string,
  events: EspeakEvent[],
  sourceIndex: number[],
  duration: number,
): { words: WordTiming[]; phonemes: PhonemeTiming[] } {
  const spoken: SpokenWord[] = [];
  const phonemes: PhonemeTiming[] = [];
  const seconds = (e: EspeakEvent) => Math.min(e.audio_position / 1000, duration);
  const sounds = events.filter((e) => e.type === 'phoneme' || e.type === 'end');
  let sound = -1; // index in `sounds` of the event at hand
  for (const e of events) {
    if (e.type === 'phoneme' || e.type === 'end') sound++;
    if (e.type === 'word') {
      const at = sourceIndex[Math.max(0, e.text_position - 1)] ?? text.length;
      spoken.push({ at, start: seconds(e), end: seconds(e) });
      continue;
    }
    if (e.type !== 'phoneme' || typeof e.id !== 'string' || e.id === '') continue;
    const time = seconds(e);
    const following = sounds[sound + 1];
    const end = following ? seconds(following) : duration;
    phonemes.push({ phoneme: e.id, viseme: visemeForPhoneme(e.id), start: time, end: Math.max(time, end) });
    const word = spoken[spoken.length - 1];
    if (word) word.end = Math.max(word.end, end);
  }
  return { words: alignWords(text, spoken), phonemes };
}

/** Scripts written without spaces between words: espeak's own word boundaries are used there. */
const UNSPACED_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * Captions show the text as written, so words are its whitespace-separated tokens, timed by the
 * espeak words that start inside them ("1999" is three espeak words, "state-of-the-art" one).
 * A token espeak did not speak ("—", "...") joins the word before it, so no text is lost.
 */
function alignWords(text: string, spoken: SpokenWord[]): WordTiming[] {
  const words: WordTiming[] = [];
  let pending = '';
  let s = 0;
  for (const token of text.matchAll(/\S+/g)) {
    const from = token.index;
    const to = from + token[0].length;
    const inside: SpokenWord[] = [];
    while (s < spoken.length && spoken[s].at < to) {
      if (spoken[s].at >= from) inside.push(spoken[s]);
      s++;
    }
    if (inside.length === 0) {
      const last = words[words.length - 1];
      if (last) last.text += ` ${token[0]}`;
      else pending += `${token[0]} `;
      continue;
    }
    const pieces = UNSPACED_SCRIPT.test(token[0]) ? splitUnspaced(text, from, to, inside) : [{ text: token[0], words: inside }];
    for (const piece of pieces) {
      words.push({
        text: pending + piece.text,
        start: piece.words[0].start,
        end: Math.max(...piece.words.map((w) => w.end)),
      });
      pending = '';
    }
  }
  // espeak's word event can come a few milliseconds before the last phoneme of the word before it ends.
  for (let i = 0; i + 1 < words.length; i++) {
    words[i].end = Math.max(words[i].start, Math.min(words[i].end, words[i + 1].start));
  }
  return words;
}

/**
 * Index ranges of `text` to speak one call at a time: whole sentences, packed up to
 * MAX_CHUNK_CHARS; a longer sentence is cut at whitespace. Blank ranges are dropped.
 */
function splitIntoChunks(text: string): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  let start = 0;
  let end = 0;
  // Segments are contiguous, so a chunk is just where the last one ended up to a segment's end.
  for (const { index, segment } of new Intl.Segmenter(undefined, { granularity: 'sentence' }).segment(text)) {
    const segmentEnd = index + segment.length;
    if (segmentEnd - start > MAX_CHUNK_CHARS && end > start) {
      ranges.push({ start, end });
      start = end;
    }
    end = segmentEnd;
    while (end - start > MAX_CHUNK_CHARS) {
      const cut = cutPoint(text, start, start + MAX_CHUNK_CHARS);
      ranges.push({ start, end: cut });
      start = cut;
    }
  }
  if (end > start) ranges.push({ start, end });
  return ranges.filter((r) => /\S/.test(text.slice(r.start, r.end)));
}

/** Where to cut an over-long sentence: after the last whitespace before `limit`, else at it. */
function cutPoint(text: string, start: number, limit: number): number {
  for (let i = limit - 1; i > start; i--) {
    if (/\s/.test(text[i])) return i + 1;
  }
  // No whitespace (Chinese, Japanese): cut anywhere, but not inside a surrogate pair.
  return /[\uDC00-\uDFFF]/.test(text[limit]) ? limit - 1 : limit;
}

/**
 * Cuts a token of an unspaced script where espeak's words start. espeak may say one character as
 * several words (an English voice reading Chinese), so words starting at the same place stay together.
 */
function splitUnspaced(text: string, from: number, to: number, inside: SpokenWord[]): { text: string; words: SpokenWord[] }[] {
  const pieces: { at: number; words: SpokenWord[] }[] = [];
  for (const w of inside) {
    const last = pieces[pieces.length - 1];
    if (last && w.at <= last.at) last.words.push(w);
    else pieces.push({ at: w.at, words: [w] });
  }
  return pieces.map((piece, k) => ({
    text: text.slice(k === 0 ? from : piece.at, k + 1 < pieces.length ? pieces[k + 1].at : to),
    words: piece.words,
  }));
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError(ErrorCode.Cancelled, 'Speech synthesis was cancelled.');
}
