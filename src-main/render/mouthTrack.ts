import type { Viseme } from '../../src-shared/visemes';
import type { PhonemeTiming } from '../voices/espeak';

/**
 * Mouth shape for one espeak-ng phoneme. The espeak build we use reports phonemes in IPA ("ˈoʊ",
 * "ʃ", "ɑ̃"); espeak's ASCII mnemonics ("aI", "tS", "@", "0") are accepted too, so phonemes from
 * another build or from a lexicon map the same way. Unknown sounds get CDG, the least marked shape.
 *
 * Diphthongs take the shape of their first vowel, the one the mouth opens to.
 *   MBP  m b p, and β ɸ (Spanish b/v between vowels)
 *   FV   f v ʋ ɱ
 *   L    t d n l θ ð ɾ and the retroflex and palatal t d n l
 *   CDG  everything else consonantal: s z ʃ ʒ tʃ dʒ k g ŋ x r ɹ j h ʔ ...
 *   AI   a ɑ æ ʌ ɐ (and nasal ɑ̃)
 *   E    e ɛ i ɪ ə ɜ ɚ ɨ
 *   O    o ɔ ɒ ø œ ɵ (rounded but open)
 *   U    u ʊ y ʏ ɯ ʉ w ɥ (rounded and nearly closed)
 *   rest nothing (espeak's pauses are empty phonemes or "_")
 */
export function visemeForPhoneme(phoneme: string): Viseme {
  // Stress, length and other modifier letters (ˈ ˌ ː ʰ ʲ) and combining diacritics (nasal ̃,
  // syllabic ̩) do not change the lips; espeak's ASCII marks ' , : ; # ! do not either.
  const core = phoneme.normalize('NFD').replace(/[\p{Lm}\p{M}'",:;#!|_\-\s]/gu, '');
  if (core === '') return 'rest';
  // Affricates start with t or d but look like their fricative.
  if (AFFRICATES.has(core.slice(0, 2))) return 'CDG';
  return FIRST_SOUND[String.fromCodePoint(core.codePointAt(0)!)] ?? 'CDG';
}

const AFFRICATES = new Set(['tʃ', 'dʒ', 'ts', 'dz', 'tɕ', 'dʑ', 'tS', 'dZ']);

const FIRST_SOUND: Record<string, Viseme> = Object.fromEntries(
  (
    [
      ['MBP', 'mbpβɸB'],
      ['FV', 'fvʋɱ'],
      ['L', 'tdnlθðɾɫɭʎɲɳʈɖɬɮTDL'],
      ['AI', 'aɑæʌɐɶAV&'],
      ['E', 'eɛiɪəɜɚɝɘɨɤEI@3'],
      ['O', 'oɔɒøœɵO0YW'],
      ['U', 'uʊyʏɯʉwɥU'],
    ] as const
  ).flatMap(([viseme, sounds]) => [...sounds].map((sound) => [sound, viseme])),
);

/** Shortest time a shape is held, so the mouth does not flicker; closed lips may be shorter. */
const MIN_HOLD_FRAMES = 2;

/**
 * One viseme per output frame. A frame shows the phoneme that covers most of it, or rest where
 * silence covers most of it. Every m/b/p gets at least one closed frame even when it is shorter
 * than a frame, because a missing lip closure is the most visible lip-sync error. Every other
 * shape is held at least MIN_HOLD_FRAMES frames: a faster change reads as flicker, so a phoneme
 * shorter than that shows late by a frame or is skipped.
 */
export function buildMouthTrack(
  phonemes: PhonemeTiming[],
  options: { fps: number; frames: number; offset?: number },
): Viseme[] {
  const { fps, frames } = options;
  const offset = options.offset ?? 0;
  const frameLength = 1 / fps;
  const target: Viseme[] = new Array<Viseme>(frames).fill('rest');
  const best = new Float64Array(frames);
  const covered = new Float64Array(frames);
  const closures: number[] = [];

  for (const p of phonemes) {
    const start = p.start + offset;
    const end = p.end + offset;
    if (!(end > start) || p.viseme === 'rest') continue;
    const first = Math.max(0, Math.floor(start * fps));
    const last = Math.min(frames - 1, Math.ceil(end * fps) - 1);
    for (let f = first; f <= last; f++) {
      const overlap = Math.min(end, (f + 1) * frameLength) - Math.max(start, f * frameLength);
      if (overlap <= 0) continue;
      covered[f] += overlap;
      if (overlap > best[f]) {
        best[f] = overlap;
        target[f] = p.viseme;
      }
    }
    if (p.viseme === 'MBP') {
      const middle = Math.floor(((start + end) / 2) * fps);
      if (middle >= 0 && middle < frames) closures.push(middle);
    }
  }
  for (let f = 0; f < frames; f++) {
    if (frameLength - covered[f] > best[f]) target[f] = 'rest';
  }
  // A closure that lost every frame to its neighbours takes back the frame at its middle.
  for (const f of closures) {
    if (!nearClosure(target, f)) target[f] = 'MBP';
  }
  bridgeShortPauses(target);
  return holdShapes(target);
}

/** Whether frame f, or a frame touching it, already shows closed lips. */
function nearClosure(track: Viseme[], f: number): boolean {
  return track[f] === 'MBP' || track[f - 1] === 'MBP' || track[f + 1] === 'MBP';
}

/** A gap between words shorter than the hold is not a pause: keep the previous shape through it. */
function bridgeShortPauses(track: Viseme[]): void {
  let f = 0;
  while (f < track.length) {
    if (track[f] !== 'rest') {
      f++;
      continue;
    }
    let end = f;
    while (end < track.length && track[end] === 'rest') end++;
    if (f > 0 && end < track.length && end - f < MIN_HOLD_FRAMES) track.fill(track[f - 1], f, end);
    f = end;
  }
}

/**
 * Follows the target frame by frame, changing shape only once the current one has been held
 * MIN_HOLD_FRAMES. Closed lips interrupt at once; a shape they cut short becomes closed lips too
 * (the lips close a frame early, which reads as natural anticipation).
 */
function holdShapes(target: Viseme[]): Viseme[] {
  const out: Viseme[] = [];
  let runStart = 0;
  for (let f = 0; f < target.length; f++) {
    const current = out[f - 1];
    const want = target[f];
    if (f === 0 || want === current) {
      out.push(want);
      continue;
    }
    const held = f - runStart;
    if (want === 'MBP') {
      if (held < MIN_HOLD_FRAMES) out.fill('MBP', runStart, f);
      else runStart = f;
      out.push('MBP');
    } else if (held >= MIN_HOLD_FRAMES || current === 'MBP') {
      runStart = f;
      out.push(want);
    } else {
      out.push(current);
    }
  }
  // The last shape may be cut short by the end of the track; let the one before it run on.
  const tail = out.length - runStart;
  if (tail < MIN_HOLD_FRAMES && runStart > 0 && out[runStart] !== 'MBP') {
    out.fill(out[runStart - 1], runStart);
  }
  return out;
}
