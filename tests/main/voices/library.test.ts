import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../../src-main/app';
import { ffprobe } from '../../../src-main/media/ffmpeg';
import { resolveVoice } from '../../../src-main/voices/catalogue';
import { importModel } from '../../../src-main/models/registry';
import { speechStage } from '../../../src-main/render/stages';
import { projectSchema } from '../../../src-shared/project';
import { sharedFile, useSharedModels } from '../../support/shared';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const PIPER = sharedFile('models/piper-test-voice/test_voice.onnx');
const SPEECH = sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav');

async function cli(args: string[], home: string) {
  try {
    const { stdout, stderr } = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src-main/cli.ts'), ...args], {
      env: { ...process.env, MOUTHPIECE_HOME: home },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('voices', () => {
  let home: string;
  let app: App;
  useSharedModels();

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'mp-voices-'));
    app = await openApp({ home });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a Piper voice installed in the model registry (Models screen) is listed and speaks a scene', async () => {
    const model = await importModel(app.db, home, { path: PIPER, kind: 'voice' });
    const voices = await app.voices.list();
    const listed = voices.find((v) => v.id === `piper:${model.id}`);
    expect(listed).toMatchObject({ engine: 'piper', language: 'en-us', builtin: false });
    const voice = await resolveVoice(`piper:${model.id}`, app.db);
    expect(voice).toMatchObject({ engine: 'piper', language: 'en-us' });
    const project = projectSchema.parse({ voice: `piper:${model.id}`, scenes: [{ text: 'Hello from the registry.' }] });
    const timeline = await speechStage({ project, voices: new Map([[project.voice, voice]]), workDir: home }, { signal: new AbortController().signal, report: () => {} });
    expect(timeline.words.map((w) => w.text)).toEqual(['Hello', 'from', 'the', 'registry.']);
  });

  it('lists espeak-ng voices in many languages, imports a Piper voice as a copy, and deletes it again', async () => {
    const before = await app.voices.list();
    expect(new Set(before.map((v) => v.language.split('-')[0])).size).toBeGreaterThan(50);
    expect(before.find((v) => v.id === 'espeak:en-us')).toMatchObject({ engine: 'espeak', builtin: true });

    const imported = await app.voices.import(PIPER);
    expect(imported).toMatchObject({ engine: 'piper', language: 'en-us', builtin: false });
    const copy = (await resolveVoice(imported.id, app.db)) as { modelPath: string };
    expect(copy.modelPath.startsWith(join(home, 'voices'))).toBe(true);
    expect(existsSync(`${copy.modelPath}.json`)).toBe(true);
    expect((await app.voices.list())[0].id).toBe(imported.id);

    const preview = await app.voices.preview(imported.id);
    expect(preview.url).toMatch(/^data:audio\/wav;base64,/);
    await app.voices.delete(imported.id);
    expect(existsSync(copy.modelPath)).toBe(false);
    await expect(resolveVoice(imported.id, app.db)).rejects.toThrow(/not in the library/);
    await expect(app.voices.delete('espeak:en-us')).rejects.toThrow(/built in/);
  });

  it('a pause in the script adds its silence, a faster speed shortens the speech, and each scene speaks with its own voice', async () => {
    const signal = new AbortController().signal;
    const context = { signal, report: () => {} };
    const speak = async (scenes: object[], speed = 1) => {
      const project = projectSchema.parse({ speed, scenes });
      const voices = new Map();
      for (const id of new Set([project.voice, ...project.scenes.map((s) => s.voice ?? project.voice)])) voices.set(id, await resolveVoice(id, app.db));
      return speechStage({ project, voices, workDir: mkdtempSync(join(tmpdir(), 'mp-speech-')) }, context);
    };
    const plain = await speak([{ text: 'One sentence here. Another sentence there.' }]);
    const paused = await speak([{ text: 'One sentence here. [pause 1.5s] Another sentence there.' }]);
    // The silence between the two sentences is the pause (plus the little espeak leaves at a sentence's end).
    const gap = (speech: typeof paused) => speech.words[3].start - speech.words[2].end;
    expect(gap(paused)).toBeGreaterThan(1.5);
    expect(gap(paused)).toBeLessThan(1.5 + gap(plain) + 0.2);
    const fast = await speak([{ text: 'One sentence here. Another sentence there.' }], 1.6);
    expect(fast.duration).toBeLessThan(plain.duration * 0.85);
    const twoVoices = await speak([{ text: 'Hello there.' }, { text: 'Guten Tag, wie geht es Ihnen?', voice: 'espeak:de' }]);
    expect(twoVoices.scenes).toHaveLength(2);
    expect(twoVoices.words.map((w) => w.text)).toEqual(['Hello', 'there.', 'Guten', 'Tag,', 'wie', 'geht', 'es', 'Ihnen?']);
    // Numbers are spoken as words, and captions show what was said.
    const money = await speak([{ text: 'It costs $5.' }]);
    expect(money.words.map((w) => w.text)).toEqual(['It', 'costs', 'five', 'dollars.']);
  });

  it('renders with a Piper voice given by path, and with the user\'s own recording', async () => {
    const piper = await cli(['--text', 'Hello. Goodbye.', '--voice', PIPER, '-o', join(home, 'piper.mp4')], home);
    expect(piper.code, piper.stderr).toBe(0);

    const out = join(home, 'recording.mp4');
    const recording = await cli(['--audio', SPEECH, '-o', out], home);
    expect(recording.code, recording.stderr).toBe(0);
    const duration = Number((await ffprobe(out)).format.duration);
    // The 14.8 s recording, its silence trimmed, plus the render's padding.
    expect(duration).toBeGreaterThan(13);
    expect(duration).toBeLessThan(16.5);
  });

  it('--list-voices prints espeak-ng and imported Piper voices with language and engine', async () => {
    await app.voices.import(PIPER);
    const listed = await cli(['--list-voices'], home);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^espeak:en-us\s+en-us\s+espeak/m);
    expect(listed.stdout).toMatch(/^piper:[0-9a-f-]+\s+en-us\s+piper\s+test_voice/m);
  });

  it('refuses a voice file that is not ONNX and a recording that is not audio, naming each, with exit 2', async () => {
    const fake = join(home, 'fake.onnx');
    writeFileSync(fake, 'not a model');
    const badVoice = await cli(['--text', 'Hi.', '--voice', fake, '-o', join(home, 'a.mp4')], home);
    expect(badVoice.code).toBe(2);
    expect(badVoice.stderr).toContain('fake.onnx');
    const notes = join(home, 'notes.wav');
    writeFileSync(notes, 'these are my notes, not a recording');
    const badAudio = await cli(['--audio', notes, '-o', join(home, 'b.mp4')], home);
    expect(badAudio.code).toBe(2);
    expect(badAudio.stderr).toContain('notes.wav');
    expect(existsSync(join(home, 'b.mp4'))).toBe(false);
  });
});
