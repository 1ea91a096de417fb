import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { AssistantDelta } from '../../../src-shared/assistant';
import { ScriptAssistant, type AssistantOptions } from '../../../src-main/assistant/assistant';
import { listEvents } from '../../../src-main/audit/log';
import { openDatabase, type Db } from '../../../src-main/db/connection';
import { startFakeChat, type FakeChat } from '../../support/fakeChat';

const SCRIPT = {
  title: 'Welcome to Spoke & Chain',
  scenes: [
    { text: 'Hi {{first_name}}, welcome to Spoke & Chain, your neighbourhood bike shop.' },
    { text: 'Bring your bike in any weekday. [pause 1s] We check the brakes, the gears and the tyres for free.' },
    { text: 'See you soon, and ride safe!' },
  ],
};
const CONTENT = JSON.stringify(SCRIPT);
const BRIEF = 'a 20-second welcome for new customers of a bike shop, friendly, greeting {{first_name}}';
/** A stand-in for Electron's safeStorage: reversible, and never the plain text. */
const box = { encrypt: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)), decrypt: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString() };

let home: string;
let db: Db;
let fake: FakeChat;
let deltas: AssistantDelta[];

function assistant(options: Partial<AssistantOptions> = {}) {
  return new ScriptAssistant(db, home, { delta: (d) => deltas.push(d), firstByteTimeoutMs: 1000, idleTimeoutMs: 1000, ...options });
}

async function setUp(options: Partial<AssistantOptions> = {}) {
  const made = assistant(options);
  await made.save({ endpoint: fake.endpoint, model: 'llama3.2' });
  return made;
}

const textOf = (requestId: string) =>
  deltas
    .filter((d) => d.requestId === requestId)
    .map((d) => d.text)
    .join('');

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'mp-assistant-'));
  db = await openDatabase(join(home, 'mouthpiece.db'));
  fake = await startFakeChat();
  deltas = [];
});
afterEach(async () => {
  await fake.close();
  await db.destroy();
  rmSync(home, { recursive: true, force: true });
});

describe('writing a script through an OpenAI-compatible endpoint', () => {
  test('a streamed reply arrives as deltas in order, joins to the whole reply and becomes the scenes', async () => {
    fake.reply({ kind: 'stream', content: CONTENT, pieces: 12, writes: 29 });
    const writer = await setUp();
    const draft = await writer.write({ requestId: 'req-0001', brief: BRIEF });
    expect(draft).toEqual(SCRIPT);
    expect(deltas.length).toBeGreaterThan(0);
    expect(textOf('req-0001')).toBe(CONTENT);

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toMatchObject({ model: 'llama3.2', stream: true });
    const [system, user] = request.body.messages!;
    expect(system.role).toBe('system');
    expect(system.content).toMatch(/ONLY a JSON object/);
    // The pace the editor estimates with: 60 s at 2.6 words a second.
    expect(system.content).toMatch(/a 60-second one about 156 words/);
    expect(user).toEqual({ role: 'user', content: `Brief: ${BRIEF}` });

    const events = await listEvents(db);
    expect(events.map((e) => e.type)).toEqual(['assistant.written']);
    const data = JSON.parse(events[0].data_json!);
    expect(data).toEqual({ host: new URL(fake.endpoint).host, model: 'llama3.2', scenes: 3, chars: SCRIPT.scenes.reduce((n, s) => n + s.text.length, 0) });
    expect(events[0].data_json).not.toMatch(/bike shop/);
  });

  test('a stream with CRLF lines, bytes cut anywhere (inside characters too) and no [DONE] is read whole', async () => {
    const script = { title: 'Grüße aus Köln', scenes: [{ text: 'Willkommen — schön, dass Sie da sind! 🚲' }, { text: 'Bis bald.' }] };
    // Prose and a fence around the JSON, as chatty models answer.
    const content = `Hier ist dein Skript:\n\`\`\`json\n${JSON.stringify(script, null, 2)}\n\`\`\`\nViel Spaß!`;
    fake.reply({ kind: 'stream', content, pieces: 30, writes: 211, crlf: true, done: false });
    const writer = await setUp();
    expect(await writer.write({ requestId: 'req-0002', brief: 'Ein kurzer Gruß' })).toEqual(script);
    expect(textOf('req-0002')).toBe(content);
  });

  test('a stream that stays open after [DONE] is finished there', async () => {
    fake.reply({ kind: 'stream', content: CONTENT, keepOpen: true });
    const writer = await setUp({ idleTimeoutMs: 60_000 });
    expect(await writer.write({ requestId: 'req-0022', brief: BRIEF })).toEqual(SCRIPT);
  });

  test('a server that ignores stream: true and answers with one JSON reply is accepted', async () => {
    fake.reply({ kind: 'json', content: CONTENT });
    const writer = await setUp();
    expect(await writer.write({ requestId: 'req-0003', brief: BRIEF })).toEqual(SCRIPT);
    expect(textOf('req-0003')).toBe(CONTENT);
  });

  test("the current project's title, format and scene count are given to the endpoint", async () => {
    fake.reply({ kind: 'json', content: CONTENT });
    const writer = await setUp();
    await writer.write({ requestId: 'req-0004', brief: BRIEF, project: { title: 'Spring sale', format: '9:16', scenes: [{ text: 'One.' }, { text: 'Two.' }] } });
    const user = fake.requests[0].body.messages![1].content;
    expect(user).toContain('"Spring sale"');
    expect(user).toContain('9:16 (vertical');
    expect(user).toContain('2 scenes');
  });

  test('a body that is not an OpenAI-compatible reply is refused, naming the endpoint', async () => {
    const writer = await setUp();
    const url = `${fake.endpoint}/chat/completions`;
    fake.reply({ kind: 'raw', body: 'Hello from a web server that is not a chat API' });
    await expect(writer.write({ requestId: 'req-0005', brief: BRIEF })).rejects.toMatchObject({
      code: 'IO_FAILED',
      message: expect.stringMatching(new RegExp(`^${url} answered with .*not an OpenAI-compatible chat reply; check the endpoint in Settings`)),
    });
    fake.reply({ kind: 'raw', body: '{"result": "ok"}', contentType: 'application/json' });
    await expect(writer.write({ requestId: 'req-0006', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('JSON without choices') });
    fake.reply({ kind: 'raw', body: 'data: {"choices": [{"delta": {"content": "Hi"\n\n', contentType: 'text/event-stream' });
    await expect(writer.write({ requestId: 'req-0007', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('an event that is not JSON') });
    expect(await listEvents(db)).toEqual([]);
  });

  test('a reply whose content is not a usable script says what is wrong with it', async () => {
    const writer = await setUp();
    fake.reply({ kind: 'stream', content: "Sure! Here's a friendly welcome for your bike shop customers." });
    await expect(writer.write({ requestId: 'req-0008', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('answered with text, not a script') });
    fake.reply({ kind: 'json', content: '{"title": "Hi", "scenes": [{"text": "Hello"' });
    await expect(writer.write({ requestId: 'req-0009', brief: BRIEF })).rejects.toMatchObject({ message: expect.stringContaining('not valid JSON') });
    fake.reply({ kind: 'json', content: '{"title": "Hi", "text": "Hello there."}' });
    await expect(writer.write({ requestId: 'req-000a', brief: BRIEF })).rejects.toMatchObject({ message: expect.stringContaining('script.scenes is missing') });
    fake.reply({ kind: 'json', content: '{"title": "Hi", "scenes": []}' });
    await expect(writer.write({ requestId: 'req-000b', brief: BRIEF })).rejects.toMatchObject({ message: expect.stringContaining('script.scenes: a project needs at least one scene') });
    fake.reply({ kind: 'json', content: '{"title": "Hi", "scenes": [{"text": "Hello."}, {"text": "   "}]}' });
    await expect(writer.write({ requestId: 'req-000c', brief: BRIEF })).rejects.toMatchObject({ message: expect.stringContaining('script.scenes.1.text: a scene needs some text') });
  });

  test("HTTP errors name the status, the server's message and what to do", async () => {
    const writer = await setUp();
    fake.reply({ kind: 'error', status: 500, message: 'CUDA out of memory while loading llama3.2' });
    await expect(writer.write({ requestId: 'req-0010', brief: BRIEF })).rejects.toMatchObject({
      code: 'IO_FAILED',
      message: expect.stringMatching(/HTTP 500 \(“CUDA out of memory while loading llama3\.2”\): the endpoint failed/),
    });
    fake.reply({ kind: 'error', status: 401, message: 'Incorrect API key provided' });
    await expect(writer.write({ requestId: 'req-0011', brief: BRIEF })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('the API key is missing or wrong') });
    fake.reply({ kind: 'error', status: 404, message: 'model "llama3.2" not found, try pulling it first' });
    await expect(writer.write({ requestId: 'req-0012', brief: BRIEF })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('ollama pull llama3.2') });
    fake.reply({ kind: 'error', status: 429, message: 'Rate limit reached' });
    await expect(writer.write({ requestId: 'req-0013', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('wait a moment') });
  });

  test('an endpoint path that does not exist is a 404 that points at the endpoint setting', async () => {
    const writer = assistant();
    await writer.save({ endpoint: fake.endpoint.replace(/\/v1$/, '/api'), model: 'llama3.2' });
    await expect(writer.write({ requestId: 'req-0014', brief: BRIEF })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('it usually ends in /v1') });
  });

  test('an endpoint that never starts answering times out', async () => {
    fake.reply({ kind: 'hang' });
    const writer = await setUp();
    await expect(writer.write({ requestId: 'req-0020', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('did not answer within 1 s') });
  });

  test('a stream that falls silent halfway times out', async () => {
    fake.reply({ kind: 'stall', content: CONTENT });
    const writer = await setUp();
    await expect(writer.write({ requestId: 'req-0021', brief: BRIEF })).rejects.toMatchObject({ code: 'IO_FAILED', message: expect.stringContaining('stopped answering for 1 s') });
  });

  test('an endpoint nobody listens on is unreachable, with a hint to start the local server', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((done) => closed.close(() => done()));
    const writer = assistant();
    await writer.save({ endpoint: `http://127.0.0.1:${port}/v1`, model: 'llama3.2' });
    await expect(writer.write({ requestId: 'req-0030', brief: BRIEF })).rejects.toMatchObject({
      code: 'IO_FAILED',
      message: `http://127.0.0.1:${port}/v1/chat/completions cannot be reached (ECONNREFUSED): is Ollama or LM Studio running? Check the endpoint in Settings`,
    });
  });

  test('cancelling a request stops it as cancelled; closing stops every request', async () => {
    fake.reply({ kind: 'hang' });
    const writer = await setUp({ firstByteTimeoutMs: 60_000 });
    const writing = writer.write({ requestId: 'req-0040', brief: BRIEF });
    await expect.poll(() => fake.requests.length).toBe(1);
    expect(await writer.cancel('req-0040')).toEqual({ requestId: 'req-0040' });
    await expect(writing).rejects.toMatchObject({ code: 'CANCELLED' });

    fake.reply({ kind: 'stall', content: CONTENT });
    const stalled = writer.write({ requestId: 'req-0041', brief: BRIEF });
    await expect.poll(() => deltas.length).toBeGreaterThan(0);
    await writer.close();
    await expect(stalled).rejects.toMatchObject({ code: 'CANCELLED' });
    // The id is free again once its request ended.
    fake.reply({ kind: 'json', content: CONTENT });
    expect(await writer.write({ requestId: 'req-0040', brief: BRIEF })).toEqual(SCRIPT);
  });
});

describe('the assistant settings', () => {
  test('an API key is kept encrypted in an owner-only file, sent as a bearer token, never returned, and removed with null', async () => {
    const writer = assistant({ box });
    const saved = await writer.save({ endpoint: fake.endpoint, model: 'gpt-4o-mini', apiKey: 'sk-test-0123456789' });
    expect(saved).toEqual({ endpoint: fake.endpoint, model: 'gpt-4o-mini', hasKey: true });
    const file = join(home, 'assistant-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('sk-test');

    fake.reply({ kind: 'json', content: CONTENT });
    await writer.write({ requestId: 'req-0050', brief: BRIEF });
    expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test-0123456789');

    // Leaving the key out keeps it.
    expect(await writer.save({ model: 'gpt-4o' })).toEqual({ endpoint: fake.endpoint, model: 'gpt-4o', hasKey: true });
    expect(await assistant({ box }).settings()).toEqual({ endpoint: fake.endpoint, model: 'gpt-4o', hasKey: true });

    // A key the app encrypted cannot be used where there is no box to open it.
    await expect(assistant().write({ requestId: 'req-0051', brief: BRIEF })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('enter it again in Settings') });

    expect(await writer.save({ apiKey: null })).toEqual({ endpoint: fake.endpoint, model: 'gpt-4o', hasKey: false });
    expect(existsSync(file)).toBe(false);
    await writer.write({ requestId: 'req-0052', brief: BRIEF });
    expect(fake.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  test('without a box the key is plain text in an owner-only file', async () => {
    const writer = assistant();
    await writer.save({ endpoint: fake.endpoint, model: 'm', apiKey: 'lm-studio' });
    const file = join(home, 'assistant-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('plain:lm-studio');
  });

  test('only an http or https endpoint is kept, without a trailing slash or /chat/completions', async () => {
    const writer = assistant();
    await expect(writer.save({ endpoint: 'ftp://127.0.0.1/v1' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^endpoint: "ftp:\/\/127\.0\.0\.1\/v1" is not an http or https address/) });
    await expect(writer.save({ endpoint: 'localhost 11434' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^endpoint: .* is not a web address/) });
    expect(await writer.settings()).toEqual({ endpoint: null, model: null, hasKey: false });
    expect((await writer.save({ endpoint: 'http://127.0.0.1:1234/v1/chat/completions/' })).endpoint).toBe('http://127.0.0.1:1234/v1');
    expect((await writer.save({ endpoint: 'https://api.example.com/v1/' })).endpoint).toBe('https://api.example.com/v1');
    expect(await writer.save({ endpoint: null, model: 'qwen2.5' })).toEqual({ endpoint: null, model: 'qwen2.5', hasKey: false });
  });

  test('writing before an endpoint and a model are set says to set them in Settings', async () => {
    const writer = assistant();
    await expect(writer.write({ requestId: 'req-0060', brief: BRIEF })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('not set up: set its endpoint and a model in Settings') });
    await writer.save({ endpoint: fake.endpoint });
    await expect(writer.write({ requestId: 'req-0061', brief: BRIEF })).rejects.toMatchObject({ message: expect.stringContaining('set a model in Settings') });
    expect(fake.requests).toEqual([]);
  });
});
