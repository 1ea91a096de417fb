import { describe, expect, it } from 'vitest';
import { readableDraft } from '../../../src-shared/assistant';

const SCRIPT = JSON.stringify({
  title: 'Welcome to "Spoke & Chain"',
  scenes: [{ text: 'Hi, and welcome — caf\u00e9 included.' }, { text: 'Line one.\nLine two.' }],
});

describe('readableDraft', () => {
  it('shows the title and each scene of a whole reply as paragraphs, with JSON escapes decoded', () => {
    expect(readableDraft(SCRIPT)).toBe('Welcome to "Spoke & Chain"\n\nHi, and welcome — café included.\n\nLine one.\nLine two.');
    expect(readableDraft(JSON.stringify({ title: 'T', scenes: [{ text: 'caf\\u00e9' }] }).replace('\\\\u00e9', '\\u00e9'))).toBe('T\n\ncafé');
  });

  it('shows a reply cut anywhere as far as it has arrived, never the JSON around it', () => {
    for (let cut = 0; cut <= SCRIPT.length; cut++) {
      const shown = readableDraft(SCRIPT.slice(0, cut));
      const whole = readableDraft(SCRIPT);
      // What is shown is always the start of what the whole reply shows, and carries no JSON syntax.
      expect(whole.startsWith(shown), `cut at ${cut}: ${JSON.stringify(shown)}`).toBe(true);
      expect(shown).not.toMatch(/"(title|scenes|text)"|[{}[\]]/);
    }
  });

  it('shows a reply that is not the asked-for JSON as it is', () => {
    expect(readableDraft('Sure! Here is your script:')).toBe('Sure! Here is your script:');
    expect(readableDraft('')).toBe('');
  });
});
