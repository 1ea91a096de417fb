import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCode } from '../../../src-shared/errors';
import { normalizeText, parseScript, wordsOf } from '../../../src-main/voices/text';

const en = (text: string): string => normalizeText(text, 'en-us');
const gb = (text: string): string => normalizeText(text, 'en-gb');

function refusal(script: string): { code: unknown; message: string } {
  try {
    parseScript(script);
  } catch (error) {
    return { code: errorCode(error), message: (error as Error).message };
  }
  throw new Error(`parseScript accepted ${JSON.stringify(script)}`);
}

describe('parseScript splits a script at its pause markup', () => {
  it('reads [pause] as half a second', () => {
    expect(parseScript('Hello. [pause] World.')).toEqual([
      { kind: 'speech', text: 'Hello.' },
      { kind: 'pause', seconds: 0.5 },
      { kind: 'speech', text: 'World.' },
    ]);
  });

  it('reads seconds, milliseconds and decimal seconds', () => {
    expect(parseScript('a [pause 1s] b [pause 500ms] c [pause 1.5s] d')).toEqual([
      { kind: 'speech', text: 'a' },
      { kind: 'pause', seconds: 1 },
      { kind: 'speech', text: 'b' },
      { kind: 'pause', seconds: 0.5 },
      { kind: 'speech', text: 'c' },
      { kind: 'pause', seconds: 1.5 },
      { kind: 'speech', text: 'd' },
    ]);
  });

  it('ignores case and spaces inside the brackets', () => {
    expect(parseScript('a [ Pause 2 s ] b [PAUSE 250 MS] c')).toEqual([
      { kind: 'speech', text: 'a' },
      { kind: 'pause', seconds: 2 },
      { kind: 'speech', text: 'b' },
      { kind: 'pause', seconds: 0.25 },
      { kind: 'speech', text: 'c' },
    ]);
  });

  it('leaves other bracketed text as text', () => {
    expect(parseScript('She laughed [laughs] and paused [pauses here].')).toEqual([
      { kind: 'speech', text: 'She laughed [laughs] and paused [pauses here].' },
    ]);
  });

  it('drops empty speech and adds up adjacent pauses', () => {
    expect(parseScript('  [pause 1s]\n [pause 200ms][pause 100ms] Go. [pause]  ')).toEqual([
      { kind: 'pause', seconds: 1.3 },
      { kind: 'speech', text: 'Go.' },
      { kind: 'pause', seconds: 0.5 },
    ]);
  });

  it('returns a script without markup as one speech part, and an empty script as none', () => {
    expect(parseScript('Just words, 5 of them.')).toEqual([{ kind: 'speech', text: 'Just words, 5 of them.' }]);
    expect(parseScript(' \n ')).toEqual([]);
  });

  it('accepts a pause of exactly the 10 s limit', () => {
    expect(parseScript('a [pause 10s] b')[1]).toEqual({ kind: 'pause', seconds: 10 });
  });

  it.each([
    ['a negative pause', 'Wait [pause -1s] now', '[pause -1s]'],
    ['a pause over the 10 s limit', 'Wait [pause 99s] now', '[pause 99s]'],
    ['a pause just over the limit in milliseconds', 'Wait [pause 10001ms] now', '[pause 10001ms]'],
    ['a pause that is not a length', 'Wait [pause abc] now', '[pause abc]'],
    ['a pause of zero', 'Wait [pause 0s] now', '[pause 0s]'],
    ['a pause without a unit', 'Wait [pause 2] now', '[pause 2]'],
    ['a pause with an unknown unit', 'Wait [pause 2 min] now', '[pause 2 min]'],
    ['a pause with a decimal comma', 'Wait [pause 1,5s] now', '[pause 1,5s]'],
    ['a pause with no closing bracket', 'Wait [pause 1s\nnow', '[pause 1s'],
  ])('refuses %s, quoting the markup and naming the accepted forms', (_, script, markup) => {
    const { code, message } = refusal(script);
    expect(code).toBe(ErrorCode.BadInput);
    expect(message).toContain(`"${markup}"`);
    expect(message).toContain('[pause 500ms]');
    expect(message).toContain('[pause 1.5s]');
    expect(message).toContain('10 s');
  });
});

describe('normalizeText reads English numbers as words', () => {
  it.each([
    ['0', 'zero'],
    ['7', 'seven'],
    ['42', 'forty-two'],
    ['115', 'one hundred fifteen'],
    ['1234', 'one thousand two hundred thirty-four'],
    ['1,234', 'one thousand two hundred thirty-four'],
    ['20,000', 'twenty thousand'],
    ['1,000,000', 'one million'],
    ['3,000,000,005', 'three billion five'],
    ['123456789012', 'one hundred twenty-three billion four hundred fifty-six million seven hundred eighty-nine thousand twelve'],
  ])('reads the cardinal %s as "%s"', (input, said) => {
    expect(en(`We counted ${input} sheep.`)).toBe(`We counted ${said} sheep.`);
  });

  it('reads a number with leading zeros digit by digit', () => {
    expect(en('Agent 007 reporting.')).toBe('Agent zero zero seven reporting.');
  });

  it('reads decimals digit by digit after "point"', () => {
    expect(en('Pi is 3.14 and half is 0.5.')).toBe('Pi is three point one four and half is zero point five.');
    expect(en('Version 1.2.3 shipped.')).toBe('Version one point two point three shipped.');
  });

  it('reads negative and signed numbers', () => {
    expect(en('It fell to -5, then -3.5, then rose to +2.')).toBe(
      'It fell to minus five, then minus three point five, then rose to plus two.',
    );
  });

  it.each([
    ['1st', 'first'],
    ['2nd', 'second'],
    ['3rd', 'third'],
    ['11th', 'eleventh'],
    ['12th', 'twelfth'],
    ['20th', 'twentieth'],
    ['22nd', 'twenty-second'],
    ['103rd', 'one hundred third'],
    ['1,000th', 'one thousandth'],
  ])('reads the ordinal %s as "%s"', (input, said) => {
    expect(en(`She came ${input} in the race.`)).toBe(`She came ${said} in the race.`);
  });

  it('leaves digits inside words as they are written', () => {
    expect(en('Play the mp3 of H2O in 3D at 4K on v1.2.')).toBe('Play the mp3 of H2O in 3D at 4K on v1.2.');
  });

  it('reads a hyphenated number after a word as a number, not a minus', () => {
    expect(en('COVID-19 changed things.')).toBe('COVID-nineteen changed things.');
  });

  it('reads a phone number or code digit by digit, group by group', () => {
    expect(en('Call 555-123-4567 today.')).toBe('Call five five five, one two three, four five six seven today.');
  });
});

describe('normalizeText reads years as years where they look like years', () => {
  it.each([
    ['in 1999', 'in nineteen ninety-nine'],
    ['2024', 'twenty twenty-four'],
    ['2005', 'two thousand five'],
    ['since 1900', 'since nineteen hundred'],
    ['in 1905', 'in nineteen oh five'],
    ['in 2010', 'in twenty ten'],
    ['by 1066', 'by ten sixty-six'],
    ['It was 1999.', 'It was nineteen ninety-nine.'],
    ['In 2023 sales grew.', 'In twenty twenty-three sales grew.'],
    ['the 1990s', 'the nineteen nineties'],
    ['the 80s', 'the eighties'],
    ["the '80s", 'the eighties'],
    ['1999-2005', 'nineteen ninety-nine to two thousand five'],
    ['from 2020-21', 'from twenty twenty to twenty-one'],
  ])('reads "%s" as "%s"', (input, said) => {
    expect(en(input)).toBe(said);
  });

  it('reads a year after a month even where a noun follows', () => {
    expect(en('March 1999 sales fell.')).toBe('March nineteen ninety-nine sales fell.');
  });

  it('reads a four-digit count before the noun it counts as a number', () => {
    expect(en('1234 people came.')).toBe('one thousand two hundred thirty-four people came.');
    expect(en('Turn to page 1999 of the book.')).toBe('Turn to page one thousand nine hundred ninety-nine of the book.');
    expect(en('Apples and 1234 pears.')).toBe('Apples and one thousand two hundred thirty-four pears.');
  });
});

describe('normalizeText reads percentages and money', () => {
  it.each([
    ['45%', 'forty-five percent'],
    ['3.5%', 'three point five percent'],
    ['-2%', 'minus two percent'],
    ['10-20%', 'ten to twenty percent'],
  ])('reads %s as "%s"', (input, said) => {
    expect(en(`Rates of ${input} apply.`)).toBe(`Rates of ${said} apply.`);
  });

  it.each([
    ['$5', 'five dollars'],
    ['$1', 'one dollar'],
    ['$3.50', 'three dollars and fifty cents'],
    ['$1.01', 'one dollar and one cent'],
    ['$0.50', 'fifty cents'],
    ['$3.5', 'three dollars and fifty cents'],
    ['$1,234.56', 'one thousand two hundred thirty-four dollars and fifty-six cents'],
    ['£1', 'one pound'],
    ['£2.50', 'two pounds and fifty pence'],
    ['€20', 'twenty euros'],
    ['¥500', 'five hundred yen'],
    ['$1.2M', 'one point two million dollars'],
    ['$5k', 'five thousand dollars'],
    ['€3bn', 'three billion euros'],
    ['$2 billion', 'two billion dollars'],
    ['$10-20', 'ten to twenty dollars'],
    ['$10-$20', 'ten to twenty dollars'],
    ['$1.50-$2', 'one dollar and fifty cents to two dollars'],
    ['-$5', 'minus five dollars'],
  ])('reads %s as "%s"', (input, said) => {
    expect(en(`It cost ${input}, they said.`)).toBe(`It cost ${said}, they said.`);
  });
});

describe('normalizeText reads dates in the order of the dialect', () => {
  it('reads a US numeric date month first', () => {
    expect(en('Due 12/25/2024.')).toBe('Due December twenty-fifth, twenty twenty-four.');
    expect(en('Born 3/4/1990.')).toBe('Born March fourth, nineteen ninety.');
  });

  it('reads a British numeric date day first', () => {
    expect(gb('Due 25/12/2024.')).toBe('Due the twenty-fifth of December, twenty twenty-four.');
    expect(gb('Born 3/4/1990.')).toBe('Born the third of April, nineteen ninety.');
  });

  it('reads a numeric date whose first number can only be a day as day first, even in the US', () => {
    expect(en('Due 25/12/2024.')).toBe('Due December twenty-fifth, twenty twenty-four.');
  });

  it('reads an ISO date', () => {
    expect(en('Released 2024-03-05.')).toBe('Released March fifth, twenty twenty-four.');
    expect(gb('Released 2024-03-05.')).toBe('Released the fifth of March, twenty twenty-four.');
  });

  it('reads written dates with the month first or the day first', () => {
    expect(en('On March 5, 2024 we met.')).toBe('On March fifth, twenty twenty-four we met.');
    expect(en('On Sept. 3rd we met.')).toBe('On September third we met.');
    expect(en('On 4 July 1776, they met.')).toBe('On the fourth of July, seventeen seventy-six, they met.');
    expect(en('On the 5th of May we met.')).toBe('On the fifth of May we met.');
    expect(en('In March 2024 we met.')).toBe('In March twenty twenty-four we met.');
  });

  it('reads an impossible date as a code, not a date', () => {
    expect(en('2024-02-30')).toBe('two zero two four, zero two, three zero');
  });
});

describe('normalizeText reads clock times', () => {
  it.each([
    ['3:30 pm', 'three thirty p m'],
    ['3:30PM', 'three thirty p m'],
    ['10:05', 'ten oh five'],
    ['10:00', "ten o'clock"],
    ['10:00 a.m.', 'ten a m'],
    ['3pm', 'three p m'],
    ['17:45', 'seventeen forty-five'],
    ['14:00', 'fourteen hundred'],
  ])('reads %s as "%s"', (input, said) => {
    expect(en(`We start at ${input} sharp.`)).toBe(`We start at ${said} sharp.`);
  });

  it('keeps the full stop when "p.m." ends the sentence', () => {
    expect(en('We start at 3 p.m. Bring water.')).toBe('We start at three p m. Bring water.');
  });

  it('leaves an impossible time alone', () => {
    expect(en('Score 25:99 now')).toBe('Score twenty-five:ninety-nine now');
  });
});

describe('normalizeText expands common abbreviations', () => {
  it('reads Dr. before a name as Doctor and after a street name as Drive', () => {
    expect(en('Dr. Smith lives on Elm Dr. He is kind.')).toBe('Doctor Smith lives on Elm Drive. He is kind.');
    expect(en('Ask Dr Jones.')).toBe('Ask Doctor Jones.');
  });

  it('reads St. before a name as Saint and after a street name or number as Street', () => {
    expect(en('Visit St. Louis and Main St. in town.')).toBe('Visit Saint Louis and Main Street in town.');
    expect(en('Turn onto 5th St. at the light.')).toBe('Turn onto fifth Street at the light.');
    expect(en("We prayed at St Paul's.")).toBe("We prayed at Saint Paul's.");
    expect(en('It is on Baker St.')).toBe('It is on Baker Street.');
  });

  it('reads titles', () => {
    expect(en('Mr. and Mrs. Jones met Ms. Lee and Prof. Wu.')).toBe('Mister and Missus Jones met Miz Lee and Professor Wu.');
  });

  it('reads Latin and other shorthand', () => {
    expect(en('Fruit, e.g. apples, i.e. food, etc. Then cats vs. dogs, approx. ten.')).toBe(
      'Fruit, for example apples, that is food, et cetera. Then cats versus dogs, approximately ten.',
    );
    expect(en('E.g., this.')).toBe('For example, this.');
  });

  it('reads No. and # before a number as "number" and leaves them elsewhere', () => {
    expect(en('No. 5 and No.6 and #1.')).toBe('Number five and Number six and number one.');
    expect(en('No. That is wrong.')).toBe('No. That is wrong.');
  });
});

describe('normalizeText reads units and ranges', () => {
  it.each([
    ['5 km', 'five kilometers'],
    ['5km', 'five kilometers'],
    ['1 km', 'one kilometer'],
    ['10 kg', 'ten kilograms'],
    ['3 ft', 'three feet'],
    ['1 ft', 'one foot'],
    ['2.5 m', 'two point five meters'],
    ['5m', 'five meters'],
    ['250 ml', 'two hundred fifty milliliters'],
    ['90 min', 'ninety minutes'],
    ['60 mph', 'sixty miles per hour'],
    ['16 GB', 'sixteen gigabytes'],
    ['60W', 'sixty watts'],
    ['30°C', 'thirty degrees Celsius'],
    ['-3.5°C', 'minus three point five degrees Celsius'],
    ['1,500 km²', 'one thousand five hundred square kilometers'],
  ])('reads %s as "%s"', (input, said) => {
    expect(en(`About ${input} away.`)).toBe(`About ${said} away.`);
  });

  it.each([
    ['10-20', 'ten to twenty'],
    ['10–20', 'ten to twenty'],
    ['5 – 10', 'five to ten'],
    ['10-20 km', 'ten to twenty kilometers'],
  ])('reads the range %s as "%s"', (input, said) => {
    expect(en(`Expect ${input} more.`)).toBe(`Expect ${said} more.`);
  });

  it('keeps a hyphen that joins a number to a word', () => {
    expect(en('A 5-year plan.')).toBe('A five-year plan.');
  });
});

describe('normalizeText keeps what carries prosody', () => {
  it('keeps commas, full stops, question marks and line breaks', () => {
    expect(en('Is it 5?\nYes, 5. Or 6!')).toBe('Is it five?\nYes, five. Or six!');
  });

  it('leaves text without anything to rewrite exactly as it was', () => {
    const text = 'The farmer walked slowly, counting sheep; "one more," he said.\n\nThen he slept.';
    expect(en(text)).toBe(text);
  });

  it('treats any English dialect code as English', () => {
    expect(normalizeText('5 km', 'en')).toBe('five kilometers');
    expect(normalizeText('5 km', 'en-gb-x-rp')).toBe('five kilometers');
    expect(normalizeText('5 km', 'en_US')).toBe('five kilometers');
  });
});

describe('normalizeText leaves other languages unchanged', () => {
  it.each([
    ['de', 'Am 12/25/2024 kostet es $3.50, sagt Dr. Müller, 45% mehr als 1999.'],
    ['fr', 'Le 2024-03-05 à 10:05, il a payé 20 € pour 5 km.'],
    ['es', 'El 1st de marzo, Sr. García pagó $5.'],
    ['eng', 'Not English: 5 km.'],
  ])('returns %s text as it was', (language, text) => {
    expect(normalizeText(text, language)).toBe(text);
  });
});

describe('normalizeText on a long script', () => {
  const sentences = [
    (n: number) => `On March ${(n % 28) + 1}, ${1990 + (n % 30)}, Dr. Smith paid $${n}.${String(n % 100).padStart(2, '0')} for ${n * 1237} apples.`,
    (n: number) => `About ${n % 100}% of the ${n}th crowd walked ${n % 40} km, e.g. along Main St. near the river.`,
    (n: number) => `The meeting moved to ${(n % 12) + 1}:${String(n % 60).padStart(2, '0')} pm on ${(n % 12) + 1}/${(n % 28) + 1}/20${String(n % 30).padStart(2, '0')}, approx. ${n % 10}-${(n % 10) + 5} minutes late.`,
    (n: number) => `In ${1900 + (n % 120)} prices rose by €${n % 50}bn, i.e. ${(n % 9) + 1}.${n % 10} times what Mrs. Jones expected, etc.`,
    () => 'Nothing here needs rewriting, but it must come through as it was.',
  ];
  const script = (() => {
    const parts: string[] = [];
    let length = 0;
    for (let n = 1; length < 50_000; n++) {
      const sentence = sentences[n % sentences.length](n);
      parts.push(sentence);
      length += sentence.length + 1;
    }
    return parts.join(' ');
  })();

  /** Words the rules rewrite on purpose; every other word without a digit must come through. */
  const REWRITTEN = new Set(['Dr', 'St', 'Mrs', 'e.g', 'i.e', 'etc', 'approx', 'pm', 'km']);

  it('rewrites every digit and symbol, and keeps every other word in order', () => {
    expect(script.length).toBeGreaterThanOrEqual(50_000);
    const said = en(script);
    expect(said).not.toMatch(/[\d$€%]/);
    const kept = wordsOf(said);
    let at = 0;
    for (const word of wordsOf(script)) {
      if (/\d/.test(word) || REWRITTEN.has(word)) continue;
      while (at < kept.length && kept[at] !== word) at++;
      expect(at, `"${word}" went missing`).toBeLessThan(kept.length);
      at++;
    }
  });
});

describe('wordsOf', () => {
  it('lists the words without the punctuation around them', () => {
    expect(wordsOf('"Hello," she said — it\'s 3.14, e.g. pi… (roughly).')).toEqual([
      'Hello', 'she', 'said', "it's", '3.14', 'e.g', 'pi', 'roughly',
    ]);
  });
});
