/**
 * A script's text on its way to a voice: pause markup, and the rewriting of digits, symbols and
 * abbreviations into the words a presenter would say. espeak-ng and Piper (whose phonemes come
 * from espeak-ng) both read "$3.50", "12/25/2024" or "Dr." badly or not at all.
 * Pure: no Node imports, no I/O. Each pass is one regular-expression scan, and context is looked
 * up at most a few dozen characters either side of a match, so the cost grows linearly with the
 * text.
 */
import { AppError, ErrorCode } from '../../src-shared/errors';

export type ScriptPart = { kind: 'speech'; text: string } | { kind: 'pause'; seconds: number };

const DEFAULT_PAUSE_SECONDS = 0.5;
const MAX_PAUSE_SECONDS = 10;
const PAUSE_FORMS = `write [pause] (half a second), [pause 500ms] or [pause 1.5s], at most ${MAX_PAUSE_SECONDS} s`;

/** "[pause" up to the closing "]"; the closing bracket is optional here so that its absence can be refused. */
const PAUSE_MARKUP = /\[\s*pause(?!\p{L})([^[\]\n]*)(\]?)/giu;
const PAUSE_LENGTH = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?)\s*$/i;

/**
 * Split a script at its pause markup: `[pause]` (half a second), `[pause 500ms]`, `[pause 1.5s]`,
 * in any case and with spaces anywhere inside the brackets. Other bracketed text stays text.
 * Throws BadInput, quoting the markup, for a pause that is malformed, not positive or over 10 s.
 */
export function parseScript(text: string): ScriptPart[] {
  const parts: ScriptPart[] = [];
  let spokenFrom = 0;
  for (const match of text.matchAll(PAUSE_MARKUP)) {
    const [markup, length, closing] = match;
    if (!closing) {
      throw new AppError(ErrorCode.BadInput, `Pause markup "${markup.trim()}" has no closing "]"; ${PAUSE_FORMS}.`);
    }
    addSpeech(parts, text.slice(spokenFrom, match.index));
    addPause(parts, pauseSeconds(markup, length));
    spokenFrom = match.index + markup.length;
  }
  addSpeech(parts, text.slice(spokenFrom));
  return parts;
}

function pauseSeconds(markup: string, length: string): number {
  if (length.trim() === '') return DEFAULT_PAUSE_SECONDS;
  const parsed = PAUSE_LENGTH.exec(length);
  if (!parsed) throw new AppError(ErrorCode.BadInput, `Pause markup "${markup}" is not a pause length; ${PAUSE_FORMS}.`);
  const seconds = Number(parsed[1]) / (parsed[2].toLowerCase() === 'ms' ? 1000 : 1);
  if (seconds <= 0) {
    throw new AppError(ErrorCode.BadInput, `Pause markup "${markup}" is no pause at all; ${PAUSE_FORMS}.`);
  }
  if (seconds > MAX_PAUSE_SECONDS) {
    throw new AppError(
      ErrorCode.BadInput,
      `Pause markup "${markup}" is longer than the ${MAX_PAUSE_SECONDS} s a pause may last; ${PAUSE_FORMS}, or split the script into scenes.`,
    );
  }
  return seconds;
}

function addSpeech(parts: ScriptPart[], text: string): void {
  const trimmed = text.trim();
  if (trimmed !== '') parts.push({ kind: 'speech', text: trimmed });
}

function addPause(parts: ScriptPart[], seconds: number): void {
  const last = parts.at(-1);
  // Rounded to the millisecond so that 0.1 s + 0.2 s is 0.3 s, not 0.30000000000000004.
  if (last?.kind === 'pause') last.seconds = Math.round((last.seconds + seconds) * 1000) / 1000;
  else parts.push({ kind: 'pause', seconds });
}

/** The words a listener hears in `text`: letters and digits, with inner apostrophes, hyphens and dots, without the punctuation around them. */
export function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{M}\p{N}]+(?:['’.-][\p{L}\p{M}\p{N}]+)*/gu) ?? [];
}

/**
 * Rewrite what a voice reads badly into the words a speaker would say: numbers, decimals,
 * ordinals, years, percentages, money, dates, clock times, units, ranges and common
 * abbreviations. `language` is an espeak-ng language code (en-us, en-gb, de). Give it the speech
 * parts of `parseScript`, not the raw script: pause markup is not protected here.
 */
export function normalizeText(text: string, language: string): string {
  // Only English is rewritten: the number words, date orders and abbreviations here are English
  // ones, and espeak-ng's own rules for its other languages already read their digits.
  if (!/^en(?:[-_]|$)/i.test(language)) return text;
  const monthFirst = /^en[-_]us(?:[-_]|$)/i.test(language);
  let out = expandAbbreviations(text);
  out = sayDates(out, monthFirst);
  out = sayClockTimes(out);
  return sayNumbers(out);
}

// ---- number words -------------------------------------------------------------------------

const ONES = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion', 'quadrillion'];
const IRREGULAR_ORDINALS: Record<string, string> = {
  one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth', twelve: 'twelfth',
};

function spellDigits(digits: string): string {
  return Array.from(digits, (d) => ONES[Number(d)]).join(' ');
}

function underThousand(n: number): string {
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  const words: string[] = [];
  if (hundreds) words.push(`${ONES[hundreds]} hundred`);
  if (rest >= 20) words.push(TENS[Math.floor(rest / 10)] + (rest % 10 ? `-${ONES[rest % 10]}` : ''));
  else if (rest) words.push(ONES[rest]);
  return words.join(' ');
}

/** "1234" -> "one thousand two hundred thirty-four". Leading zeros ("007") and numbers past the quadrillions are read digit by digit. */
function cardinal(digits: string): string {
  if ((digits.length > 1 && digits[0] === '0') || digits.length > SCALES.length * 3) return spellDigits(digits);
  const words: string[] = [];
  for (let end = digits.length, scale = 0; end > 0; end -= 3, scale++) {
    const group = Number(digits.slice(Math.max(0, end - 3), end));
    if (group) words.unshift(scale ? `${underThousand(group)} ${SCALES[scale]}` : underThousand(group));
  }
  return words.length ? words.join(' ') : 'zero';
}

function lastWordSplit(words: string): [string, string] {
  const at = Math.max(words.lastIndexOf(' '), words.lastIndexOf('-')) + 1;
  return [words.slice(0, at), words.slice(at)];
}

/** "twenty-one" -> "twenty-first". */
function ordinal(words: string): string {
  const [head, last] = lastWordSplit(words);
  const said = IRREGULAR_ORDINALS[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return head + said;
}

/** "nineteen ninety" -> "nineteen nineties". */
function plural(words: string): string {
  if (words === 'one hundred' || words === 'one thousand') return `${words.slice(4)}s`;
  const [head, last] = lastWordSplit(words);
  if (last.endsWith('y')) return `${head}${last.slice(0, -1)}ies`;
  return head + last + (last.endsWith('x') ? 'es' : 's');
}

/** 1999 -> "nineteen ninety-nine", 2005 -> "two thousand five", 2024 -> "twenty twenty-four", 1900 -> "nineteen hundred". */
function sayYear(year: number): string {
  if (year < 1000 || year > 9999 || year % 1000 === 0 || (year >= 2000 && year < 2010)) return cardinal(String(year));
  const century = cardinal(String(Math.floor(year / 100)));
  const rest = year % 100;
  if (rest === 0) return `${century} hundred`;
  return rest < 10 ? `${century} oh ${ONES[rest]}` : `${century} ${cardinal(String(rest))}`;
}

/** A two-digit year or the tail of a year range: 5 -> "oh five", 24 -> "twenty-four". */
function sayShortYear(digits: string): string {
  const n = Number(digits);
  return n < 10 ? `oh ${ONES[n]}` : cardinal(String(n));
}

// ---- context around a match -----------------------------------------------------------------

/**
 * Replace each match of `pattern` (global) by what `say` returns for it, or leave it where `say`
 * returns undefined. Built on matchAll: on the many-group number pattern, String.replace with a
 * callback spent 35 ms where matchAll spent 5 ms over 25,000 numbers (Node 20), and a
 * number-dense script has a match every few characters.
 */
function rewrite(text: string, pattern: RegExp, say: (match: RegExpExecArray & { index: number }) => string | undefined): string {
  const pieces: string[] = [];
  let copied = 0;
  for (const match of text.matchAll(pattern)) {
    const said = say(match as RegExpExecArray & { index: number });
    if (said === undefined) continue;
    pieces.push(text.slice(copied, match.index), said);
    copied = match.index + match[0].length;
  }
  if (copied === 0) return text;
  pieces.push(text.slice(copied));
  return pieces.join('');
}

/** A match's named groups; every pattern given to it here has some. */
function groupsOf(match: RegExpExecArray): Record<string, string | undefined> {
  return match.groups as Record<string, string | undefined>;
}

/** How far context lookups walk, so that each costs a bounded amount whatever the text. */
const CONTEXT_CHARS = 40;

/** The word right before `offset` (only spaces between), and whether it begins a sentence. */
function wordBefore(text: string, offset: number): { word: string; startsSentence: boolean } | undefined {
  let end = offset;
  while (end > 0 && offset - end < CONTEXT_CHARS && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  let start = end;
  while (start > 0 && end - start < CONTEXT_CHARS && /[\p{L}\p{M}\p{N}'’-]/u.test(text[start - 1])) start--;
  if (start === end) return undefined;
  let before = start;
  while (before > 0 && start - before < CONTEXT_CHARS && /\s/.test(text[before - 1])) before--;
  const startsSentence = before === 0 || /[.!?:;"“(\n]/.test(text[before - 1]) || text.slice(before, start).includes('\n');
  return { word: text.slice(start, end), startsSentence };
}

/** The word right after `end` (only spaces between), or undefined where punctuation or the end comes first. */
function wordAfter(text: string, end: number): string | undefined {
  let start = end;
  while (start < text.length && start - end < CONTEXT_CHARS && (text[start] === ' ' || text[start] === '\t')) start++;
  let stop = start;
  while (stop < text.length && stop - start < CONTEXT_CHARS && /[\p{L}'’]/u.test(text[stop])) stop++;
  return stop > start ? text.slice(start, stop) : undefined;
}

function capitalAfter(text: string, end: number): boolean {
  let at = end;
  while (at < text.length && at - end < CONTEXT_CHARS && (text[at] === ' ' || text[at] === '\t')) at++;
  return at < text.length && /\p{Lu}/u.test(text[at]);
}

/** Whether a full stop just before `end` also ends the sentence: the text ends, or a new line or capital follows. */
function endsSentence(text: string, end: number): boolean {
  if (end >= text.length) return true;
  if (!/\s/.test(text[end])) return false;
  let at = end;
  while (at < text.length && at - end < CONTEXT_CHARS && /\s/.test(text[at])) {
    if (text[at] === '\n') return true;
    at++;
  }
  return at >= text.length || /[\p{Lu}"“‘']/u.test(text[at]);
}

/** Before a full stop that the expansion swallowed, put the full stop back where it also ended the sentence. */
function withFullStop(words: string, match: string, text: string, end: number): string {
  return match.endsWith('.') && endsSentence(text, end) ? `${words}.` : words;
}

// ---- abbreviations --------------------------------------------------------------------------

/**
 * Titles and street words with or without their full stop (British style drops it: "Mr Smith"),
 * the others only with it ("Ave Maria" is no avenue); "No." only before a number.
 */
const ABBREVIATION =
  /(?<![\p{L}\p{N}.'’])(?:(?<latin>[Ee]\.g|[Ii]\.e)\.|(?<bare>Mrs|Mr|Ms|Dr|St|Mt|[Vv]s|[Ee]tc)(?:\.|(?![\p{L}\p{N}]))|(?<dotted>Prof|Jr|Sr|Ave|Rd|[Aa]pprox|[Nn]o)\.)|(?<![\p{L}\p{N}&#])#(?=\d)/gu;

const LATIN: Record<string, string> = {
  'e.g': 'for example',
  'i.e': 'that is',
  vs: 'versus',
  etc: 'et cetera',
  approx: 'approximately',
  no: 'number',
};

function expandAbbreviations(text: string): string {
  return rewrite(text, ABBREVIATION, (match) => {
    if (match[0] === '#') return 'number ';
    const groups = groupsOf(match);
    const key = (groups.latin ?? groups.bare ?? groups.dotted) as string;
    const end = match.index + match[0].length;
    const expansion = expand(key, text, match.index, end);
    if (!expansion) return undefined;
    const [words, mayEndSentence] = expansion;
    // "No.5" and "Dr.Smith" need a space once they are words.
    if (/[\p{L}\p{N}]/u.test(text[end] ?? '')) return `${words} `;
    return mayEndSentence ? withFullStop(words, match[0], text, end) : words;
  });
}

/** The words for an abbreviation, and whether they can end a sentence (a title before a name cannot). */
function expand(key: string, text: string, offset: number, end: number): [string, boolean] | undefined {
  switch (key) {
    case 'Mr': return ['Mister', false];
    case 'Mrs': return ['Missus', false];
    case 'Ms': return ['Miz', false];
    case 'Prof': return ['Professor', false];
    case 'Mt': return ['Mount', false];
    case 'Jr': return ['Junior', true];
    case 'Sr': return ['Senior', true];
    case 'Ave': return ['Avenue', true];
    case 'Rd': return ['Road', true];
    // "Elm Dr." and "5th St." follow a name or number; "Dr. Smith" and "St. Louis" precede one.
    case 'Dr': return followsName(text, offset) ? ['Drive', true] : ['Doctor', false];
    case 'St': return followsName(text, offset) || !capitalAfter(text, end) ? ['Street', true] : ['Saint', false];
  }
  const lower = key.toLowerCase();
  if (lower === 'no' && !/^\s?\d/.test(text.slice(end, end + 2))) return undefined;
  const words = LATIN[lower];
  return [key[0] === lower[0] ? words : words[0].toUpperCase() + words.slice(1), lower === 'etc'];
}

/** Whether the word before is a number ("5th") or a capitalised word that does not just start the sentence ("Main"). */
function followsName(text: string, offset: number): boolean {
  const before = wordBefore(text, offset);
  if (!before) return false;
  if (/^\d+(?:st|nd|rd|th)?$/.test(before.word)) return true;
  return !before.startsSentence && /^\p{Lu}[\p{L}'’-]+$/u.test(before.word);
}

// ---- dates ----------------------------------------------------------------------------------

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_BY_NAME = new Map<string, number>([
  ...MONTHS.map((name, i) => [name, i] as const),
  ...MONTHS.map((name, i) => [name.slice(0, 3), i] as const),
  ['Sept', 8],
]);
const MONTH_NAME = [...MONTH_BY_NAME.keys()].sort((a, b) => b.length - a.length).join('|');
/** A number that is not part of a longer number ("2024" but not "2024.5" or "3,000"). */
const NUMBER_ENDS = String.raw`(?![\p{L}\p{N}]|[.,]\d)`;

const ISO_DATE = /(?<![\p{L}\p{N}/.-])(\d{4})-(\d{2})-(\d{2})(?![\p{L}\p{N}]|-\d)/gu;
const SLASH_DATE = /(?<![\p{L}\p{N}/.])(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})(?![\p{L}\p{N}]|\/\d)/gu;
const MONTH_DAY = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(${MONTH_NAME})\.?\s+(\d{1,2})(?:st|nd|rd|th)?${NUMBER_ENDS}(?:,?\s+(\d{4})${NUMBER_ENDS})?`,
  'gu',
);
const DAY_MONTH = new RegExp(
  String.raw`(?<![\p{L}\p{N}.,])(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(${MONTH_NAME})\.?(?!\p{L})(?:,?\s+(\d{4})${NUMBER_ENDS})?`,
  'gu',
);

function sayDates(text: string, monthFirst: boolean): string {
  let out = rewrite(text, ISO_DATE, ([, year, month, day]) =>
    sayDate(Number(month) - 1, Number(day), sayYear(Number(year)), monthFirst),
  );
  out = rewrite(out, SLASH_DATE, ([, first, second, year]) => {
    // Month first in the US, day first elsewhere; a first number over 12 can only be a day.
    const [month, day] = (monthFirst && Number(first) <= 12) || Number(second) > 12 ? [first, second] : [second, first];
    const yearWords = year.length === 4 ? sayYear(Number(year)) : sayShortYear(year);
    return sayDate(Number(month) - 1, Number(day), yearWords, monthFirst);
  });
  out = rewrite(out, MONTH_DAY, ([, month, day, year]) =>
    sayDate(MONTH_BY_NAME.get(month) as number, Number(day), year && sayYear(Number(year)), true),
  );
  return rewrite(out, DAY_MONTH, (match) => {
    const [whole, day, month, year] = match;
    const said = sayDate(MONTH_BY_NAME.get(month) as number, Number(day), year && sayYear(Number(year)), false);
    if (said === undefined) return undefined;
    // "the 5th of May" already has its "the".
    const spoken = wordBefore(match.input, match.index)?.word.toLowerCase() === 'the' ? said.slice('the '.length) : said;
    return year ? spoken : withFullStop(spoken, whole, match.input, match.index + whole.length);
  });
}

function sayDate(month: number, day: number, year: string | undefined, monthFirst: boolean): string | undefined {
  if (month < 0 || month > 11 || day < 1 || day > DAYS_IN_MONTH[month]) return undefined;
  const date = monthFirst ? `${MONTHS[month]} ${ordinal(cardinal(String(day)))}` : `the ${ordinal(cardinal(String(day)))} of ${MONTHS[month]}`;
  return year ? `${date}, ${year}` : date;
}

// ---- clock times ----------------------------------------------------------------------------

/** "3:30", "10:05:30", "3:30 pm", "3pm", "3 p.m."; a bare number also matches and is left alone. */
const CLOCK_TIME =
  /(?<![\p{L}\p{N}:.,])(?<hour>\d{1,2})(?::(?<minute>\d{2})(?::(?<second>\d{2}))?)?(?:\s?(?<meridiem>[AaPp])\.?\s?[Mm]\.?(?![\p{L}\p{N}]))?(?![\p{N}]|[:.,]\d)/gu;

function sayClockTimes(text: string): string {
  return rewrite(text, CLOCK_TIME, (match) => {
    const groups = groupsOf(match);
    const hour = Number(groups.hour);
    const minute = Number(groups.minute ?? 0);
    const second = Number(groups.second ?? 0);
    const meridiem = groups.meridiem?.toLowerCase();
    if (groups.minute === undefined && !meridiem) return undefined;
    if (hour > 23 || minute > 59 || second > 59 || (meridiem && (hour < 1 || hour > 12))) return undefined;
    let words = cardinal(String(hour));
    if (minute >= 10) words += ` ${cardinal(String(minute))}`;
    else if (minute > 0) words += ` oh ${ONES[minute]}`;
    else if (!meridiem) words += hour >= 1 && hour <= 12 ? " o'clock" : ' hundred';
    if (second) words += ` and ${cardinal(String(second))} second${second === 1 ? '' : 's'}`;
    // Letter by letter, as people say them.
    if (meridiem) words = withFullStop(`${words} ${meridiem} m`, match[0], text, match.index + match[0].length);
    return words;
  });
}

// ---- numbers, money, percentages, units, ranges -----------------------------------------------

const UNITS: Record<string, [string, string]> = {
  km: ['kilometer', 'kilometers'],
  m: ['meter', 'meters'],
  cm: ['centimeter', 'centimeters'],
  mm: ['millimeter', 'millimeters'],
  'm²': ['square meter', 'square meters'],
  'km²': ['square kilometer', 'square kilometers'],
  mi: ['mile', 'miles'],
  ft: ['foot', 'feet'],
  yd: ['yard', 'yards'],
  kg: ['kilogram', 'kilograms'],
  g: ['gram', 'grams'],
  mg: ['milligram', 'milligrams'],
  lb: ['pound', 'pounds'],
  lbs: ['pound', 'pounds'],
  oz: ['ounce', 'ounces'],
  l: ['liter', 'liters'],
  L: ['liter', 'liters'],
  ml: ['milliliter', 'milliliters'],
  mL: ['milliliter', 'milliliters'],
  mph: ['mile per hour', 'miles per hour'],
  'km/h': ['kilometer per hour', 'kilometers per hour'],
  kph: ['kilometer per hour', 'kilometers per hour'],
  ms: ['millisecond', 'milliseconds'],
  sec: ['second', 'seconds'],
  min: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  hr: ['hour', 'hours'],
  hrs: ['hour', 'hours'],
  KB: ['kilobyte', 'kilobytes'],
  kB: ['kilobyte', 'kilobytes'],
  MB: ['megabyte', 'megabytes'],
  GB: ['gigabyte', 'gigabytes'],
  TB: ['terabyte', 'terabytes'],
  Hz: ['hertz', 'hertz'],
  kHz: ['kilohertz', 'kilohertz'],
  MHz: ['megahertz', 'megahertz'],
  GHz: ['gigahertz', 'gigahertz'],
  kW: ['kilowatt', 'kilowatts'],
  kWh: ['kilowatt hour', 'kilowatt hours'],
  '°C': ['degree Celsius', 'degrees Celsius'],
  '°F': ['degree Fahrenheit', 'degrees Fahrenheit'],
  '°': ['degree', 'degrees'],
};
/** Units read only when written against the number ("60W"): apart, "5 W" is as likely a direction. */
const TIGHT_UNITS: Record<string, [string, string]> = { W: ['watt', 'watts'], V: ['volt', 'volts'] };

const CURRENCIES: Record<string, { one: string; many: string; cent?: string; cents?: string }> = {
  $: { one: 'dollar', many: 'dollars', cent: 'cent', cents: 'cents' },
  '£': { one: 'pound', many: 'pounds', cent: 'penny', cents: 'pence' },
  '€': { one: 'euro', many: 'euros', cent: 'cent', cents: 'cents' },
  '¥': { one: 'yen', many: 'yen' },
};

const SCALE_WORDS: Record<string, string> = {
  thousand: 'thousand', million: 'million', billion: 'billion', trillion: 'trillion',
  k: 'thousand', K: 'thousand', m: 'million', M: 'million', mn: 'million',
  B: 'billion', bn: 'billion', T: 'trillion', tn: 'trillion',
};

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const UNIT_NAME = Object.keys(UNITS).sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
const INTEGER = String.raw`\d{1,3}(?:,\d{3})+(?!\d)|\d+`;
const SCALE = String.raw`\s(?:thousand|million|billion|trillion)(?!\p{L})|(?:bn|mn|tn|k|K|m|M|B|T)(?![\p{L}\p{N}])`;
const SIDE = (n: string): string =>
  String.raw`(?<cur${n}>[$£€¥])?(?<int${n}>${INTEGER})(?<frac${n}>(?:\.\d+)*)(?<scale${n}>${SCALE})?`;

/**
 * A number glued to a word ("mp3", "H2O", "v1.2.3") stays as written: the lookbehinds refuse a
 * letter or digit before it, or one followed by a dot. A hyphenated run of three or more numbers
 * is a phone number or code, read digit by digit. Otherwise: sign, amount, an optional range to a
 * second amount, then one suffix.
 */
const NUMBER = new RegExp(
  String.raw`(?<![\p{L}\p{N}_])(?<![\p{L}\p{N}_]\.)(?:(?<code>\d+(?:-\d+){2,})` +
    String.raw`|(?:['’](?=\d0s))?(?<sign>[-−+](?=[$£€¥]?\d))?${SIDE('1')}` +
    String.raw`(?:(?:[-–—]|\s[–—]\s)${SIDE('2')})?` +
    String.raw`(?:(?<percent>\s?%)|(?<ordinal>st|nd|rd|th)|(?<plural>['’]?s)|[ \u00a0]?(?<unit>${UNIT_NAME})|(?<tight>[WV]))?)` +
    String.raw`(?![\p{L}\p{N}_])`,
  'gu',
);

interface Amount {
  int: string;
  frac: string;
  scale?: string;
}

function sayNumbers(text: string): string {
  return rewrite(text, NUMBER, (match) => {
    const groups = groupsOf(match);
    if (groups.code !== undefined) return groups.code.split('-').map(spellDigits).join(', ');
    return sayQuantity(groups, text, match.index, match.index + match[0].length);
  });
}

function sayQuantity(groups: Record<string, string | undefined>, text: string, offset: number, end: number): string | undefined {
  const first: Amount = { int: groups.int1 as string, frac: groups.frac1 as string, scale: groups.scale1?.trim() };
  const second: Amount | undefined = groups.int2 ? { int: groups.int2, frac: groups.frac2 as string, scale: groups.scale2?.trim() } : undefined;
  const sign = groups.sign === '+' ? 'plus ' : groups.sign ? 'minus ' : '';
  const currency = groups.cur1 ?? groups.cur2;
  let unit = groups.unit ? UNITS[groups.unit] : groups.tight ? TIGHT_UNITS[groups.tight] : undefined;
  const hasSuffix = Boolean(unit || groups.percent || groups.ordinal || groups.plural);

  if (currency) return hasSuffix ? undefined : sign + sayMoney(CURRENCIES[currency], first, second);

  // Without money, "5m" is five meters and "4K" is a screen resolution, not four thousand.
  const scales = [first.scale, second?.scale];
  if (scales.includes('K')) return undefined;
  if (scales.includes('m')) {
    if (hasSuffix || (first.scale && first.scale !== 'm') || (second?.scale && second.scale !== 'm')) return undefined;
    unit = UNITS.m;
    first.scale = undefined;
    if (second) second.scale = undefined;
  }

  const yearLike =
    !sign && !unit && !groups.percent && !groups.ordinal && isYearShaped(first) &&
    (!second || isYearShaped(second) || (/^\d{2}$/.test(second.int) && !second.frac && !second.scale));
  if (groups.plural) {
    return plural(yearLike && !second ? sayYear(Number(first.int)) : sayRange(first, second, false));
  }
  if (groups.ordinal) return first.frac || second ? undefined : ordinal(cardinal(first.int.replace(/,/g, '')));
  const asYears = yearLike && readsAsYear(text, offset, end);
  const value = sign + sayRange(first, second, asYears);
  if (groups.percent) return `${value} percent`;
  if (unit) return `${value} ${!second && !sign && first.int === '1' && !first.frac ? unit[0] : unit[1]}`;
  return value;
}

function sayAmount(amount: Amount): string {
  let words = cardinal(amount.int.replace(/,/g, ''));
  for (const part of amount.frac.split('.').slice(1)) words += ` point ${spellDigits(part)}`;
  if (amount.scale) words += ` ${SCALE_WORDS[amount.scale]}`;
  return words;
}

function sayRange(first: Amount, second: Amount | undefined, asYears: boolean): string {
  if (!asYears) return second ? `${sayAmount(first)} to ${sayAmount(second)}` : sayAmount(first);
  const from = sayYear(Number(first.int));
  if (!second) return from;
  return `${from} to ${second.int.length === 2 ? sayShortYear(second.int) : sayYear(Number(second.int))}`;
}

function sayMoney(currency: (typeof CURRENCIES)[string], first: Amount, second: Amount | undefined): string {
  const hasCents = (a: Amount | undefined): boolean => Boolean(a && a.frac && !a.scale && currency.cents && /^\.\d{1,2}$/.test(a.frac));
  if (second && !hasCents(first) && !hasCents(second)) {
    return `${sayAmount(first)} to ${sayAmount(second)} ${currency.many}`;
  }
  const one = (a: Amount): string => {
    if (!hasCents(a)) return `${sayAmount(a)} ${!a.frac && !a.scale && a.int === '1' ? currency.one : currency.many}`;
    const whole = a.int.replace(/,/g, '');
    const cents = Number(a.frac.slice(1).padEnd(2, '0'));
    const parts: string[] = [];
    if (Number(whole)) parts.push(`${cardinal(whole)} ${whole === '1' ? currency.one : currency.many}`);
    if (cents) parts.push(`${cardinal(String(cents))} ${cents === 1 ? currency.cent : currency.cents}`);
    return parts.length ? parts.join(' and ') : `zero ${currency.many}`;
  };
  return second ? `${one(first)} to ${one(second)}` : one(first);
}

function isYearShaped(amount: Amount): boolean {
  if (amount.frac || amount.scale || !/^\d{4}$/.test(amount.int)) return false;
  const n = Number(amount.int);
  return n >= 1000 && n <= 2099;
}

/** Words before a number that make it a year ("in 1999", "March 2024"). */
const YEAR_BEFORE = new Set([
  'in', 'since', 'by', 'from', 'until', 'till', 'before', 'after', 'during', 'circa', 'year', 'early', 'mid', 'late',
  'spring', 'summer', 'autumn', 'fall', 'winter', 'between', 'through', 'throughout',
  ...MONTHS.map((m) => m.toLowerCase()),
]);
/** Words before a number that make it a count or a label ("page 1234"). */
const NOT_YEAR_BEFORE = new Set([
  'page', 'pages', 'number', 'no', 'room', 'route', 'flight', 'chapter', 'item', 'code', 'pin', 'step', 'suite',
  'unit', 'box', 'line', 'verse', 'exit', 'highway', 'apartment', 'about', 'over', 'under', 'nearly', 'almost',
  'approximately', 'only', 'just', 'than', 'least', 'most', 'some',
]);
/** Lowercase words that follow a year as readily as a count: function words and common verbs. */
const YEAR_AFTER = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'so', 'to', 'at', 'in', 'on', 'for', 'with', 'as', 'of', 'by', 'from',
  'when', 'where', 'which', 'that', 'who', 'while', 'after', 'before', 'until', 'through', 'onwards', 'onward',
  'i', 'we', 'you', 'he', 'she', 'it', 'they', 'our', 'my', 'his', 'her', 'its', 'their', 'this', 'there',
  'is', 'was', 'were', 'will', 'would', 'had', 'has', 'have', 'saw', 'brought', 'marked', 'became', 'began', 'ended',
  'election', 'elections', 'season', 'census', 'edition', 'model', 'olympics', 'budget', 'report', 'survey',
]);

/**
 * Whether a year-shaped number (1000 to 2099) reads as a year here: after "in", a month or the
 * like, yes; after "page" or "about", no; otherwise a year unless a noun follows that it counts
 * ("1500 people").
 */
function readsAsYear(text: string, offset: number, end: number): boolean {
  const before = wordBefore(text, offset)?.word.toLowerCase();
  if (before && NOT_YEAR_BEFORE.has(before)) return false;
  if (before && YEAR_BEFORE.has(before)) return true;
  const after = wordAfter(text, end);
  return !(after && /^\p{Ll}/u.test(after) && !YEAR_AFTER.has(after));
}
