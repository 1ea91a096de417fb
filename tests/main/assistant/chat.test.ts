import { describe, expect, test } from 'vitest';
import { EventStreamParser } from '../../../src-main/assistant/chat';

/** Every event `stream` holds when its text arrives in the given pieces, and when it ends. */
function parse(pieces: string[]): string[] {
  const parser = new EventStreamParser();
  return [...pieces.flatMap((piece) => parser.push(piece)), ...parser.end()];
}

const STREAM = [
  ': a comment the server sends to keep the line open',
  'event: message',
  'id: 7',
  'data: {"a": 1}',
  '',
  'data: first line',
  'data:second line',
  'retry: 1000',
  '',
  '',
  'data: [DONE]',
  '',
  '',
];

describe('reading Server-Sent Events', () => {
  test.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('events with %s line ends give their data lines joined, comments and other fields left out, however the text is cut', (_name, end) => {
    const text = STREAM.join(end);
    const expected = ['{"a": 1}', 'first line\nsecond line', '[DONE]'];
    expect(parse([text])).toEqual(expected);
    for (let cut = 0; cut <= text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
    expect(parse([...text])).toEqual(expected);
  });

  test('an event the stream ends without its blank line is still read', () => {
    expect(parse(['data: {"b": 2}\r\n', 'data: more'])).toEqual(['{"b": 2}\nmore']);
  });
});
