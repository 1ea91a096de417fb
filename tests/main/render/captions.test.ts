import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../../src-main/media/ffmpeg';
import { resourcesDir } from '../../../src-main/paths';
import { buildCues, captionStyleFor, toAss, toSrt, toVtt, type CaptionLook, type Cue, type TimedWord } from '../../../src-main/render/captions';
import { filterPath } from '../../../src-main/render/compose';
import { synthesizeEspeak } from '../../../src-main/voices/espeak';

/** Words as a voice would time them: longer words take longer, punctuation brings a pause. */
function speak(script: string, from = 0.3): TimedWord[] {
  let t = from;
  return script
    .split(/\s+/)
    .filter(Boolean)
    .map((text) => {
      const start = t;
      const end = start + 0.08 + 0.055 * text.length;
      t = end + (/[.!?]$/.test(text) ? 0.4 : /[,;:]$/.test(text) ? 0.18 : 0.05);
      return { text, start, end };
    });
}

const SCRIPT = [
  'Welcome to Mouthpiece. In the next two minutes, I will show you how to turn a plain script into a video with a presenter',
  "who speaks your words, in your brand's colours, without a camera or a studio. First, write what you want to say.",
  'Keep your sentences short: people listen better when every idea has room to breathe. Then pick a template; each one sets',
  "the background, the presenter's place in the frame and the look of the captions. If your company has a logo and colours,",
  'add them once and every video you make will carry them. Finally, press render! Everything happens on your own computer,',
  'so your script never leaves it, and the finished video, with its subtitles in SRT and WebVTT beside it, is ready to share.',
  'Questions? Our documentation covers installation, templates, voices, brand settings, hardware encoding and much more,',
  'and the community forum answers the rest within a day or so.',
].join(' ');

const LOOK: CaptionLook = { style: 'highlight', size: 0.08, colour: '#ffffff', highlight: '#ff6600', outline: '#000000', marginBottom: 0.08 };

const words = (cue: Cue) => cue.words.flat();

describe('caption cues', () => {
  const spoken = speak(SCRIPT);
  const cues = buildCues(spoken);

  it('keep every cue of a long script to at most two lines of at most 42 characters, in order, with every word', () => {
    expect(cues.length).toBeGreaterThan(10);
    for (const cue of cues) {
      expect(cue.lines.length).toBeGreaterThanOrEqual(1);
      expect(cue.lines.length).toBeLessThanOrEqual(2);
      for (const line of cue.lines) expect(line.length, line).toBeLessThanOrEqual(42);
      expect(cue.lines).toEqual(cue.words.map((line) => line.map((w) => w.text).join(' ')));
    }
    expect(cues.flatMap(words).map((w) => w.text)).toEqual(spoken.map((w) => w.text));
  });

  it('never leave a word alone on a line or in a cue of the long script', () => {
    const lonely = cues.flatMap((cue) => cue.words.filter((line) => line.length === 1).map((line) => line[0].text));
    expect(lonely).toEqual([]);
  });

  it('end every cue of the long script at a sentence, a clause, or before a conjunction or preposition', () => {
    const phraseStarts = new Set(['and', 'but', 'or', 'so', 'if', 'when', 'with', 'without', 'in', 'on', 'to', 'of', 'for', 'who', 'that']);
    for (const cue of cues.slice(0, -1)) {
      const last = words(cue).at(-1)!.text;
      const next = cues[cues.indexOf(cue) + 1].words[0][0].text;
      expect(/[.!?,;:]$/.test(last) || phraseStarts.has(next), `${last} | ${next}`).toBe(true);
    }
  });

  it('break a line after the comma rather than fill it up to a dangling article', () => {
    // Filled greedily, the first line would be "The team spent three months on it, and the".
    const [cue, ...rest] = buildCues(speak('The team spent three months on it, and the results were worth it.'));
    expect(rest).toEqual([]);
    expect(cue.lines).toEqual(['The team spent three months on it,', 'and the results were worth it.']);
  });

  it('end a cue at the phrase boundary and break its lines before a preposition when the text needs two cues', () => {
    const split = buildCues(speak('We tested the new engine on every road in the country, and it never once failed us.'));
    expect(split.map((c) => c.lines)).toEqual([['We tested the new engine', 'on every road in the country,'], ['and it never once failed us.']]);
  });

  it('give up the comma break rather than leave one word alone on the second line', () => {
    const [cue] = buildCues(speak('Honestly, the results look great, congratulations!'));
    expect(cue.lines).toEqual(['Honestly, the results look', 'great, congratulations!']);
  });

  it('break before a phrase instead of leaving one word on the second line', () => {
    // Filled greedily: "Please remember to bring your laptop" and "tomorrow." alone.
    const [cue] = buildCues(speak('Please remember to bring your laptop tomorrow.'));
    expect(cue.lines).toEqual(['Please remember', 'to bring your laptop tomorrow.']);
  });

  it('give a word longer than a line a line of its own and keep going', () => {
    const long = 'Pneumonoultramicroscopicsilicovolcanoconiosis-like';
    expect(long.length).toBeGreaterThan(42);
    const result = buildCues(speak(`They said the word ${long} twice, and then they stopped talking.`));
    const lines = result.flatMap((c) => c.lines);
    expect(lines).toContain(long);
    expect(result.flatMap(words).map((w) => w.text).join(' ')).toBe(`They said the word ${long} twice, and then they stopped talking.`);
    for (const line of lines.filter((l) => l !== long)) expect(line.length).toBeLessThanOrEqual(42);
  });

  it('are in time order, never overlap, stay inside the speech and show every word while it is spoken', () => {
    const first = spoken[0].start;
    const last = spoken.at(-1)!.end;
    cues.forEach((cue, i) => {
      expect(cue.end).toBeGreaterThan(cue.start);
      expect(cue.start).toBeGreaterThanOrEqual(first);
      expect(cue.end).toBeLessThanOrEqual(last);
      if (i > 0) expect(cue.start).toBeGreaterThanOrEqual(cues[i - 1].end);
      for (const w of words(cue)) {
        expect(w.start).toBeGreaterThanOrEqual(cue.start);
        expect(w.end).toBeLessThanOrEqual(cue.end);
      }
    });
  });

  it('keep a short cue up for 0.7 s when the next one starts later, and never into the next one', () => {
    const hello = { text: 'Hello.', start: 1, end: 1.3 };
    const after = (gap: number) => speak('This is the rest of what I wanted to say today.', 1.3 + gap);
    const [roomy] = buildCues([hello, ...after(3)]);
    expect(roomy.lines).toEqual(['Hello.']);
    expect(roomy.start).toBe(1);
    expect(roomy.end).toBeCloseTo(1.7, 6);
    // Too long to share a cue with "Hello.", and only 0.3 s after it.
    const long = speak('This sentence is long enough to fill both lines of a caption all by itself, really.', 1.6);
    const [tight, next] = buildCues([hello, ...long]);
    expect(tight.lines).toEqual(['Hello.']);
    expect(next.start).toBe(1.6);
    expect(tight.end).toBe(1.6);
  });

  it('from real espeak timings, stay within the limits and show every word while it is spoken', async () => {
    const speech = await synthesizeEspeak(SCRIPT.slice(0, 400), { voice: 'en-us' });
    const real = buildCues(speech.words);
    expect(real.flatMap(words).map((w) => w.text)).toEqual(speech.words.map((w) => w.text.replace(/\s+/g, ' ').trim()).filter(Boolean));
    real.forEach((cue, i) => {
      expect(cue.lines.length).toBeLessThanOrEqual(2);
      for (const line of cue.lines) expect(line.length, line).toBeLessThanOrEqual(42);
      if (i > 0) expect(cue.start).toBeGreaterThanOrEqual(real[i - 1].end);
      for (const w of words(cue)) expect(w.start >= cue.start && w.end <= cue.end, w.text).toBe(true);
    });
  });

  it('accept words out of order and blank words without losing any', () => {
    const mixed = [spoken[2], { text: '  ', start: 0.1, end: 0.2 }, spoken[0], spoken[1]];
    expect(buildCues(mixed).flatMap(words).map((w) => w.text)).toEqual(spoken.slice(0, 3).map((w) => w.text));
    expect(buildCues([])).toEqual([]);
  });
});

/** [start ms, end ms, lines] of each cue of an SRT or WebVTT file. */
function parseSubtitles(text: string): { start: number; end: number; lines: string[] }[] {
  const ms = (clock: string) => {
    const [, h, m, s, milli] = /^(\d\d):(\d\d):(\d\d)[.,](\d\d\d)$/.exec(clock)!;
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(milli);
  };
  return text
    .replace(/^WEBVTT\n/, '')
    .split(/\n\n+/)
    .filter((block) => block.trim())
    .map((block) => {
      const rows = block.split('\n').filter(Boolean);
      const at = rows.findIndex((r) => r.includes(' --> '));
      const [start, end] = rows[at].split(' --> ');
      return { start: ms(start), end: ms(end), lines: rows.slice(at + 1) };
    });
}

describe('subtitle files', () => {
  const cues = buildCues(speak(SCRIPT, 3599.5));

  it('SRT numbers its cues and parses back to the same times to the millisecond', () => {
    const srt = toSrt(cues);
    expect(srt.split('\n\n')[0].split('\n')[0]).toBe('1');
    expect(srt).toMatch(/^1\n00:59:59,500 --> 01:00:0\d,\d{3}\n/);
    const parsed = parseSubtitles(srt);
    expect(parsed).toEqual(cues.map((c) => ({ start: Math.round(c.start * 1000), end: Math.round(c.end * 1000), lines: c.lines })));
  });

  it('WebVTT starts with its header, parses back to the same times, and escapes markup', () => {
    const vtt = toVtt(cues);
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    expect(parseSubtitles(vtt)).toEqual(cues.map((c) => ({ start: Math.round(c.start * 1000), end: Math.round(c.end * 1000), lines: c.lines })));
    const marked = toVtt(buildCues(speak('Use <b> & --> carefully.')));
    expect(parseSubtitles(marked)[0].lines).toEqual(['Use &lt;b&gt; &amp; --&gt; carefully.']);
  });
});

interface AssEvent {
  start: number;
  end: number;
  text: string;
}

function assEvents(ass: string): AssEvent[] {
  const cs = (clock: string) => {
    const [, h, m, s, c] = /^(\d+):(\d\d):(\d\d)\.(\d\d)$/.exec(clock)!;
    return (((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 100 + Number(c)) / 100;
  };
  return ass
    .split('\n')
    .filter((l) => l.startsWith('Dialogue: '))
    .map((line) => {
      const fields = line.slice('Dialogue: '.length).split(',');
      return { start: cs(fields[1]), end: cs(fields[2]), text: fields.slice(9).join(',') };
    });
}

describe('ASS captions', () => {
  const size = { width: 1280, height: 720 };
  const spoken = speak(SCRIPT);
  const cues = buildCues(spoken);
  const lit = (word: string, colour = '&H0066FF&') => `{\\1c${colour}}${word}{\\1c&HFFFFFF&}`;
  const activeCueStart = (t: number) => cues.find((c) => c.start <= t && t < c.end)!.start;
  const activeAt = (events: AssEvent[], t: number) => events.filter((e) => e.start <= t && t < e.end);

  it('highlight the word being spoken, in exactly one event at a time', () => {
    const events = assEvents(toAss(cues, LOOK, size));
    for (const [k, word] of spoken.entries()) {
      const active = activeAt(events, (word.start + word.end) / 2);
      expect(active, word.text).toHaveLength(1);
      expect(active[0].text.match(/\\1c&H0066FF&/g)).toHaveLength(1);
      // The k-th word of the script is lit: count the words before the lit one.
      const before = active[0].text.split(lit(word.text))[0];
      const first = spoken.findIndex((w) => w.start === activeCueStart(word.start));
      expect(first + before.split(/ |\\N/).filter(Boolean).length).toBe(k);
    }
  });

  it('keep the last spoken word lit through the pause before the next', () => {
    const events = assEvents(toAss(cues, LOOK, size));
    const comma = spoken.findIndex((w) => w.text === 'minutes,');
    const pause = (spoken[comma].end + spoken[comma + 1].start) / 2;
    const active = activeAt(events, pause);
    expect(active).toHaveLength(1);
    expect(active[0].text).toContain(lit('minutes,'));
  });

  it("use the project's brand colour for the highlight and the project's style over the template's", () => {
    const template = { captions: { ...LOOK, highlight: '#facc15' } };
    expect(captionStyleFor(template, {}).highlight).toBe('#facc15');
    const look = captionStyleFor(template, { brand: { primary: '#12ab34' }, captions: {} });
    expect(look).toEqual({ ...LOOK, highlight: '#12ab34' });
    expect(assEvents(toAss(cues, look, size))[0].text).toContain(lit(spoken[0].text, '&H34AB12&'));
    expect(captionStyleFor(template, { captions: { style: 'boxed' } }).style).toBe('boxed');
  });

  it('plain and boxed show each cue once with no colour changes; boxed draws an opaque box', () => {
    for (const style of ['plain', 'boxed'] as const) {
      const ass = toAss(cues, { ...LOOK, style }, size);
      const events = assEvents(ass);
      expect(events.map((e) => e.text.replace('{\\ybord0}', ''))).toEqual(cues.map((c) => c.lines.join('\\N')));
      expect(ass).not.toContain('\\1c');
      const styleLine = ass.split('\n').find((l) => l.startsWith('Style: '))!.split(',');
      expect(styleLine[15]).toBe(style === 'boxed' ? '3' : '1');
    }
  });

  it("'none' writes a valid file with no events", () => {
    const ass = toAss(cues, { ...LOOK, style: 'none' }, size);
    expect(ass).toContain('[Events]');
    expect(ass).toContain('Style: Caption,Inter,');
    expect(assEvents(ass)).toEqual([]);
  });

  it('never lets script text open an override block or a line break', () => {
    const ass = toAss(buildCues(speak('Type {\\b1} or C:\\New folder here.')), { ...LOOK, style: 'plain' }, size);
    const [event] = assEvents(ass);
    expect(event.text).not.toMatch(/[{}]/);
    expect(event.text).not.toMatch(/\\[Nnh]/);
  });
});

describe('burned-in captions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-captions-'));
  const size = { width: 640, height: 360 };
  // One word per 0.3 s; the frame at 1.1 s falls inside the fourth word.
  const spoken = 'Welcome to Mouthpiece, where your script becomes a video.'.split(' ').map((text, i) => ({ text, start: 0.2 + 0.3 * i, end: 0.45 + 0.3 * i }));

  /** The frame at `t` with captions in `look`, as RGB bytes, over a grey background. */
  async function frameAt(look: CaptionLook, t: number): Promise<Uint8Array> {
    const ass = join(dir, `${look.style}.ass`);
    writeFileSync(ass, toAss(buildCues(spoken), look, size));
    const out = join(dir, `${look.style}.rgb`);
    await runFfmpeg({
      args: [
        ...['-f', 'lavfi', '-i', `color=c=0x808080:s=${size.width}x${size.height}:r=25:d=3`],
        ...['-vf', `format=rgb24,subtitles=filename=${filterPath(ass)}:fontsdir=${filterPath(join(resourcesDir(), 'fonts'))}`],
        ...['-ss', String(t), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', out],
      ],
      what: 'caption burn test',
    });
    return new Uint8Array(readFileSync(out));
  }

  /** Pixels in the lower third matching `test`. */
  function count(frame: Uint8Array, test: (r: number, g: number, b: number) => boolean): number {
    let n = 0;
    for (let p = Math.floor((size.height * 2) / 3) * size.width * 3; p < frame.length; p += 3) if (test(frame[p], frame[p + 1], frame[p + 2])) n++;
    return n;
  }
  const orange = (r: number, g: number, b: number) => r > 200 && g > 70 && g < 140 && b < 50;
  const white = (r: number, g: number, b: number) => r > 230 && g > 230 && b > 230;
  const dark = (r: number, g: number, b: number) => r < 60 && g < 60 && b < 60;

  it('libass paints the spoken word in the highlight colour, and plain captions have none of it', async () => {
    const highlighted = await frameAt(LOOK, 1.1);
    const plain = await frameAt({ ...LOOK, style: 'plain' }, 1.1);
    expect(highlighted).toHaveLength(size.width * size.height * 3);
    expect(count(highlighted, orange)).toBeGreaterThan(50);
    expect(count(plain, orange)).toBe(0);
    expect(count(plain, white)).toBeGreaterThan(200);
  });

  it('boxed captions sit on a dark box and none burns nothing in', async () => {
    const boxed = await frameAt({ ...LOOK, style: 'boxed' }, 1.1);
    const plain = await frameAt({ ...LOOK, style: 'plain' }, 1.1);
    // The box fills the space between the letters that the plain style leaves grey.
    expect(count(boxed, dark)).toBeGreaterThan(3 * count(plain, dark));
    const none = await frameAt({ ...LOOK, style: 'none' }, 1.1);
    expect(count(none, (r, g, b) => r !== 128 || g !== 128 || b !== 128)).toBe(0);
  });
});
