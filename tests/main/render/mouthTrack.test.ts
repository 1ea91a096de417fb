import { describe, expect, it } from 'vitest';
import type { Viseme } from '../../../src-shared/visemes';
import { buildMouthTrack, visemeForPhoneme } from '../../../src-main/render/mouthTrack';
import { synthesizeEspeak, type PhonemeTiming } from '../../../src-main/voices/espeak';

function phoneme(name: string, start: number, end: number): PhonemeTiming {
  return { phoneme: name, viseme: visemeForPhoneme(name), start, end };
}

/** Runs of equal shapes: [viseme, first frame, length]. */
function runs(track: Viseme[]): { viseme: Viseme; first: number; length: number }[] {
  const out: { viseme: Viseme; first: number; length: number }[] = [];
  track.forEach((viseme, f) => {
    const last = out[out.length - 1];
    if (last && last.viseme === viseme) last.length++;
    else out.push({ viseme, first: f, length: 1 });
  });
  return out;
}

/** A deterministic jumble of phonemes 10 to 150 ms long, with pauses, over every viseme. */
function jumble(seed: number, count: number): PhonemeTiming[] {
  const names = ['a', 'ˈɑː', 'e', 'ɪ', 'ə', 'oʊ', 'ɔ', 'u', 'w', 'f', 'v', 't', 'l', 'n', 'θ', 's', 'ʃ', 'k', 'ɹ']
    .concat(['m', 'b', 'p']);
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const out: PhonemeTiming[] = [];
  let t = 0.3;
  for (let i = 0; i < count; i++) {
    if (random() < 0.08) t += 0.05 + random() * 0.5;
    const length = 0.01 + random() * 0.14;
    out.push(phoneme(names[Math.floor(random() * names.length)], t, t + length));
    t += length;
  }
  return out;
}

describe('visemeForPhoneme', () => {
  it("maps espeak's IPA phonemes, stress and length marks and all, to mouth shapes", () => {
    const cases: [string, Viseme][] = [
      ['m', 'MBP'], ['b', 'MBP'], ['p', 'MBP'], ['β', 'MBP'],
      ['f', 'FV'], ['v', 'FV'],
      ['t', 'L'], ['d', 'L'], ['n', 'L'], ['l', 'L'], ['θ', 'L'], ['ð', 'L'], ['ɾ', 'L'],
      ['s', 'CDG'], ['z', 'CDG'], ['ʃ', 'CDG'], ['tʃ', 'CDG'], ['dʒ', 'CDG'], ['ts', 'CDG'],
      ['k', 'CDG'], ['ɡ', 'CDG'], ['ŋ', 'CDG'], ['ɹ', 'CDG'], ['j', 'CDG'], ['h', 'CDG'],
      ['a', 'AI'], ['ˈɑː', 'AI'], ['æ', 'AI'], ['ʌ', 'AI'], ['aɪ', 'AI'], ['ɑ̃', 'AI'],
      ['e', 'E'], ['ˈɛ', 'E'], ['iː', 'E'], ['ɪ', 'E'], ['ə', 'E'], ['ˈɜː', 'E'], ['eɪ', 'E'],
      ['o', 'O'], ['ˈoʊ', 'O'], ['ɔː', 'O'], ['ø', 'O'], ['ɔ̃', 'O'],
      ['u', 'U'], ['ʊ', 'U'], ['y', 'U'], ['w', 'U'], ['ˌuː', 'U'],
      ['', 'rest'], ['_', 'rest'], ['ˈ', 'rest'],
    ];
    expect(cases.map(([p]) => [p, visemeForPhoneme(p)])).toEqual(cases);
  });

  it("maps espeak's ASCII mnemonics too", () => {
    const cases: [string, Viseme][] = [
      ['aI', 'AI'], ['A:', 'AI'], ['V', 'AI'], ['@', 'E'], ['3:', 'E'], ['I', 'E'], ['E', 'E'],
      ['O:', 'O'], ['oU', 'O'], ['U', 'U'], ['u:', 'U'], ['tS', 'CDG'], ['dZ', 'CDG'], ['S', 'CDG'],
      ['N', 'CDG'], ['T', 'L'], ['D', 'L'], ['0', 'O'], ['&', 'AI'], ['Y', 'O'],
    ];
    expect(cases.map(([p]) => [p, visemeForPhoneme(p)])).toEqual(cases);
  });
});

describe('buildMouthTrack', () => {
  it('rests on every frame when nothing is said', () => {
    expect(buildMouthTrack([], { fps: 25, frames: 50 })).toEqual(Array(50).fill('rest'));
  });

  it("opens wide for an 'a' exactly on the frames it sounds, and rests around it", () => {
    const track = buildMouthTrack([phoneme('a', 0.2, 0.6)], { fps: 25, frames: 25 });
    expect(track).toEqual([...Array(5).fill('rest'), ...Array(10).fill('AI'), ...Array(10).fill('rest')]);
  });

  it('shifts every phoneme by the offset', () => {
    const track = buildMouthTrack([phoneme('a', 0.2, 0.6)], { fps: 25, frames: 50, offset: 1 });
    expect(track.indexOf('AI')).toBe(30);
    expect(track.lastIndexOf('AI')).toBe(39);
  });

  it('rests through a pause between words and not through a gap shorter than the hold', () => {
    const pause = buildMouthTrack([phoneme('a', 0, 0.4), phoneme('o', 1.2, 1.6)], { fps: 25, frames: 40 });
    expect(pause.slice(10, 30)).toEqual(Array(20).fill('rest'));
    const gap = buildMouthTrack([phoneme('a', 0, 0.4), phoneme('o', 0.44, 0.8)], { fps: 25, frames: 20 });
    expect(gap.slice(0, 20)).not.toContain('rest');
  });

  for (const closure of ['m', 'b', 'p']) {
    it(`closes the lips for a 12 ms ${closure} between two vowels, shorter than a frame`, () => {
      // Frame 7 is 0.28-0.32 s: each vowel covers more of it than the closure does.
      const track = buildMouthTrack([phoneme('a', 0, 0.294), phoneme(closure, 0.294, 0.306), phoneme('a', 0.306, 0.6)], {
        fps: 25,
        frames: 15,
      });
      expect(track.filter((v) => v === 'MBP')).toHaveLength(1);
      expect(track[7]).toBe('MBP');
    });
  }

  it('holds closed lips for as long as an m lasts', () => {
    const phonemes = [phoneme('a', 0, 0.2), phoneme('m', 0.2, 0.4), phoneme('a', 0.4, 0.6)];
    const track = buildMouthTrack(phonemes, { fps: 25, frames: 15 });
    expect(track.slice(5, 10)).toEqual(Array(5).fill('MBP'));
  });

  for (const fps of [24, 25, 30, 60]) {
    it(`at ${fps} fps holds every shape at least 2 frames, except closed lips, and closes them for every m, b, p`, () => {
      const phonemes = jumble(fps, 400);
      const frames = Math.ceil((phonemes[phonemes.length - 1].end + 0.5) * fps);
      const track = buildMouthTrack(phonemes, { fps, frames });
      expect(track).toHaveLength(frames);

      const short = runs(track).filter((r) => r.length < 2 && r.viseme !== 'MBP');
      expect(short).toEqual([]);

      for (const p of phonemes.filter((q) => q.viseme === 'MBP')) {
        const around = track.slice(Math.max(0, Math.floor(p.start * fps) - 1), Math.ceil(p.end * fps) + 1);
        expect(around, `${p.phoneme} at ${p.start.toFixed(3)}`).toContain('MBP');
      }
      // Closed lips only near an m, b or p: a frame early, or a frame longer through a short gap.
      const closures = phonemes.filter((q) => q.viseme === 'MBP');
      track.forEach((v, f) => {
        if (v !== 'MBP') return;
        const near = closures.some((p) => f >= Math.floor(p.start * fps) - 2 && f <= Math.ceil(p.end * fps) + 1);
        expect(near, `closed lips at frame ${f}`).toBe(true);
      });
    });
  }

  it('keeps to the speech: shows each vowel of a slow word on its own frames', () => {
    const word = [phoneme('m', 0, 0.1), phoneme('a', 0.1, 0.4), phoneme('n', 0.4, 0.5), phoneme('o', 0.5, 0.8)];
    const track = buildMouthTrack(word, { fps: 30, frames: 30 });
    expect(runs(track).map((r) => r.viseme)).toEqual(['MBP', 'AI', 'L', 'O', 'rest']);
    expect(track[6]).toBe('AI');
    expect(track[20]).toBe('O');
  });

  it('moves the mouth while espeak speaks and rests where it pauses', async () => {
    const speech = await synthesizeEspeak('Bob maps paper. Then we wait.', { voice: 'en-us' });
    const fps = 30;
    const track = buildMouthTrack(speech.phonemes, { fps, frames: Math.ceil(speech.duration * fps) + 15 });
    const closures = speech.phonemes.filter((p) => p.viseme === 'MBP');
    expect(closures.length).toBeGreaterThanOrEqual(6);
    for (const p of closures) {
      expect(track.slice(Math.max(0, Math.floor(p.start * fps) - 1), Math.ceil(p.end * fps) + 1)).toContain('MBP');
    }
    const paper = speech.words[2];
    const then = speech.words[3];
    const pause = track.slice(Math.ceil(paper.end * fps) + 1, Math.floor(then.start * fps));
    expect(pause.length).toBeGreaterThan(3);
    expect(new Set(pause)).toEqual(new Set(['rest']));
    expect(track.slice(-15)).toEqual(Array(15).fill('rest'));
    const spoken = track.slice(Math.floor(then.start * fps), Math.floor(then.end * fps));
    expect(spoken.filter((v) => v !== 'rest').length).toBeGreaterThan(spoken.length / 2);
  });
});
