import type { CaptionStyle } from '../../src-shared/project';
import type { Template } from '../../src-shared/template';

export interface TimedWord {
  text: string;
  start: number;
  end: number;
}

export interface Cue {
  start: number;
  end: number;
  lines: string[];
  /** The words of each line, in step with `lines`, for highlighting the one being spoken. */
  words: TimedWord[][];
}

export interface CueLimits {
  maxLineChars: number;
  maxLines: number;
}

/** The captions' look once the project's choices are laid over the template's. */
export interface CaptionLook {
  style: CaptionStyle;
  /** Font size as a fraction of the frame height. */
  size: number;
  colour: string;
  highlight: string;
  outline: string;
  /** Distance of the caption baseline from the bottom, as a fraction of the frame height. */
  marginBottom: number;
}

const DEFAULT_LIMITS: CueLimits = { maxLineChars: 42, maxLines: 2 };

/** Readers need about this long to take in even a short caption. */
const MIN_CUE_SECONDS = 0.7;
/** A gap between cues shorter than this is closed, so the captions do not blink off and on. */
const CLOSE_GAP_SECONDS = 0.25;
/** Longest a word may have to wait, silent, for its neighbours on screen. */
const LONG_PAUSE_SECONDS = 1;
const COMFORTABLE_CUE_SECONDS = 7;

const SENTENCE_END = /[.!?\u2026]["'\u2019\u201d)\]]*$/;
const CLAUSE_END = /[,;:\u2014\u2013]["'\u2019\u201d)\]]*$|^[\u2014\u2013-]+$/;
/** Words a phrase starts with: a line may break before them, and should not end with them. */
const PHRASE_STARTERS = new Set(
  (
    'and but or nor so yet because although though while when whenever where which who whom whose that if unless until ' +
    'since after before as than whether of in on at to for with from by about into onto over under through between ' +
    'without within during against across toward towards upon like near behind beyond around among via'
  ).split(' '),
);
const ARTICLES = new Set(['a', 'an', 'the', 'my', 'your', 'our', 'their', 'his', 'her', 'its', 'this', 'these', 'those']);

// Costs of the cue and line layout; only their relative sizes matter.
const CUE_COST = 10;
/** A cue that ends mid-phrase leaves the reader hanging longer than a line that does. */
const CUE_END_WEIGHT = 3;
const ONE_WORD_LINE_COST = 40;
/** "Hello." on its own reads well enough; better than a cue that ends mid-phrase to take it in. */
const ONE_WORD_SENTENCE_COST = 4;
/** Two sentences may share a cue, best with the line break between them. */
const SENTENCE_INSIDE_CUE_COST = 4;
const LONG_PAUSE_INSIDE_COST = 60;
const OVERLONG_CUE_COST_PER_SECOND = 4;
/** Weight of uneven line lengths (per squared character of spread). */
const BALANCE_WEIGHT = 0.02;

/** A word's first or last token, lower case, without punctuation (espeak may time "in the" as one word). */
function bare(text: string, end: 'first' | 'last'): string {
  const tokens = text.split(' ');
  return tokens[end === 'first' ? 0 : tokens.length - 1].toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

/** How bad it is to break between words[k - 1] and words[k]: 0 at a sentence's end, 20 after "the" or "of". */
function breakCost(words: TimedWord[], k: number): number {
  const before = words[k - 1].text;
  if (SENTENCE_END.test(before)) return 0;
  if (CLAUSE_END.test(before)) return 1;
  const pause = words[k].start - words[k - 1].end >= 0.25;
  const last = bare(before, 'last');
  if (PHRASE_STARTERS.has(last) || ARTICLES.has(last)) return pause ? 8 : 20;
  if (PHRASE_STARTERS.has(bare(words[k].text, 'first'))) return 3;
  return pause ? 2 : 8;
}

/** Characters words[from..to) take on one line. */
function lineLength(prefix: number[], from: number, to: number): number {
  return prefix[to] - prefix[from] + (to - from - 1);
}

/**
 * Split words into cues and each cue into lines in one pass over the script: the cheapest layout
 * overall, so a cue ends at a sentence or phrase when one is near, lines are even, and a word is
 * left alone on a line only when nothing else fits. A word longer than a line gets a line of its own.
 */
function layoutCues(words: TimedWord[], limits: CueLimits): { from: number; to: number; breaks: number[] }[] {
  const n = words.length;
  const maxLines = Math.max(1, Math.floor(limits.maxLines));
  const maxChars = Math.max(1, Math.floor(limits.maxLineChars));
  const prefix = [0];
  for (const w of words) prefix.push(prefix[prefix.length - 1] + w.text.length);
  const fits = (from: number, to: number) => to - from === 1 || lineLength(prefix, from, to) <= maxChars;
  const breakCosts = words.map((_, k) => (k === 0 ? 0 : breakCost(words, k)));
  const sentenceEnds = words.map((w) => SENTENCE_END.test(w.text));
  const wholeSentence = (k: number) => sentenceEnds[k] && (k === 0 || sentenceEnds[k - 1]);

  const best: number[] = new Array<number>(n + 1).fill(Infinity);
  const choice: { from: number; breaks: number[] }[] = new Array(n + 1);
  best[0] = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(best[i])) continue;
    // lines[m][j - i]: the cheapest way to set words[i..j) on exactly m lines (weighted squared
    // line lengths plus break costs), and where its last line starts.
    const lines: { cost: number; start: number }[][] = Array.from({ length: maxLines + 1 }, () => []);
    let pausePenalty = 0;
    let sentencesInside = 0;
    for (let j = i + 1; j <= n; j++) {
      const k = j - i;
      if (j - 1 > i) {
        if (words[j - 1].start - words[j - 2].end > LONG_PAUSE_SECONDS) pausePenalty += LONG_PAUSE_INSIDE_COST;
        if (sentenceEnds[j - 2]) sentencesInside++;
      }
      let feasible = false;
      for (let m = 1; m <= maxLines; m++) {
        let cell = { cost: Infinity, start: -1 };
        if (m === 1) {
          if (fits(i, j)) cell = { cost: BALANCE_WEIGHT * lineLength(prefix, i, j) ** 2, start: i };
        } else {
          for (let b = j - 1; b > i; b--) {
            if (!fits(b, j)) break;
            const previous = lines[m - 1][b - i];
            if (!previous || !Number.isFinite(previous.cost)) continue;
            const cost =
              previous.cost +
              BALANCE_WEIGHT * lineLength(prefix, b, j) ** 2 +
              breakCosts[b] +
              (j - b === 1 ? ONE_WORD_LINE_COST : 0) +
              (m === 2 && b - i === 1 ? ONE_WORD_LINE_COST : 0);
            if (cost < cell.cost) cell = { cost, start: b };
          }
        }
        lines[m][k] = cell;
        if (!Number.isFinite(cell.cost)) continue;
        feasible = true;
        // Less the least sum of squares these characters could have on m lines, what is left
        // measures only how uneven the lines are, so full cues are not penalised for their length.
        const layoutCost = cell.cost - (BALANCE_WEIGHT * (prefix[j] - prefix[i] + k - m) ** 2) / m;
        const seconds = words[j - 1].end - words[i].start;
        const cost =
          best[i] +
          CUE_COST +
          layoutCost +
          (j < n ? CUE_END_WEIGHT * breakCosts[j] : 0) +
          (k === 1 && n > 1 ? (wholeSentence(i) ? ONE_WORD_SENTENCE_COST : ONE_WORD_LINE_COST) : 0) +
          SENTENCE_INSIDE_CUE_COST * sentencesInside +
          pausePenalty +
          Math.max(0, seconds - COMFORTABLE_CUE_SECONDS) * OVERLONG_CUE_COST_PER_SECOND;
        if (cost < best[j]) {
          best[j] = cost;
          const breaks: number[] = [];
          for (let line = m, at = j; line > 1; line--) {
            const start = lines[line][at - i].start;
            breaks.unshift(start);
            at = start;
          }
          choice[j] = { from: i, breaks };
        }
      }
      // Adding words never makes a cue fit again once it does not.
      if (!feasible) break;
    }
  }
  const cues: { from: number; to: number; breaks: number[] }[] = [];
  for (let j = n; j > 0; j = choice[j].from) cues.unshift({ from: choice[j].from, to: j, breaks: choice[j].breaks });
  return cues;
}

/** Cues scene by scene: a caption never runs from one scene into the next. */
export function sceneCues(words: TimedWord[], scenes: { start: number; end: number }[]): Cue[] {
  return scenes.flatMap((scene) => buildCues(words.filter((w) => w.start >= scene.start - 0.01 && w.start < scene.end + 0.01)));
}

/**
 * Group timed words into caption cues of at most maxLines lines of maxLineChars characters,
 * breaking at sentences and phrases. Cues are in time order, never overlap and stay within the
 * words' span; a short cue stays up for MIN_CUE_SECONDS when the next one leaves room.
 */
export function buildCues(words: TimedWord[], limits: CueLimits = DEFAULT_LIMITS): Cue[] {
  const clean = words
    .map((w) => ({ text: w.text.replace(/\s+/g, ' ').trim(), start: Math.max(0, w.start), end: Math.max(0, w.start, w.end) }))
    .filter((w) => w.text.length > 0)
    .sort((a, b) => a.start - b.start);
  const groups = layoutCues(clean, limits);
  const cues: Cue[] = groups.map(({ from, to, breaks }) => {
    const starts = [from, ...breaks, to];
    const lineWords = starts.slice(0, -1).map((s, l) => clean.slice(s, starts[l + 1]));
    return {
      start: clean[from].start,
      end: Math.max(...clean.slice(from, to).map((w) => w.end)),
      lines: lineWords.map((ws) => ws.map((w) => w.text).join(' ')),
      words: lineWords,
    };
  });
  for (let c = 0; c < cues.length - 1; c++) {
    const cue = cues[c];
    const next = cues[c + 1].start;
    let end = Math.max(cue.end, cue.start + MIN_CUE_SECONDS);
    if (next - end < CLOSE_GAP_SECONDS) end = next;
    cue.end = Math.min(end, next);
  }
  return cues;
}

/** The project's caption style and brand colour over the template's captions. */
export function captionStyleFor(
  template: Pick<Template, 'captions'>,
  project: { captions?: { style?: CaptionStyle }; brand?: { primary?: string } } = {},
): CaptionLook {
  const { style, size, colour, highlight, outline, marginBottom } = template.captions;
  return {
    style: project.captions?.style ?? style,
    size,
    colour,
    highlight: project.brand?.primary ?? highlight,
    outline,
    marginBottom,
  };
}

function assTime(centiseconds: number): string {
  const cs = Math.max(0, centiseconds);
  const h = Math.floor(cs / 360000);
  const m = Math.floor((cs % 360000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(cs % 100).padStart(2, '0')}`;
}

const centiseconds = (seconds: number) => Math.round(seconds * 100);

/** ASS colours are &HAABBGGRR (alpha 0 is opaque). */
function assColour(hex: string, alpha = 0): string {
  const [r, g, b] = [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
  return `&H${alpha.toString(16).padStart(2, '0')}${b}${g}${r}`.toUpperCase();
}

/** An override tag's colour: &HBBGGRR&. */
function tagColour(hex: string): string {
  return `&H${hex.slice(5, 7)}${hex.slice(3, 5)}${hex.slice(1, 3)}&`.toUpperCase();
}

/**
 * Text as libass shows it: braces would open override blocks, and a backslash before N, n or h
 * is a line break or hard space; a word joiner after it keeps it a plain backslash.
 */
function escapeAss(text: string): string {
  return text.replace(/\\/g, '\\\u2060').replace(/\{/g, '(').replace(/\}/g, ')');
}

/** An ASS subtitle file for libass, in the given look and sized for the frame. */
export function toAss(cues: Cue[], look: CaptionLook, size: { width: number; height: number }): string {
  const fontSize = Math.round(look.size * size.height);
  const margin = Math.round(look.marginBottom * size.height);
  const side = Math.round(size.width * 0.06);
  const boxed = look.style === 'boxed';
  // A boxed caption's "outline" is the padding of its box (BorderStyle 3), drawn in OutlineColour.
  const outline = boxed ? Math.max(4, Math.round(fontSize * 0.28)) : Math.max(2, Math.round(fontSize * 0.08));
  const shadow = boxed ? 0 : Math.round(outline / 2);
  const boxColour = assColour(look.outline, boxed ? 0x40 : 0);
  const backColour = assColour(look.outline, boxed ? 0x40 : 0x60);
  const header = [
    '[Script Info]',
    'ScriptType: v4.00+',
    `PlayResX: ${size.width}`,
    `PlayResY: ${size.height}`,
    'WrapStyle: 2',
    'ScaledBorderAndShadow: yes',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    `Style: Caption,Inter,${fontSize},${assColour(look.colour)},${assColour(look.colour)},${boxColour},${backColour},-1,0,0,0,100,100,0,0,${boxed ? 3 : 1},${outline},${shadow},2,${side},${side},${margin},1`,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
  ];
  const dialogue = (start: number, end: number, text: string) => `Dialogue: 0,${assTime(start)},${assTime(end)},Caption,,0,0,0,,${text}`;
  const events: string[] = [];
  if (look.style === 'plain' || boxed) {
    // libass boxes each line on its own; with no vertical padding the boxes of two lines meet
    // instead of overlapping into a darker band.
    const prefix = boxed ? '{\\ybord0}' : '';
    for (const cue of cues) {
      const [start, end] = [centiseconds(cue.start), centiseconds(cue.end)];
      if (end > start) events.push(dialogue(start, end, prefix + cue.lines.map(escapeAss).join('\\N')));
    }
  } else if (look.style === 'highlight') {
    const on = `{\\1c${tagColour(look.highlight)}}`;
    const off = `{\\1c${tagColour(look.colour)}}`;
    for (const cue of cues) {
      const flat = cue.words.flat();
      const [cueStart, cueEnd] = [centiseconds(cue.start), centiseconds(cue.end)];
      // Word k is lit from its start until the next word starts, so a pause keeps the last word lit.
      const bounds = flat.map((w, k) => (k === 0 ? cueStart : Math.min(cueEnd, Math.max(cueStart, centiseconds(w.start)))));
      bounds.push(cueEnd);
      flat.forEach((_, k) => {
        if (bounds[k + 1] <= bounds[k]) return;
        let index = 0;
        const text = cue.words
          .map((line) => line.map((w) => (index++ === k ? `${on}${escapeAss(w.text)}${off}` : escapeAss(w.text))).join(' '))
          .join('\\N');
        events.push(dialogue(bounds[k], bounds[k + 1], text));
      });
    }
  }
  return [...header, ...events, ''].join('\n');
}

function clock(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${separator}${String(ms % 1000).padStart(3, '0')}`;
}

/** SubRip: numbered cues, times as 00:00:01,234. */
export function toSrt(cues: Cue[]): string {
  return cues.map((cue, i) => `${i + 1}\n${clock(cue.start, ',')} --> ${clock(cue.end, ',')}\n${cue.lines.join('\n')}\n`).join('\n');
}

/** WebVTT: the WEBVTT header, then cues with times as 00:00:01.234; text is escaped as the format requires. */
export function toVtt(cues: Cue[]): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return ['WEBVTT\n', ...cues.map((cue) => `${clock(cue.start, '.')} --> ${clock(cue.end, '.')}\n${cue.lines.map(escape).join('\n')}\n`)].join('\n');
}
