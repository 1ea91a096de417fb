import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { decodeWav, encodeWav } from '../../../src-main/voices/wav';
import { checkPiperVoice, phonemizePiper, piperPhonemeIds, streamPiper, synthesizePiper } from '../../../src-main/voices/piper';
import { phonemizeEspeak, synthesizeEspeak, type Speech } from '../../../src-main/voices/espeak';
import { sharedFile } from '../../support/shared';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');

const VOICE = sharedFile('models/piper-test-voice/test_voice.onnx');
const CONFIG = JSON.parse(readFileSync(`${VOICE}.json`, 'utf8')) as { phoneme_id_map: Record<string, number[]> } & Record<string, unknown>;

const dir = mkdtempSync(join(tmpdir(), 'mp-piper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write a model (bytes or a copy of a file) and, unless `config` is null, its .onnx.json beside it. */
function voiceFile(name: string, model: Uint8Array | string, config: object | string | null = CONFIG): string {
  const path = join(dir, name);
  if (typeof model === 'string') copyFileSync(model, path);
  else writeFileSync(path, model);
  if (config !== null) writeFileSync(`${path}.json`, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

/** The id of each phoneme in the fixture's config, looked up by hand from test_voice.onnx.json. */
const ID = { _: 0, '^': 1, $: 2, '.': 10, a: 14, c: 16, h: 20, n: 26, s: 31, t: 32, ɪ: 74, ˈ: 120, '̧': 140, aɪ: 161 };

/**
 * A stand-in Piper voice that, unlike the fixture, says how long each phoneme id lasts: id i lasts
 * FRAMES[i] frames of 256 samples, times length_scale, times (sid + 1) when it takes a speaker. Its
 * audio is a tone that long; its second output is the frames per id, as some Piper exports give.
 */
function fakePiper(options: { symbols: number; speakers?: boolean }): Uint8Array {
  const T = onnx.TensorProto.DataType;
  // A negative dimension is a symbolic one, -1 and -2 apart.
  const tensor = (name: string, dims: number[], type: 'float' | 'int64') => ({
    name,
    type: {
      tensorType: {
        elemType: type === 'float' ? T.FLOAT : T.INT64,
        shape: { dim: dims.map((d) => (d < 0 ? { dimParam: `d${-d}` } : { dimValue: d })) },
      },
    },
  });
  const constant = (name: string, dims: number[], values: number[], type: 'float' | 'int64' = 'float') => ({
    name,
    dims,
    dataType: type === 'float' ? T.FLOAT : T.INT64,
    rawData: new Uint8Array(type === 'float' ? Float32Array.from(values).buffer : BigInt64Array.from(values, BigInt).buffer),
  });
  const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
    name: output[0],
    opType,
    input,
    output,
    attribute,
  });
  const A = onnx.AttributeProto.AttributeType;
  const nodes = [
    node('Gather', ['frames', 'input'], ['id_frames']),
    node('Gather', ['scales', 'one_index'], ['length_scale']),
    node('Mul', ['id_frames', 'length_scale'], [options.speakers ? 'scaled' : 'durations']),
    ...(options.speakers
      ? [
          node('Cast', ['sid'], ['sid_float'], [{ name: 'to', type: A.INT, i: T.FLOAT }]),
          node('Add', ['sid_float', 'one'], ['speaker_factor']),
          node('Mul', ['scaled', 'speaker_factor'], ['durations']),
        ]
      : []),
    node('ReduceSum', ['durations'], ['total_frames'], [{ name: 'keepdims', type: A.INT, i: 0 }]),
    node('Mul', ['total_frames', 'hop'], ['total_samples']),
    node('Range', ['zero', 'total_samples', 'one'], ['time']),
    node('Mul', ['time', 'pitch'], ['phase']),
    node('Sin', ['phase'], ['tone']),
    node('Mul', ['tone', 'loudness'], ['quiet_tone']),
    node('Reshape', ['quiet_tone', 'audio_shape'], ['output']),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'mouthpiece-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'fake-piper',
      input: [
        tensor('input', [1, -1], 'int64'),
        tensor('input_lengths', [1], 'int64'),
        tensor('scales', [3], 'float'),
        ...(options.speakers ? [tensor('sid', [1], 'int64')] : []),
      ],
      output: [tensor('output', [1, 1, -2], 'float'), tensor('durations', [1, -1], 'float')],
      initializer: [
        constant('frames', [options.symbols], FRAMES.slice(0, options.symbols)),
        constant('one_index', [], [1], 'int64'),
        constant('one', [], [1]),
        constant('zero', [], [0]),
        constant('hop', [], [256]),
        constant('pitch', [], [0.07]),
        constant('loudness', [], [0.25]),
        constant('audio_shape', [3], [1, 1, -1], 'int64'),
      ],
      node: nodes,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Frames per id in fakePiper: the pad 1, id i otherwise 1 + i % 3. */
const FRAMES = Array.from({ length: 256 }, (_, i) => (i === 0 ? 1 : 1 + (i % 3)));

function expectOrderedInside(speech: Speech, items: { start: number; end: number }[]): void {
  let previousEnd = 0;
  for (const item of items) {
    expect(item.start).toBeGreaterThanOrEqual(previousEnd - 1e-9);
    expect(item.end).toBeGreaterThanOrEqual(item.start);
    expect(item.end).toBeLessThanOrEqual(speech.duration + 1e-9);
    previousEnd = item.end;
  }
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: errorCode(error), message: (error as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('phonemizeEspeak', () => {
  it("gives espeak-ng's IPA phonemes per clause, word and phoneme, named as synthesizeEspeak names them", async () => {
    expect(await phonemizeEspeak('Hi there. Test one, two', { voice: 'en-us' })).toEqual([
      [['h', 'ˈaɪ'], ['ð', 'ˈɛɹ']],
      [['t', 'ˈɛ', 's', 't'], ['w', 'ˌʌ', 'n']],
      [['t', 'ˈuː']],
    ]);
    const spoken = await synthesizeEspeak('Hi there.', { voice: 'en-us' });
    expect(spoken.phonemes.map((p) => p.phoneme)).toEqual(['h', 'ˈaɪ', 'ð', 'ˈɛɹ']);
  });

  it('leaves what synthesizeEspeak says as it was', async () => {
    // espeak-ng's audio varies by a few samples from call to call, so the phonemes are compared.
    const text = 'Tom & Jerry say <hi> at 3.5 p.m.';
    const before = await synthesizeEspeak(text, { voice: 'en-us' });
    await phonemizeEspeak('Etwas ganz anderes &amp; mehr.', { voice: 'de' });
    const after = await synthesizeEspeak(text, { voice: 'en-us' });
    expect(after.phonemes.map((p) => p.phoneme)).toEqual(before.phonemes.map((p) => p.phoneme));
    expect(after.words.map((w) => w.text)).toEqual(before.words.map((w) => w.text));
    expect(after.duration).toBeCloseTo(before.duration, 1);
  });
});

describe('piperPhonemeIds', () => {
  it('puts BOS first, the pad after every phoneme and EOS last, as Piper does', () => {
    // "Hi." as espeak-ng phonemizes it (en-us): h ˈ a ɪ .
    expect(piperPhonemeIds('hˈaɪ.', CONFIG)).toEqual([
      ID['^'], ID._, ID.h, ID._, ID['ˈ'], ID._, ID.a, ID._, ID['ɪ'], ID._, ID['.'], ID._, ID.$,
    ]);
    expect(piperPhonemeIds('', CONFIG)).toEqual([ID['^'], ID._, ID.$]);
  });

  it('splits phonemes into code points after NFD, so a precomposed letter becomes letter and accent', () => {
    // ç (U+00E7) has an id of its own in the map, but Piper never looks it up whole.
    expect(piperPhonemeIds('\u00e7a', CONFIG)).toEqual([ID['^'], ID._, ID.c, ID._, ID['̧'], ID._, ID.a, ID._, ID.$]);
  });

  it('skips phonemes the map lacks, as Piper does, keeping the rest in order', () => {
    expect(piperPhonemeIds('tQ☃s', CONFIG)).toEqual([ID['^'], ID._, ID.t, ID._, ID.s, ID._, ID.$]);
  });

  it("looks up the config's vowel clusters as one phoneme", () => {
    expect(piperPhonemeIds('naɪs', { ...CONFIG, vowel_clusters: [['a', 'ɪ']] })).toEqual([
      ID['^'], ID._, ID.n, ID._, ID.aɪ, ID._, ID.s, ID._, ID.$,
    ]);
  });

  it('gives the ids of Piper\'s own test for "Test 1." (piper1-gpl tests/test_piper.py)', async () => {
    const [first] = await phonemizePiper('Test 1. Test 2.', 'en-us');
    expect(piperPhonemeIds(first.join(''), CONFIG)).toEqual([1, 0, 32, 0, 120, 0, 61, 0, 31, 0, 32, 0, 3, 0, 35, 0, 120, 0, 102, 0, 26, 0, 10, 0, 2]);
  });
});

describe('phonemizePiper', () => {
  it('gives the phonemes Piper gives, one list per sentence (piper1-gpl tests/test_piper.py)', async () => {
    expect(await phonemizePiper('Test 1. Test 2.', 'en-us')).toEqual([
      ['t', 'ˈ', 'ɛ', 's', 't', ' ', 'w', 'ˈ', 'ʌ', 'n', '.'],
      ['t', 'ˈ', 'ɛ', 's', 't', ' ', 't', 'ˈ', 'u', 'ː', '.'],
    ]);
    expect(await phonemizePiper('Hi.', 'en-us')).toEqual([['h', 'ˈ', 'a', 'ɪ', '.']]);
  });

  it('keeps the punctuation that ended each clause, with a space after , : and ;', async () => {
    expect(await phonemizePiper('Hello, world! Colons: important? Maybe; maybe not.', 'en-us')).toEqual([
      [...'həlˈoʊ, wˈɜːld!'.normalize('NFD')],
      [...'kˈoʊlənz: ɪmpˈɔːɹtənt?'.normalize('NFD')],
      [...'mˈeɪbiː; mˈeɪbiː nˈɑːt.'.normalize('NFD')],
    ]);
  });

  // The terminators of piper1-gpl tests/test_espeakbridge.py: a mark that ends a sentence or is
  // followed by a space (Chinese phonemes have dots of their own inside syllables).
  const marks = (sentences: string[][]) =>
    sentences.flatMap((s) => s.filter((p, i) => '.,:;?!'.includes(p) && (i === s.length - 1 || s[i + 1] === ' ')));
  for (const [voice, text, expected] of [
    ['en-us', 'An ellipsis… Could it be true?', [';', '?']],
    ['en-us', 'An ASCII ellipsis... Could it be true?', [';', '?']],
    ['en-us', 'A long ellipsis.... Could it be true?', [';', '?']],
    ['en-us', 'Em dashes — for all your punctuation needs.', [';', '.']],
    ['cmn', '你好，世界！省略号……一、二，三。问号？', [',', '!', ';', ',', ',', '.', '?']],
  ] as const) {
    it(`ends the clauses of "${text}" with ${expected.join(' ')}`, async () => {
      expect(marks(await phonemizePiper(text, voice))).toEqual(expected);
    });
  }

  it('does not end a sentence at an abbreviation before a lower-case word, nor at a decimal point', async () => {
    const sentences = await phonemizePiper('It costs 3.5 dollars, e.g. today. Then it rises.', 'en-us');
    expect(sentences).toHaveLength(2);
    expect(sentences[0].join('')).toContain('pɔɪnt');
  });

  it('drops the (lang) switch marks espeak-ng puts around foreign words', async () => {
    expect(await phonemizePiper('test', 'ar')).toEqual([['t', 'ˈ', 'ɛ', 's', 't']]);
  });

  it('reads "&amp;" and "<b>" as plain text even after espeak-ng has spoken SSML', async () => {
    const before = await phonemizePiper('Tom &amp; Jerry <b>bold</b>.', 'en-us');
    await synthesizePiper(VOICE, 'Hello.', {});
    expect(await phonemizePiper('Tom &amp; Jerry <b>bold</b>.', 'en-us')).toEqual(before);
    expect(before.flat().join('')).toContain('æmp');
  });
});

describe('checkPiperVoice', () => {
  it("reads the voice's config: its language, sample rate and speakers", async () => {
    const info = await checkPiperVoice(VOICE);
    expect(info).toEqual({
      modelPath: VOICE,
      configPath: `${VOICE}.json`,
      name: 'test_voice',
      language: 'en-us',
      sampleRate: 22050,
      speakers: [],
      licence: null,
    });
  });

  it('names the speakers of a multi-speaker voice in id order, and its licence', async () => {
    const path = voiceFile('speakers.onnx', fakePiper({ symbols: 170, speakers: true }), {
      ...CONFIG,
      num_speakers: 3,
      speaker_id_map: { carol: 2, alice: 0, bob: 1 },
      license: 'CC0',
    });
    const info = await checkPiperVoice(path);
    expect(info.speakers).toEqual(['alice', 'bob', 'carol']);
    expect(info.licence).toBe('CC0');
  });

  const refusals: [string, () => string, RegExp][] = [
    ['a text file named .onnx', () => voiceFile('notes.onnx', new TextEncoder().encode('these are my notes\n')), /not an ONNX model/],
    ['a file that is not .onnx at all', () => voiceFile('voice.bin', VOICE), /choose the voice's \.onnx file/],
    ['a model without its .onnx.json', () => voiceFile('lonely.onnx', VOICE, null), /lonely\.onnx\.json is missing/],
    ['a config with a syntax error', () => voiceFile('syntax.onnx', VOICE, '{"audio": {"sample_rate": 22050,}'), /syntax\.onnx\.json: not valid JSON/],
    [
      'a config without phoneme_id_map',
      () => voiceFile('nomap.onnx', VOICE, { ...CONFIG, phoneme_id_map: undefined }),
      /nomap\.onnx\.json: phoneme_id_map is missing/,
    ],
    [
      'a config without audio.sample_rate',
      () => voiceFile('norate.onnx', VOICE, { ...CONFIG, audio: {} }),
      /norate\.onnx\.json: audio\.sample_rate is missing/,
    ],
    [
      'a language espeak-ng does not know',
      () => voiceFile('xx.onnx', VOICE, { ...CONFIG, espeak: { voice: 'xx-notalanguage' } }),
      /xx\.onnx\.json: espeak\.voice "xx-notalanguage" is not a language espeak-ng knows/,
    ],
    [
      'a model of another kind with a Piper config',
      () => voiceFile('yunet.onnx', sharedFile('models/yunet/face_detection_yunet_2023mar.onnx')),
      /yunet\.onnx: an ONNX model, but not a Piper voice: it takes input, where a Piper voice takes input, input_lengths and scales/,
    ],
    [
      'a map with ids beyond the num_symbols of its config',
      () => voiceFile('symbols.onnx', VOICE, { ...CONFIG, num_symbols: 100 }),
      /symbols\.onnx\.json: phoneme_id_map uses id 165 but the model has 100 phoneme symbols/,
    ],
    [
      'a map with ids beyond the symbols the model has',
      // The model has 170 symbols; the config claims 256 and maps a phoneme to 200.
      () => voiceFile('beyond.onnx', fakePiper({ symbols: 170 }), { ...CONFIG, phoneme_id_map: { ...CONFIG.phoneme_id_map, '☃': [200] } }),
      /beyond\.onnx: does not accept the phoneme ids of its config/,
    ],
    [
      'a map that cannot express most phonemes of its language',
      () =>
        voiceFile('ascii.onnx', VOICE, {
          ...CONFIG,
          phoneme_id_map: Object.fromEntries(Object.entries(CONFIG.phoneme_id_map).filter(([p]) => /^[_^$ .,0-9]$/.test(p))),
        }),
      /ascii\.onnx\.json: phoneme_id_map has no id for \d+ of the \d+ phonemes espeak-ng gives in "en-us"/,
    ],
    [
      'a multi-speaker config for a single-speaker model',
      () => voiceFile('onespeaker.onnx', VOICE, { ...CONFIG, num_speakers: 4 }),
      /onespeaker\.onnx\.json: says 4 speakers, but the model takes no speaker id/,
    ],
  ];
  for (const [what, make, message] of refusals) {
    it(`refuses ${what}, naming the file and what to do`, async () => {
      const { code, message: text } = await refusal(checkPiperVoice(make()));
      expect(code).toBe('BAD_INPUT');
      expect(text).toMatch(message);
      expect(text).toMatch(/(download|choose|use|put|check) /);
    });
  }

  it('reads the config again when it changes on disk', async () => {
    const path = voiceFile('changing.onnx', VOICE);
    expect((await checkPiperVoice(path)).language).toBe('en-us');
    writeFileSync(`${path}.json`, JSON.stringify({ ...CONFIG, espeak: { voice: 'xx-notalanguage' }, padding: 'x'.repeat(100) }));
    expect((await refusal(checkPiperVoice(path))).message).toMatch(/xx-notalanguage/);
  });
});

describe('synthesizePiper', () => {
  it('runs the model sentence by sentence and keeps the audio at the config rate, as long as the model returns', async () => {
    // The fixture returns one second of silence for any input.
    const speech = await synthesizePiper(VOICE, 'Test 1. Test 2.', {});
    expect(speech.sampleRate).toBe(22050);
    expect(speech.samples.length).toBe(2 * 22050);
    expect(speech.duration).toBeCloseTo(2, 9);

    const wav = decodeWav(encodeWav(speech.samples, speech.sampleRate));
    expect(wav.sampleRate).toBe(22050);
    expect(wav.samples.length).toBe(2 * 22050);
  });

  it('times the words of the text and its phonemes, in order and inside the audio, each sentence in its own second', async () => {
    const speech = await synthesizePiper(VOICE, 'Test 1. Test 2.', {});
    expect(speech.words.map((w) => w.text)).toEqual(['Test', '1.', 'Test', '2.']);
    expectOrderedInside(speech, speech.words);
    expect(speech.words[1].end).toBeLessThanOrEqual(1 + 1e-9);
    expect(speech.words[2].start).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(speech.words.every((w) => w.end > w.start)).toBe(true);

    expect(speech.phonemes.map((p) => p.phoneme)).toEqual(['t', 'ˈɛ', 's', 't', 'w', 'ˈʌ', 'n', 't', 'ˈɛ', 's', 't', 't', 'ˈuː']);
    expectOrderedInside(speech, speech.phonemes);
    expect(speech.phonemes.map((p) => p.viseme)).toEqual(['L', 'E', 'CDG', 'L', 'U', 'AI', 'L', 'L', 'E', 'CDG', 'L', 'L', 'U']);
  });

  it('keeps every word of the text once, quotes and brackets with their words', async () => {
    const text = '"Hi." Then (he left). Dr. Smith waved...\n\nThe end';
    const speech = await synthesizePiper(VOICE, text, {});
    expect(speech.words.map((w) => w.text)).toEqual(text.split(/\s+/));
    expectOrderedInside(speech, speech.words);
  });

  it("takes the phoneme timings from the model's own durations when it gives them", async () => {
    const path = voiceFile('durations.onnx', fakePiper({ symbols: 170 }));
    const speech = await synthesizePiper(path, 'Hi.', {});
    // Frames, from FRAMES and the ids by hand: ^ 2 and its pad 1; h 3 + 1; ˈ 1 + 1, a 3 + 1, ɪ 3 + 1;
    // . 2 + 1; $ 3: 23 frames of 256 samples.
    const frame = 256 / 22050;
    expect(speech.samples.length).toBe(23 * 256);
    expect(speech.phonemes.map((p) => p.phoneme)).toEqual(['h', 'ˈaɪ']);
    expect(speech.phonemes[0].start).toBeCloseTo(3 * frame, 6);
    expect(speech.phonemes[0].end).toBeCloseTo(7 * frame, 6);
    expect(speech.phonemes[1].start).toBeCloseTo(7 * frame, 6);
    expect(speech.phonemes[1].end).toBeCloseTo(17 * frame, 6);
    expect(speech.phonemes.map((p) => p.viseme)).toEqual(['CDG', 'AI']);
    expect(speech.words).toHaveLength(1);
    expect(speech.words[0].start).toBeLessThanOrEqual(speech.phonemes[0].start + 1e-9);
    expect(speech.words[0].end).toBeGreaterThanOrEqual(speech.phonemes[1].start);
    expectOrderedInside(speech, speech.words);
  });

  it('scales each sentence to full range, as Piper does', async () => {
    const path = voiceFile('loud.onnx', fakePiper({ symbols: 170 }));
    const speech = await synthesizePiper(path, 'Test 1. Test 2.', {});
    const peak = speech.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeCloseTo(1, 3);
  });

  it("speaks faster by dividing the config's length_scale by the speed", async () => {
    const path = voiceFile('speed.onnx', fakePiper({ symbols: 170 }));
    const normal = await synthesizePiper(path, 'Test 1.', {});
    const fast = await synthesizePiper(path, 'Test 1.', { speed: 2 });
    expect(fast.samples.length).toBe(normal.samples.length / 2);
    await expect(synthesizePiper(path, 'Test 1.', { speed: 3 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('sends the speaker id to a multi-speaker voice, speaker 0 by default', async () => {
    const path = voiceFile('sid.onnx', fakePiper({ symbols: 170, speakers: true }), { ...CONFIG, num_speakers: 3 });
    const first = await synthesizePiper(path, 'Test 1.', {});
    const third = await synthesizePiper(path, 'Test 1.', { speaker: 2 });
    expect(third.samples.length).toBe(3 * first.samples.length);
    await expect(synthesizePiper(path, 'Test 1.', { speaker: 3 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(synthesizePiper(VOICE, 'Test 1.', { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('gives no audio for text with nothing to say', async () => {
    const speech = await synthesizePiper(VOICE, '  \n ', {});
    expect(speech.samples.length).toBe(0);
    expect(speech.sampleRate).toBe(22050);
  });
});

describe('streamPiper', () => {
  it('yields one chunk per sentence, each timed from its own start', async () => {
    const chunks: Speech[] = [];
    for await (const chunk of streamPiper(VOICE, 'One. Two, three? Four!', {})) chunks.push(chunk);
    expect(chunks.map((c) => c.words.map((w) => w.text))).toEqual([['One.'], ['Two,', 'three?'], ['Four!']]);
    for (const chunk of chunks) {
      expect(chunk.samples.length).toBe(22050);
      expectOrderedInside(chunk, chunk.words);
      expectOrderedInside(chunk, chunk.phonemes);
      expect(chunk.words[0].start).toBeLessThan(0.5);
    }
  });

  it('speaks a clause left open at the end of the text', async () => {
    const chunks: Speech[] = [];
    for await (const chunk of streamPiper(VOICE, 'Hello, world,', {})) chunks.push(chunk);
    expect(chunks.map((c) => c.words.map((w) => w.text))).toEqual([['Hello,', 'world,']]);
    expect(await phonemizePiper('Hello, world,', 'en-us')).toEqual([[...'həlˈoʊ, wˈɜːld, '.normalize('NFD')]]);
  });

  it('cuts a long run of words with no full stop into sentences of at most 500 characters, keeping every word', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const chunks: Speech[] = [];
    for await (const chunk of streamPiper(VOICE, text, {})) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(text.length / 500));
    for (const chunk of chunks) expect(chunk.words.map((w) => w.text).join(' ').length).toBeLessThanOrEqual(500);
    // synthesizeEspeak, which times the words, now and then joins two of a long clause into one.
    expect(chunks.flatMap((c) => c.words.map((w) => w.text)).join(' ')).toBe(text);
  });

  it('splits a long script into its sentences, the first chunk holding only the first', async () => {
    const script = Array.from({ length: 400 }, (_, i) => `Sentence number ${i + 1} is here.`).join(' ');
    const stream = streamPiper(VOICE, script, {});
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect((first.value as Speech).words.map((w) => w.text)).toEqual(['Sentence', 'number', '1', 'is', 'here.']);
    await stream.return(undefined);
  });
});
