import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { describe, expect, test } from 'vitest';
import { AppError, ErrorCode, type Result } from '../../src-shared/errors';
import type { Channel } from '../../src-shared/ipc';
import type { VideoSummary } from '../../src-shared/video';
import { createHandlers, registerIpc, type Handlers } from '../../src-main/ipc';

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
    'render:start': record('render:start', summary({ status: 'queued' })),
    'render:cancel': record('render:cancel', summary({ status: 'cancelled' })),
    'templates:list': record('templates:list', []),
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
    'app:info': record('app:info', { version: '0.1.0', dataDir: '/tmp/mouthpiece', ffmpeg: 'ffmpeg' }),
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
      project: { version: 1, title: 'Untitled video', quality: '720p', scenes: [{ text: 'Hello' }] },
    });
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
    expect([...registered.keys()].sort()).toEqual(
      [
        'app:info', 'render:cancel', 'render:start', 'templates:list', 'videos:create', 'videos:list',
        'avatars:list', 'avatars:import', 'avatars:cancel', 'avatars:rename', 'avatars:delete', 'avatars:preview',
        'voices:list', 'voices:import', 'voices:delete', 'voices:preview', 'lipsync:check',
      ].sort(),
    );
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
