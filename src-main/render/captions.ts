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
}

export interface CueLimits {
  maxLineChars: number;
  maxLines: number;
}

const DEFAULT_LIMITS: CueLimits = { maxLineChars: 42, maxLines: 2 };
const PHRASE_END = /[.!?;:,\u2026]["')\]]?$/;

/** Split words into lines of at most maxLineChars, preferring a break after punctuation. */
function breakLines(words: TimedWord[], maxLineChars: number): TimedWord[][] {
  const lines: TimedWord[][] = [];
  let line: TimedWord[] = [];
  let length = 0;
  for (const word of words) {
    const added = length === 0 ? word.text.length : length + 1 + word.text.length;
    if (line.length > 0 && added > maxLineChars) {
      lines.push(line);
      line = [];
      length = 0;
    }
    line.push(word);
    length = length === 0 ? word.text.length : length + 1 + word.text.length;
  }
  if (line.length) lines.push(line);
  // Never leave a one-word orphan line when the previous line can give it a word.
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].length === 1 && lines[i - 1].length > 2) {
      const moved = lines[i - 1].pop()!;
      lines[i].unshift(moved);
    }
  }
  return lines;
}

/**
 * Group timed words into caption cues of at most maxLines lines of maxLineChars characters.
 * A cue ends early at the end of a sentence or phrase so captions follow the speech's rhythm.
 */
export function buildCues(words: TimedWord[], limits: CueLimits = DEFAULT_LIMITS): Cue[] {
  const budget = limits.maxLineChars * limits.maxLines;
  const groups: TimedWord[][] = [];
  let group: TimedWord[] = [];
  let chars = 0;
  for (const word of words) {
    const next = chars === 0 ? word.text.length : chars + 1 + word.text.length;
    // Leave slack so the line breaker can honour word boundaries within the budget.
    if (group.length && (next > budget - 6 || breakLines([...group, word], limits.maxLineChars).length > limits.maxLines)) {
      groups.push(group);
      group = [];
      chars = 0;
    }
    group.push(word);
    chars = chars === 0 ? word.text.length : chars + 1 + word.text.length;
    if (/[.!?]["')\]]?$/.test(word.text) && chars > limits.maxLineChars * 0.5) {
      groups.push(group);
      group = [];
      chars = 0;
    } else if (PHRASE_END.test(word.text) && chars > limits.maxLineChars * 1.2) {
      groups.push(group);
      group = [];
      chars = 0;
    }
  }
  if (group.length) groups.push(group);
  return groups.map((g) => ({
    start: g[0].start,
    end: g[g.length - 1].end,
    lines: breakLines(g, limits.maxLineChars).map((l) => l.map((w) => w.text).join(' ')),
  }));
}

function assTime(seconds: number): string {
  const cs = Math.max(0, Math.round(seconds * 100));
  const h = Math.floor(cs / 360000);
  const m = Math.floor((cs % 360000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(cs % 100).padStart(2, '0')}`;
}

/** ASS colours are &HAABBGGRR. */
function assColour(hex: string, alpha = 0): string {
  const [r, g, b] = [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
  return `&H${alpha.toString(16).padStart(2, '0')}${b}${g}${r}`.toUpperCase();
}

function escapeAss(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/[{}]/g, '').replace(/\n/g, ' ');
}

/** An ASS subtitle file for libass, styled by the template and sized for the frame. */
export function toAss(cues: Cue[], style: Template['captions'], size: { width: number; height: number }): string {
  const fontSize = Math.round(style.size * size.height);
  const outline = Math.max(2, Math.round(fontSize * 0.08));
  const margin = Math.round(style.marginBottom * size.height);
  const side = Math.round(size.width * 0.06);
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
    `Style: Caption,Inter,${fontSize},${assColour(style.colour)},${assColour(style.colour)},${assColour(style.outline)},${assColour(style.outline, 0x60)},-1,0,0,0,100,100,0,0,1,${outline},${Math.round(outline / 2)},2,${side},${side},${margin},1`,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
  ];
  const events = cues.map(
    (cue) => `Dialogue: 0,${assTime(cue.start)},${assTime(cue.end)},Caption,,0,0,0,,${cue.lines.map(escapeAss).join('\\N')}`,
  );
  return [...header, ...events, ''].join('\n');
}
