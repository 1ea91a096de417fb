import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppError, ErrorCode, type Result } from '../../src-shared/errors';
import { channels, type Channel } from '../../src-shared/ipc';
import type { VideoSummary } from '../../src-shared/video';
import { MAX_SCENES, MAX_SCRIPT_CHARS } from '../../src-shared/project';
import { openApp, type App } from '../../src-main/app';
import { createHandlers, registerIpc, type Handlers } from '../../src-main/ipc';
import { findTemplate } from '../../src-main/templates/catalogue';

const LONG_TEXT = 'x'.repeat(100_001);
const VIDEO_ID = '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b';

function summary(overrides: Partial<VideoSummary> = {}): VideoSummary {
  return {
    id: VIDEO_ID,
    title: 'Untitled video',
    status: 'draft',
    stage: null,
    progress: 0,
    outputPath: null,
    error: null,
    durationSeconds: null,
    encoder: null,
    note: null,
    batchId: null,
    batchRow: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** Handlers over use cases that record what reached them. */
function handlersRecordingCalls() {
  const calls: { channel: Channel; input: unknown }[] = [];
  const record =
    <T>(channel: Channel, value: T) =>
    (input: unknown) => {
      calls.push({ channel, input });
      return value;
    };
  const handlers = createHandlers({
    'videos:list': record('videos:list', [summary()]),
    'videos:create': record('videos:create', summary()),
    'videos:get': record('videos:get', { video: summary(), project: { scenes: [] } }),
    'videos:save': record('videos:save', summary()),
    'render:start': record('render:start', summary({ status: 'queued' })),
    'render:cancel': record('render:cancel', summary({ status: 'cancelled' })),
    'templates:list': record('templates:list', []),
    'templates:duplicate': record('templates:duplicate', {} as never),
    'templates:save': record('templates:save', {} as never),
    'templates:delete': record('templates:delete', { templateId: 'x' }),
    'editor:preview': record('editor:preview', { url: 'data:', width: 1, height: 1 }),
    'account:get': record('account:get', {} as never),
    'account:signIn': record('account:signIn', {} as never),
    'account:register': record('account:register', {} as never),
    'account:signOut': record('account:signOut', {} as never),
    'account:sync': record('account:sync', {} as never),
    'account:devices': record('account:devices', []),
    'account:removeDevice': record('account:removeDevice', []),
    'settings:get': record('settings:get', { ffmpegPath: null, renderConcurrency: 1 }),
    'settings:save': record('settings:save', { ffmpegPath: null, renderConcurrency: 1 }),
    'render:reveal': record('render:reveal', { path: '/v.mp4' }),
    'stats:get': record('stats:get', {} as never),
    'models:list': record('models:list', {} as never),
    'models:search': record('models:search', {} as never),
    'models:catalogue': record('models:catalogue', {} as never),
    'models:download': record('models:download', {} as never),
    'models:cancel': record('models:cancel', {} as never),
    'models:import': record('models:import', {} as never),
    'models:activate': record('models:activate', {} as never),
    'models:measure': record('models:measure', {} as never),
    'models:top': record('models:top', {} as never),
    'models:stats': record('models:stats', {} as never),
    'models:remove': record('models:remove', {} as never),
    'models:missing': record('models:missing', {} as never),
    'encoders:list': record('encoders:list', {} as never),
    'avatars:list': record('avatars:list', []),
    'avatars:import': record('avatars:import', {} as never),
    'avatars:cancel': record('avatars:cancel', {} as never),
    'avatars:rename': record('avatars:rename', {} as never),
    'avatars:delete': record('avatars:delete', { avatarId: 'x' }),
    'avatars:preview': record('avatars:preview', { url: 'data:' }),
    'voices:list': record('voices:list', []),
    'voices:import': record('voices:import', {} as never),
    'voices:delete': record('voices:delete', { voiceId: 'piper:x' }),
    'voices:preview': record('voices:preview', { url: 'data:' }),
    'lipsync:check': record('lipsync:check', { path: '/m.onnx', licence: 'x' }),
    'app:info': record('app:info', { version: '0.1.0', dataDir: '/tmp/mouthpiece', ffmpeg: '6.0 (/usr/bin/ffmpeg)', providers: [{ name: 'cpu', available: true }] }),
    'assistant:get': record('assistant:get', { endpoint: null, model: null, hasKey: false }),
    'assistant:save': record('assistant:save', { endpoint: null, model: null, hasKey: false }),
    'assistant:write': record('assistant:write', { title: 'x', scenes: [] }),
    'assistant:cancel': record('assistant:cancel', { requestId: VIDEO_ID }),
    'batches:check': record('batches:check', {} as never),
    'batches:start': record('batches:start', {} as never),
    'batches:list': record('batches:list', []),
    'batches:cancel': record('batches:cancel', {} as never),
    'batches:reveal': record('batches:reveal', { path: '/tmp/results.csv' }),
  });
  return { handlers, calls };
}

function expectBadInput(result: Result<unknown>, ...fragments: string[]): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(ErrorCode.BadInput);
  for (const fragment of fragments) expect(result.error.message).toContain(fragment);
}

describe('the IPC contract refuses bad input before any use case runs', () => {
  test.each<[Channel, string, unknown, string[]]>([
    ['render:start', 'videoId of the wrong type', { videoId: 7 }, ['render:start.videoId', 'expected string']],
    ['render:cancel', 'videoId that is not an id', { videoId: 'not an id!' }, ['render:cancel.videoId', 'an id']],
    ['videos:create', 'text of the wrong type', { text: 5 }, ['videos:create.text', 'expected string']],
    ['videos:create', 'title of the wrong type', { text: 'Hello', title: 3 }, ['videos:create.title', 'expected string']],
    ['videos:create', 'text over the limit', { text: LONG_TEXT }, ['videos:create.text', '100000']],
    ['videos:create', 'project with no scenes', { project: { scenes: [] } }, ['videos:create.project.scenes', 'at least one scene']],
    ['videos:create', 'project in an unknown format', { project: { scenes: [{ text: 'Hi' }], format: '4:3' } }, ['videos:create.project.format']],
    ['videos:get', 'videoId that is not an id', { videoId: '../etc' }, ['videos:get.videoId', 'an id']],
    ['videos:save', 'project with more scenes than the limit', { videoId: VIDEO_ID, project: { scenes: Array.from({ length: MAX_SCENES + 1 }, () => ({})) } }, ['videos:save.project.scenes', String(MAX_SCENES)]],
    ['videos:save', 'scene text over the limit', { videoId: VIDEO_ID, project: { scenes: [{ text: 'x'.repeat(MAX_SCRIPT_CHARS + 1) }] } }, ['videos:save.project.scenes.0.text']],
    ['videos:save', 'project that is not an object', { videoId: VIDEO_ID, project: 'Hello' }, ['videos:save.project']],
    ['templates:duplicate', 'templateId that is not a template id', { templateId: 'Studio/../x' }, ['templates:duplicate.templateId', 'a template id']],
    ['templates:duplicate', 'blank name', { templateId: 'studio', name: '   ' }, ['templates:duplicate.name']],
    ['templates:save', 'caption size out of range', { template: { ...findTemplate('studio'), id: 'mine-0a1b2c', captions: { ...findTemplate('studio').captions, size: 0.5 } } }, ['templates:save.template.captions.size']],
    ['templates:save', 'colour that is not a colour', { template: { ...findTemplate('studio'), id: 'mine-0a1b2c', background: { type: 'colour', colour: 'blue' } } }, ['templates:save.template.background.colour', '#1e293b']],
    ['templates:delete', 'missing templateId', {}, ['templates:delete.templateId']],
    ['editor:preview', 'negative scene index', { project: { scenes: [{}] }, sceneIndex: -1 }, ['editor:preview.sceneIndex']],
    ['settings:save', 'empty ffmpeg path', { ffmpegPath: '' }, ['settings:save.ffmpegPath']],
  ])('%s with a %s is refused, naming the field', async (channel, _case, input, fragments) => {
    const { handlers, calls } = handlersRecordingCalls();
    expectBadInput(await handlers[channel](input), ...fragments);
    expect(calls).toEqual([]);
  });

  test.each<[Channel, unknown, string[]]>([
    ['videos:list', { limit: 10 }, ['videos:list', '"limit"']],
    ['render:start', { videoId: VIDEO_ID, priority: 'high' }, ['render:start', '"priority"']],
    ['render:cancel', { videoId: VIDEO_ID, force: true }, ['render:cancel', '"force"']],
    ['app:info', { verbose: true }, ['app:info', '"verbose"']],
  ])('%s %j: an unknown key is refused by name', async (channel, input, fragments) => {
    const { handlers, calls } = handlersRecordingCalls();
    expectBadInput(await handlers[channel](input), ...fragments);
    expect(calls).toEqual([]);
  });

  test.each<[Channel, unknown, string[]]>([
    ['render:start', {}, ['render:start.videoId']],
    ['render:cancel', undefined, ['render:cancel.videoId']],
    ['videos:create', {}, ['videos:create.text']],
    ['videos:create', { title: 'Only a title' }, ['videos:create.text']],
  ])('%s %j: a missing field is named', async (channel, input, fragments) => {
    const { handlers, calls } = handlersRecordingCalls();
    expectBadInput(await handlers[channel](input), ...fragments);
    expect(calls).toEqual([]);
  });

  test.each<[Channel, unknown]>([
    ['videos:list', 'all'],
    ['render:start', [VIDEO_ID]],
    ['videos:create', 42],
  ])('%s %j: input that is not an object is refused', async (channel, input) => {
    const { handlers, calls } = handlersRecordingCalls();
    expectBadInput(await handlers[channel](input), channel);
    expect(calls).toEqual([]);
  });
});

describe('the IPC contract answers with data', () => {
  test('a valid call reaches its use case with the parsed input and answers its value', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    const result = await handlers['render:start']({ videoId: VIDEO_ID });
    expect(result).toEqual({ ok: true, value: summary({ status: 'queued' }) });
    expect(calls).toEqual([{ channel: 'render:start', input: { videoId: VIDEO_ID } }]);
  });

  test('a project gets its defaults filled in before the use case sees it', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    await handlers['videos:create']({ project: { scenes: [{ text: '  Hello  ' }] } });
    expect(calls[0]?.input).toMatchObject({
      project: { version: 2, title: 'Untitled video', quality: '720p', scenes: [{ text: 'Hello' }] },
    });
  });

  test('videos:save passes a half-typed project (an empty scene, keys the editor added) on untouched', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    const project = { title: 'Half', template: 'studio', scenes: [{ text: 'First scene' }, { text: '' }, { background: { type: 'colour' } }] };
    expect((await handlers['videos:save']({ videoId: VIDEO_ID, project })).ok).toBe(true);
    expect(calls).toEqual([{ channel: 'videos:save', input: { videoId: VIDEO_ID, project } }]);
  });

  test("a use case's AppError travels as its code and message", async () => {
    const handlers = createHandlers({
      ...handlersRecordingCalls().handlers,
      'render:start': () => {
        throw new AppError(ErrorCode.IllegalTransition, 'This video is already rendering.');
      },
    } as unknown as Parameters<typeof createHandlers>[0]);
    expect(await handlers['render:start']({ videoId: VIDEO_ID })).toEqual({
      ok: false,
      error: { code: 'ILLEGAL_TRANSITION', message: 'This video is already rendering.' },
    });
  });

  test('an unexpected error answers INTERNAL instead of rejecting', async () => {
    const handlers = createHandlers({
      ...handlersRecordingCalls().handlers,
      'videos:list': async () => {
        throw new TypeError('database is closed');
      },
    } as unknown as Parameters<typeof createHandlers>[0]);
    expect(await handlers['videos:list']({})).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'database is closed' },
    });
  });
});

describe('registerIpc', () => {
  function register(handlers: Handlers, trusted: boolean) {
    const registered = new Map<string, (event: IpcMainInvokeEvent, input: unknown) => unknown>();
    const ipcMain = { handle: (channel: string, listener: never) => registered.set(channel, listener) };
    registerIpc(ipcMain as unknown as IpcMain, handlers, () => trusted);
    return registered;
  }

  test('avatar calls with an empty path, a blank name or a bad id are refused, naming the field', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    expectBadInput(await handlers['avatars:import']({ path: '' }), 'avatars:import.path');
    expectBadInput(await handlers['avatars:rename']({ avatarId: VIDEO_ID, name: '   ' }), 'avatars:rename.name');
    expectBadInput(await handlers['avatars:delete']({ avatarId: '../../etc' }), 'avatars:delete.avatarId');
    expect(calls).toEqual([]);
  });

  test('registers every channel of the contract', () => {
    const registered = register(handlersRecordingCalls().handlers, true);
    expect([...registered.keys()].sort()).toEqual(Object.keys(channels).sort());
  });

  test('a call from a page that is not ours is refused and never reaches the use case', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    const registered = register(handlers, false);
    const answer = await registered.get('render:start')!({} as IpcMainInvokeEvent, { videoId: VIDEO_ID });
    expect(answer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(calls).toEqual([]);
  });

  test('a call from our page is answered by its handler', async () => {
    const { handlers, calls } = handlersRecordingCalls();
    const registered = register(handlers, true);
    const answer = await registered.get('render:cancel')!({} as IpcMainInvokeEvent, { videoId: VIDEO_ID });
    expect(answer).toEqual({ ok: true, value: summary({ status: 'cancelled' }) });
    expect(calls).toHaveLength(1);
  });
});

describe("the app's handlers for the editor, over a real database", () => {
  let home: string;
  let app: App;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'mp-ipc-'));
    app = await openApp({ home });
  });
  afterAll(async () => {
    await app.close();
    rmSync(home, { recursive: true, force: true });
  });

  const value = <T>(result: Result<T>): T => {
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    return result.value;
  };

  test('a template duplicated, changed and saved is listed after the built-in ones with its change', async () => {
    const copy = value(await app.handlers['templates:duplicate']({ templateId: 'keynote', name: 'Our keynote' }));
    expect(copy).toMatchObject({ name: 'Our keynote', builtin: false, format: '16:9' });
    value(await app.handlers['templates:save']({ template: { ...copy.template, transition: 'cut' } }));
    const list = value(await app.handlers['templates:list']({}));
    expect(list.at(-1)).toMatchObject({ id: copy.id, builtin: false, template: { transition: 'cut' } });
    expect(list.slice(0, -1).every((t) => t.builtin)).toBe(true);
  });

  test('an edited draft is saved and read back, and its title follows the project', async () => {
    const video = value(await app.handlers['videos:create']({ text: 'Hello there.' }));
    const draft = { version: 2, title: 'Renamed', scenes: [{ text: 'Hello there.' }, { text: '' }] };
    expect(value(await app.handlers['videos:save']({ videoId: video.id, project: draft })).title).toBe('Renamed');
    expect(value(await app.handlers['videos:get']({ videoId: video.id })).project).toEqual(draft);
  });

  test('signed out, the account is the free one: 10 credits, 1080p with the watermark, nothing to sync', async () => {
    expect(value(await app.handlers['account:get']({}))).toMatchObject({
      signedIn: false, email: null, tier: 'free', credits: 10, maxQuality: '1080p', watermark: true, devices: [], pendingSpends: 0, grantProblem: null,
    });
  });

  test('settings keep an ffmpeg path that is a file and refuse one that does not exist, naming it', async () => {
    const ffmpeg = join(home, 'ffmpeg');
    writeFileSync(ffmpeg, '');
    expect(value(await app.handlers['settings:save']({ ffmpegPath: ffmpeg }))).toEqual({ ffmpegPath: ffmpeg, renderConcurrency: 1 });
    const missing = join(home, 'nowhere', 'ffmpeg');
    expectBadInput(await app.handlers['settings:save']({ ffmpegPath: missing }), 'ffmpegPath', missing, 'does not exist');
    expectBadInput(await app.handlers['settings:save']({ ffmpegPath: home }), 'ffmpegPath', 'is a folder');
    expect(value(await app.handlers['settings:get']({}))).toEqual({ ffmpegPath: ffmpeg, renderConcurrency: 1 });
    value(await app.handlers['settings:save']({ ffmpegPath: null }));
    // A field left out keeps its value; concurrency is checked.
    value(await app.handlers['settings:save']({ renderConcurrency: 2 }));
    expect(value(await app.handlers['settings:get']({}))).toEqual({ ffmpegPath: null, renderConcurrency: 2 });
    expectBadInput(await app.handlers['settings:save']({ renderConcurrency: 9 }), 'renderConcurrency');
  });
});
