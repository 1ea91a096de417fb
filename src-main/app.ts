import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import packageJson from '../package.json' with { type: 'json' };
import { AppError, ErrorCode } from '../src-shared/errors';
import type { AppInfo, EventName, Events, ProjectDraft, SettingsValue } from '../src-shared/ipc';
import type { Template } from '../src-shared/template';
import { readAccount } from './account/account';
import { AccountSync } from './account/sync';
import type { SecretBox } from './account/tokens';
import { openDatabase, type Db } from './db/connection';
import { createHandlers, type Handlers } from './ipc';
import { ffmpegPath, ffmpegVersion } from './media/ffmpeg';
import { describeProviders } from './inference/session';
import { listSupportedBackends } from 'onnxruntime-node';
import { AvatarLibrary } from './avatars/library';
import { checkWav2LipModel, WAV2LIP_LICENCE_NOTE } from './lipsync/wav2lip';
import { RenderQueue, encoderCacheFile, type QueueOptions } from './render/queue';
import { previewScene } from './render/preview';
import { useModelRegistry } from './models/catalogue';
import {
  ModelDownloads,
  activateModel,
  getModelStatistics,
  importModel,
  listCatalogueEntries,
  listModels,
  measureModel,
  missingModels,
  removeModel,
  searchModels,
  topModels,
  type MissingPurpose,
} from './models/registry';
import type { ModelImport, ModelKind, ModelSearch } from '../src-shared/model';
import type { AssistantSave } from '../src-shared/assistant';
import { ScriptAssistant } from './assistant/assistant';
import { Batches } from './batches/batches';
import { readStats } from './render/stats';
import { chooseEncoder } from './media/encoders';
import { resolveAvatar } from './avatars/library';
import { resolveVoice } from './voices/catalogue';
import { VoiceLibrary } from './voices/library';
import { readSettings, saveSettings } from './settings/settings';
import { deleteTemplate, duplicateTemplate, listTemplates, resolveTemplate, saveTemplate } from './templates/library';
import { createVideo, type CreateVideoInput } from './videos/createVideo';
import { getVideo, saveDraft } from './videos/drafts';
import { findVideo, listVideos, toSummary } from './videos/repository';

export interface App {
  db: Db;
  queue: RenderQueue;
  avatars: AvatarLibrary;
  voices: VoiceLibrary;
  /** The cloud account: the desktop app starts its background sync; the CLI settles after a render. */
  account: AccountSync;
  /** Model downloads: the desktop app recovers the ones its last run was closed during. */
  models: ModelDownloads;
  assistant: ScriptAssistant;
  batches: Batches;
  handlers: Handlers;
  onEvent(listener: (name: EventName, payload: unknown) => void): () => void;
  /** Pauses renders in flight (they resume on the next start) and closes the database; once, however often called. */
  close(): Promise<void>;
}

export const APP_VERSION = packageJson.version;

/** The GPU provider each system's onnxruntime-node can have (inference/session.ts tries it before the CPU). */
const GPU_PROVIDER: Record<string, string> = { win32: 'dml', darwin: 'coreml', linux: 'cuda' };

/** The version, the data folder, the ffmpeg in use and the execution providers this machine has: the About box and `--version`. */
export async function appInfo(home: string): Promise<AppInfo> {
  const report = describeProviders();
  const offered = new Map(listSupportedBackends().map((b) => [b.name as string, b.bundled]));
  const failed = new Map(report.failed.map((f) => [f.provider as string, f.reason]));
  const gpu = GPU_PROVIDER[process.platform];
  const providers = [...(gpu ? [gpu] : []), 'cpu'].map((name): AppInfo['providers'][number] => {
    if (failed.has(name)) return { name, available: false, reason: failed.get(name) };
    if ((report.order as string[]).includes(name)) return { name, available: true };
    if (offered.get(name) === false) {
      return { name, available: false, reason: "onnxruntime's CUDA libraries are not installed; the README's Packaging section says how to add them" };
    }
    return { name, available: false, reason: `this onnxruntime-node build has no ${name} provider for ${process.platform}/${process.arch}` };
  });
  const ffmpeg = ffmpegPath();
  return { version: APP_VERSION, dataDir: home, ffmpeg: `${await ffmpegVersion(ffmpeg)} (${ffmpeg})`, providers };
}

/** Wire the app by hand: database, render queue, use cases behind the IPC handlers. */
export interface AppOptions {
  home: string;
  /** Shows a file in the system's file manager (Electron's shell); elsewhere nothing is shown. */
  reveal?: (path: string) => void;
  /** The render queue's free-space lookup (statfs by default). */
  freeSpace?: QueueOptions['freeSpace'];
  /** Encrypts the account's tokens at rest (Electron's safeStorage); without it they sit in an owner-only file. */
  secretBox?: SecretBox;
  /** The cloud API (MOUTHPIECE_CLOUD_URL, else a local reference server on port 8787). */
  cloudUrl?: string;
}

export async function openApp({ home, reveal, freeSpace, secretBox, cloudUrl }: AppOptions): Promise<App> {
  const db = await openDatabase(join(home, 'mouthpiece.db'));
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  const emit = <E extends EventName>(name: E, payload: Events[E]) => listeners.forEach((l) => l(name, payload));
  const account = new AccountSync({
    db,
    serverUrl: cloudUrl ?? process.env.MOUTHPIECE_CLOUD_URL ?? 'http://127.0.0.1:8787',
    publicKey: process.env.MOUTHPIECE_CLOUD_KEY,
    tokenFile: join(home, 'account-tokens'),
    box: secretBox,
    onChange: (details) => emit('account:changed', details),
  });
  const queue = new RenderQueue(db, home, {
    progress: (p) => emit('render:progress', p),
    changed: (v) => {
      emit('videos:changed', v);
      batches.videoChanged(v);
    },
  }, {
    freeSpace,
    onSpent: () => {
      account.kick();
      // The credits left changed here and now, whether or not a sync follows.
      void account.details().then((details) => emit('account:changed', details), () => undefined);
    },
  });
  const avatars = new AvatarLibrary(db, home, {
    progress: (p) => emit('avatars:progress', p),
    changed: (a) => emit('avatars:changed', a),
  });
  const voices = new VoiceLibrary(db, home);
  const batches = new Batches(db, home, queue, { changed: (b) => emit('batches:changed', b) });
  const assistant = new ScriptAssistant(db, home, { box: secretBox, delta: (d) => emit('assistant:delta', d) });
  const detachModels = useModelRegistry(db, home);
  const models = new ModelDownloads(db, home, {
    progress: (p) => emit('models:progress', p),
    changed: (m) => emit('models:changed', m),
    removed: (modelId) => emit('models:removed', { modelId }),
  });
  let closed: Promise<void> | undefined;
  let preview: { controller: AbortController; made: Promise<unknown> } | undefined;
  const handlers = createHandlers({
    'videos:list': async () => (await listVideos(db)).map(toSummary),
    'videos:create': async (input: CreateVideoInput) => {
      const video = toSummary(await createVideo(db, input));
      emit('videos:changed', video);
      return video;
    },
    'videos:get': ({ videoId }: { videoId: string }) => getVideo(db, videoId),
    'videos:save': async ({ videoId, project }: { videoId: string; project: ProjectDraft }) => {
      const video = await saveDraft(db, videoId, project);
      emit('videos:changed', video);
      return video;
    },
    'render:start': async ({ videoId }: { videoId: string }) => (await queue.enqueue(videoId)).queued,
    'render:cancel': ({ videoId }: { videoId: string }) => queue.cancel(videoId),
    'render:reveal': async ({ videoId }: { videoId: string }) => {
      const row = await findVideo(db, videoId);
      if (row.status !== 'completed' || !row.output_path || !existsSync(row.output_path)) {
        throw new AppError(ErrorCode.NotFound, `"${row.title}" has no video file to show${row.output_path ? ` (${row.output_path} is gone)` : ''}; render it first`);
      }
      reveal?.(row.output_path);
      return { path: row.output_path };
    },
    'stats:get': () => readStats(db),
    'models:list': () => listModels(db),
    'models:search': (input: ModelSearch) => searchModels(db, input),
    'models:catalogue': ({ kind }: { kind?: ModelKind }) => listCatalogueEntries(db, kind),
    'models:download': async ({ modelId }: { modelId: string }) => (await models.start(modelId)).model,
    'models:cancel': ({ modelId }: { modelId: string }) => models.cancel(modelId),
    'models:import': async (input: ModelImport) => {
      const model = await importModel(db, home, input);
      emit('models:changed', model);
      return model;
    },
    'models:activate': async ({ modelId, acknowledgeLicence }: { modelId: string; acknowledgeLicence?: boolean }) => {
      const model = await activateModel(db, modelId, { acknowledgeLicence });
      emit('models:changed', model);
      return model;
    },
    'models:measure': async ({ modelId }: { modelId: string }) => {
      const model = await measureModel(db, modelId);
      emit('models:changed', model);
      return model;
    },
    'models:top': ({ kind, limit }: { kind?: ModelKind; limit?: number }) => topModels(db, kind, limit),
    'models:stats': () => getModelStatistics(db),
    'models:remove': ({ modelId }: { modelId: string }) => (models.running(modelId) ? models.cancel(modelId) : removeModel(db, home, modelId)),
    'models:missing': ({ purpose }: { purpose: MissingPurpose }) => missingModels(db, home, purpose),
    'templates:list': () => listTemplates(db),
    'templates:duplicate': ({ templateId, name }: { templateId: string; name?: string }) => duplicateTemplate(db, templateId, name),
    'templates:save': ({ template }: { template: Template }) => saveTemplate(db, template),
    'templates:delete': async ({ templateId }: { templateId: string }) => {
      const { switchedVideos } = await deleteTemplate(db, templateId);
      // An editor holding one of these projects must reload it, or its next save would bring the deleted id back.
      for (const id of switchedVideos) emit('videos:changed', toSummary(await findVideo(db, id)));
      return { templateId };
    },
    'editor:preview': async ({ project, sceneIndex }: { project: ProjectDraft; sceneIndex: number }) => {
      // The newest request wins: the editor asks again as the user types, and only the last still matters.
      preview?.controller.abort();
      const controller = new AbortController();
      const account = await readAccount(db);
      const made = previewScene(project, sceneIndex, {
        cacheDir: join(home, 'cache'),
        signal: controller.signal,
        lookupAvatar: (id) => resolveAvatar(db, id),
        lookupVoice: (id) => resolveVoice(id, db),
        lookupTemplate: (id) => resolveTemplate(db, id),
        account,
      });
      preview = { controller, made };
      try {
        return await made;
      } finally {
        if (preview?.controller === controller) preview = undefined;
      }
    },
    'account:get': () => account.details(),
    'account:signIn': ({ email, password, deviceName }: { email: string; password: string; deviceName?: string }) => account.signIn(email, password, deviceName),
    'account:register': async ({ email, password, deviceName }: { email: string; password: string; deviceName?: string }) => {
      await account.register(email, password);
      return account.signIn(email, password, deviceName);
    },
    'account:signOut': () => account.signOut(),
    'account:sync': async () => {
      await account.sync();
      return account.details();
    },
    'account:devices': () => account.devices(),
    'account:removeDevice': ({ deviceId }: { deviceId: string }) => account.removeDevice(deviceId),
    'settings:get': () => readSettings(db),
    'settings:save': (value: Partial<SettingsValue>) => saveSettings(db, value),
    'encoders:list': async () => {
      await mkdir(join(home, 'cache'), { recursive: true });
      return (await chooseEncoder({ cacheFile: encoderCacheFile(home), systemFfmpeg: (await readSettings(db)).ffmpegPath })).report;
    },
    'avatars:list': () => avatars.list(),
    'avatars:import': async ({ path, name }: { path: string; name?: string }) => (await avatars.import(path, { name })).avatar,
    'avatars:cancel': ({ avatarId }: { avatarId: string }) => avatars.cancel(avatarId),
    'avatars:rename': ({ avatarId, name }: { avatarId: string; name: string }) => avatars.rename(avatarId, name),
    'avatars:delete': ({ avatarId }: { avatarId: string }) => avatars.delete(avatarId),
    'avatars:preview': ({ avatarId }: { avatarId: string }) => avatars.preview(avatarId),
    'voices:list': () => voices.list(),
    'voices:import': ({ path }: { path: string }) => voices.import(path),
    'voices:delete': ({ voiceId }: { voiceId: string }) => voices.delete(voiceId),
    'voices:preview': ({ voiceId, text }: { voiceId: string; text?: string }) => voices.preview(voiceId, text),
    'lipsync:check': async ({ path }: { path: string }) => {
      await checkWav2LipModel(path);
      return { path, licence: WAV2LIP_LICENCE_NOTE };
    },
    'app:info': () => appInfo(home),
    'assistant:get': () => assistant.settings(),
    'assistant:save': (input: AssistantSave) => assistant.save(input),
    'assistant:write': (input: { requestId: string; brief: string; project?: ProjectDraft }) => assistant.write(input),
    'assistant:cancel': ({ requestId }: { requestId: string }) => assistant.cancel(requestId),
    'batches:check': ({ videoId, csvPath }: { videoId: string; csvPath: string }) => batches.check(videoId, csvPath),
    'batches:start': async (input: { videoId: string; csvPath: string; outDir?: string }) => (await batches.start(input)).batch,
    'batches:list': () => batches.list(),
    'batches:cancel': ({ batchId }: { batchId: string }) => batches.cancel(batchId),
    'batches:reveal': async ({ batchId }: { batchId: string }) => {
      const path = await batches.resultsPath(batchId);
      reveal?.(path);
      return { path };
    },
  });
  return {
    db,
    queue,
    avatars,
    voices,
    account,
    models,
    assistant,
    batches,
    handlers,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed ??= (async () => {
        // A preview still being drawn writes into the cache; stop it and let it finish before the database goes.
        preview?.controller.abort();
        await Promise.all([queue.close(), avatars.close(), models.close(), assistant.close(), preview?.made.catch(() => undefined)]);
        // Pausing renders changes batch rows; their batches' results files are written before the database goes.
        await batches.close();
        detachModels();
        await account.stop();
        await db.destroy();
      })();
      return closed;
    },
  };
}
