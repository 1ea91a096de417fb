import { describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { listEspeakVoices, synthesizeEspeak, type Speech } from '../../../src-main/voices/espeak';

/** Ten words each. */
const SENTENCES: Record<string, string> = {
  'en-us': 'The farmer walked slowly along the river to count sheep.',
  de: 'Der Bauer ging langsam am Fluss entlang und zählte Schafe.',
  fr: 'Le fermier marchait lentement le long de la rivière verte.',
  es: 'El granjero caminaba despacio junto al río con sus ovejas.',
};

function rms(speech: Speech, from = 0, to = speech.duration): number {
  const a = Math.floor(from * speech.sampleRate);
  const b = Math.min(speech.samples.length, Math.floor(to * speech.sampleRate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += speech.samples[i] ** 2;
  return Math.sqrt(sum / Math.max(1, b - a));
}

function peak(samples: Float32Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}

function expectOrderedInside(speech: Speech, items: { start: number; end: number }[]): void {
  let previousEnd = 0;
  for (const item of items) {
    expect(item.start).toBeGreaterThanOrEqual(previousEnd - 1e-9);
    expect(item.end).toBeGreaterThanOrEqual(item.start);
    expect(item.end).toBeLessThanOrEqual(speech.duration + 1e-9);
    previousEnd = item.end;
  }
}

describe('synthesizeEspeak', () => {
  for (const [voice, text] of Object.entries(SENTENCES)) {
    it(`speaks a ten-word ${voice} sentence aloud, for 2 to 6 seconds, timing each of its words`, async () => {
      const speech = await synthesizeEspeak(text, { voice });

      expect(speech.sampleRate).toBe(22050);
      expect(speech.duration).toBeCloseTo(speech.samples.length / speech.sampleRate, 9);
      expect(speech.duration).toBeGreaterThan(2);
      expect(speech.duration).toBeLessThan(6);
      expect(rms(speech)).toBeGreaterThan(0.03);
      expect(peak(speech.samples)).toBeLessThanOrEqual(1);

      expect(speech.words.map((w) => w.text)).toEqual(text.split(' '));
      expectOrderedInside(speech, speech.words);
      for (const word of speech.words) {
        expect(word.end - word.start).toBeGreaterThan(0.05);
        expect(rms(speech, word.start, word.end)).toBeGreaterThan(0.03);
      }

      expect(speech.phonemes.length).toBeGreaterThan(25);
      expectOrderedInside(speech, speech.phonemes);
      expect(speech.phonemes.every((p) => p.phoneme !== '' && p.viseme !== 'rest')).toBe(true);
    });
  }

  it('puts the pause between two sentences between their words, where the audio is silent', async () => {
    const speech = await synthesizeEspeak('The farmer counted his sheep. Then he walked home.', { voice: 'en-us' });
    const sheep = speech.words[4];
    const then = speech.words[5];
    expect([sheep.text, then.text]).toEqual(['sheep.', 'Then']);

    expect(then.start - sheep.end).toBeGreaterThan(0.15);
    expect(rms(speech, sheep.end + 0.02, then.start - 0.02)).toBeLessThan(0.005);
    expect(rms(speech, sheep.start, sheep.end)).toBeGreaterThan(0.03);
    expect(rms(speech, then.start, then.end)).toBeGreaterThan(0.03);
    // Nothing is said after the last word.
    expect(rms(speech, speech.words[8].end + 0.02)).toBeLessThan(0.005);
  });

  it('speaks a long script whole, with every word in order and no holes between its pieces', async () => {
    const sentence = 'Our new garden needs water every morning before the sun gets hot.';
    const text = Array.from({ length: 40 }, (_, i) => `${sentence.replace('Our', i % 2 ? 'Your' : 'Our')}`).join(' ');
    const speech = await synthesizeEspeak(text, { voice: 'en-us' });

    expect(speech.words.map((w) => w.text)).toEqual(text.split(' '));
    expectOrderedInside(speech, speech.words);
    // 480 words at 165 words per minute.
    expect(speech.duration).toBeGreaterThan(120);
    expect(speech.duration).toBeLessThan(240);
    const gaps = speech.words.slice(1).map((w, i) => w.start - speech.words[i].end);
    expect(Math.max(...gaps)).toBeLessThan(1);
    expect(speech.duration - speech.words[speech.words.length - 1].end).toBeLessThan(1);
    // Each sentence starts with "Our" or "Your": each must be loud where its timing says.
    for (const word of speech.words.filter((w) => w.text === 'Our' || w.text === 'Your')) {
      expect(rms(speech, word.start, word.end)).toBeGreaterThan(0.03);
    }
  });

  it('speaks markup characters as text and keeps them in the words', async () => {
    const text = 'Fish & chips <cost> [[five]] pounds.';
    const speech = await synthesizeEspeak(text, { voice: 'en-us' });
    expect(speech.words.map((w) => w.text)).toEqual(['Fish', '&', 'chips', '<cost>', '[[five]]', 'pounds.']);
    // "&" is said as "and", "<cost>" as "cost" (not swallowed as a tag).
    expect(speech.words[1].end - speech.words[1].start).toBeGreaterThan(0.1);
    expect(speech.words[3].end - speech.words[3].start).toBeGreaterThan(0.15);
  });

  it('joins a token that is not spoken to the word before it', async () => {
    const speech = await synthesizeEspeak('Wait — what?', { voice: 'en-us' });
    expect(speech.words.map((w) => w.text)).toEqual(['Wait —', 'what?']);
  });

  it('splits Chinese into words where espeak does', async () => {
    const speech = await synthesizeEspeak('我们今天去北京。', { voice: 'cmn' });
    expect(speech.words.length).toBeGreaterThan(3);
    expect(speech.words.map((w) => w.text).join('')).toBe('我们今天去北京。');
    expectOrderedInside(speech, speech.words);
  });

  it('has closed lips in the phonemes of m, b and p', async () => {
    const speech = await synthesizeEspeak('Bob maps paper.', { voice: 'en-us' });
    const closures = speech.phonemes.filter((p) => p.viseme === 'MBP').map((p) => p.phoneme);
    expect(closures).toEqual(['b', 'b', 'm', 'p', 'p', 'p']);
  });

  it('speaks faster at a higher rate', async () => {
    const slow = await synthesizeEspeak(SENTENCES['en-us'], { voice: 'en-us', rate: 120 });
    const fast = await synthesizeEspeak(SENTENCES['en-us'], { voice: 'en-us', rate: 300 });
    expect(fast.duration).toBeLessThan(slow.duration * 0.6);
  });

  it('takes a language code that is not a voice name, such as en-gb', async () => {
    const speech = await synthesizeEspeak('Good morning.', { voice: 'en-gb' });
    expect(speech.words.map((w) => w.text)).toEqual(['Good', 'morning.']);
  });

  it('gives empty speech for blank text', async () => {
    const speech = await synthesizeEspeak('  \n ', { voice: 'en-us' });
    expect(speech).toMatchObject({ duration: 0, words: [], phonemes: [] });
    expect(speech.samples.length).toBe(0);
  });

  it('times every word after many voice changes with nothing spoken', async () => {
    for (let i = 0; i < 40; i++) await synthesizeEspeak(' ', { voice: i % 2 ? 'de' : 'fr' });
    const speech = await synthesizeEspeak('Hello there, my friend.', { voice: 'en-us' });
    expect(speech.words.map((w) => w.text)).toEqual(['Hello', 'there,', 'my', 'friend.']);
    expect(speech.words[0].end).toBeGreaterThan(0.2);
  });

  it('refuses an unknown voice with BAD_INPUT naming the voice', async () => {
    await expect(synthesizeEspeak('Hello.', { voice: 'xx' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('voice "xx": espeak-ng has no such voice; run --list-voices'),
    });
  });

  it('refuses a rate espeak-ng cannot speak at', async () => {
    await expect(synthesizeEspeak('Hello.', { voice: 'en-us', rate: 1000 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('cancels with CANCELLED when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(synthesizeEspeak('Hello.', { voice: 'en-us', signal: controller.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });

  it('cancels a long script part-way with CANCELLED', async () => {
    await synthesizeEspeak('Warm up.', { voice: 'en-us' });
    const controller = new AbortController();
    const text = 'This sentence is one of very many in a long script. '.repeat(200);
    const speaking = synthesizeEspeak(text, { voice: 'en-us', signal: controller.signal });
    // Runs after the first piece is spoken, before the second.
    setImmediate(() => controller.abort());
    // Not rejects.toMatchObject: on failure it would print ten minutes of samples.
    const outcome = await speaking.then(
      (speech) => `finished ${speech.duration} s`,
      (error: unknown) => errorCode(error),
    );
    expect(outcome).toBe('CANCELLED');
  });

  it('keeps two interleaved syntheses in their own voices', async () => {
    const [german, english] = await Promise.all([
      synthesizeEspeak(`${SENTENCES.de} `.repeat(8), { voice: 'de' }),
      synthesizeEspeak(`${SENTENCES['en-us']} `.repeat(8), { voice: 'en-us' }),
    ]);
    const alone = await synthesizeEspeak(SENTENCES.de, { voice: 'de' });
    expect(german.words).toHaveLength(80);
    expect(english.words).toHaveLength(80);
    // German phonemes only German has: the "ts" of "zählte" and the "ʃ" of "Schafe" in every repeat.
    const count = (s: Speech, name: string) => s.phonemes.filter((p) => p.phoneme === name).length;
    expect(count(german, 'ts')).toBe(8 * count(alone, 'ts'));
    expect(count(english, 'ts')).toBe(0);
  });
});

describe('listEspeakVoices', () => {
  it('lists the common languages by the names synthesizeEspeak takes', async () => {
    const voices = await listEspeakVoices();
    const ids = voices.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ['en-us', 'en', 'de', 'fr', 'es', 'it', 'pt', 'cmn']) expect(ids).toContain(id);
    expect(voices.find((v) => v.id === 'en-us')).toEqual({ id: 'en-us', name: 'English (America)', language: 'en-us' });
    expect(voices.find((v) => v.id === 'fr')).toEqual({ id: 'fr', name: 'French (France)', language: 'fr-fr' });
  });

  it('lists only voices that can speak', async () => {
    for (const voice of await listEspeakVoices()) {
      const speech = await synthesizeEspeak('one', { voice: voice.id });
      expect(rms(speech), voice.id).toBeGreaterThan(0.01);
    }
  });
});
