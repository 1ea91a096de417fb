import { z } from 'zod';
import { MAX_SCENES, MAX_SCRIPT_CHARS, QUALITIES, projectSchema } from './project';
import { templateSchema, type TemplateSummary } from './template';
import { modelChannels, type ModelEvents } from './model';
import type { AvatarProgress, AvatarSummary } from './avatar';
import type { RenderProgress, RenderStats, VideoSummary } from './video';
import { VOICE_ID_PATTERN, type VoiceSummary } from './voice';
import { MAX_BRIEF_CHARS, assistantSaveSchema, type AssistantDelta, type AssistantDraft, type AssistantSettings } from './assistant';
import type { BatchCheck, BatchSummary } from './batch';

const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'an id');
const credentials = z
  .object({ email: z.email().max(320), password: z.string().min(1).max(200), deviceName: z.string().trim().min(1).max(100).optional() })
  .strict();
const templateId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a template id');

/**
 * A project as the editor saves it while the user types: any shape the editor can hold, so an
 * unfinished scene (empty text, say) is kept, not refused. Rendering checks it strictly.
 */
export const projectDraftSchema = z.looseObject({
  title: z.string().max(200).optional(),
  scenes: z.array(z.looseObject({ text: z.string().max(MAX_SCRIPT_CHARS).optional() })).max(MAX_SCENES),
});
export type ProjectDraft = z.infer<typeof projectDraftSchema>;

/** The account the app renders for: the free defaults until the sync issue signs someone in. */
export interface AccountSummary {
  signedIn: boolean;
  email: string | null;
  tier: 'free' | 'premium';
  credits: number;
  /** Highest quality this tier may render. */
  maxQuality: (typeof QUALITIES)[number];
  /** Free renders carry a small "Made with Mouthpiece" mark. */
  watermark: boolean;
}

export interface Device {
  id: string;
  name: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

/** What the Account screen shows, beyond what renders need. */
export interface AccountDetails extends AccountSummary {
  devices: Device[];
  lastSyncAt: string | null;
  lastSyncError: string | null;
  /** Why the last grant was not used (tampered, expired, signed by another key), if it was not. */
  grantProblem: string | null;
  /** Spends made here and not yet settled with the cloud, and their credits. */
  pendingSpends: number;
  pendingCredits: number;
  /** Spends the cloud refused (another device spent the grant first while this one was offline). */
  refusedSpends: number;
}

/** What the About box shows. */
export interface AppInfo {
  version: string;
  /** Where the library, renders' work folders and caches live. */
  dataDir: string;
  /** The ffmpeg renders use (path and version). */
  ffmpeg: string;
  /** onnxruntime's execution providers on this machine, and the ones it could not load with why. */
  providers: { name: string; available: boolean; reason?: string }[];
}

/** What the encoder probe found for one ffmpeg. */
export interface EncoderReport {
  ffmpeg: string;
  version: string;
  candidates: { name: string; ok: boolean; reason?: string }[];
  /** The first candidate that really encoded a frame. */
  chosen: string;
}

export interface SettingsValue {
  /** A system ffmpeg to use when it has encoders the bundled one lacks; null finds one on PATH. */
  ffmpegPath: string | null;
  /** How many renders run at once (1 unless the machine is big). */
  renderConcurrency: number;
}

export const MAX_RENDER_CONCURRENCY = 4;
const voiceId = z.string().regex(VOICE_ID_PATTERN, 'a voice id like espeak:en-us');

/**
 * The one IPC contract between the renderer and main. Each channel is `feature:verb`, with a zod
 * schema for its input and the type of its value; main answers every call with
 * `{ok:true,value}` or `{ok:false,error:{code,message}}`.
 */
export const channels = {
  /** The video library, newest first. */
  'videos:list': { input: z.object({}).strict(), output: {} as VideoSummary[] },
  /** Create a draft video from a project (or from plain text, which becomes one scene). */
  'videos:create': {
    input: z.union([
      z.object({ project: projectSchema }).strict(),
      z
        .object({
          text: z.string().max(100_000),
          title: z.string().max(200).optional(),
          avatar: z.string().min(1).max(100).optional(),
          voice: z.string().min(1).max(4096).optional(),
          speed: z.number().min(0.5).max(2).optional(),
          lipSync: z.string().min(1).max(4096).optional(),
          /** The user's recording speaks instead of the voice; the text is then its transcript. */
          audio: z.string().min(1).max(4096).optional(),
        })
        .strict(),
    ]),
    output: {} as VideoSummary,
  },
  /** One video with the project the editor last saved for it. */
  'videos:get': { input: z.object({ videoId: id }).strict(), output: {} as { video: VideoSummary; project: ProjectDraft } },
  /**
   * Save a draft's project as the user edits it (called as they type). Refused only for a video
   * that is rendering; rendering checks the project strictly.
   */
  'videos:save': { input: z.object({ videoId: id, project: projectDraftSchema }).strict(), output: {} as VideoSummary },
  /** Queue a draft (or failed, or cancelled) video and render it; resolves when it is queued. */
  'render:start': { input: z.object({ videoId: id }).strict(), output: {} as VideoSummary },
  /** Cancel a queued or running render. */
  'render:cancel': { input: z.object({ videoId: id }).strict(), output: {} as VideoSummary },
  /** Templates the project can use: the built-in ones, then the user's. */
  'templates:list': { input: z.object({}).strict(), output: {} as TemplateSummary[] },
  /** Copy a template (built-in or the user's) into a new user template the user can change. */
  'templates:duplicate': {
    input: z.object({ templateId, name: z.string().trim().min(1).max(60).optional() }).strict(),
    output: {} as TemplateSummary,
  },
  /** Save changes to a user template (built-in ones are read-only: duplicate them first). */
  'templates:save': { input: z.object({ template: templateSchema }).strict(), output: {} as TemplateSummary },
  /** Delete a user template; projects that used it fall back to the built-in one of their format. */
  'templates:delete': { input: z.object({ templateId }).strict(), output: {} as { templateId: string } },
  /**
   * A still of one scene made by the real render pipeline (background, avatar, captions, logo,
   * watermark), as a data: URL of a JPEG; refuses, naming the field, when the scene cannot render.
   */
  'editor:preview': {
    input: z.object({ project: projectDraftSchema, sceneIndex: z.number().int().min(0).max(MAX_SCENES) }).strict(),
    output: {} as { url: string; width: number; height: number },
  },
  /** The account renders are made for: tier, credits and what the tier allows (from a verified grant, else the free defaults), devices and the last sync. */
  'account:get': { input: z.object({}).strict(), output: {} as AccountDetails },
  /** Sign in to the cloud; the app works without it. */
  'account:signIn': { input: credentials, output: {} as AccountDetails },
  /** Make an account and sign in with it. */
  'account:register': { input: credentials, output: {} as AccountDetails },
  /** Sign out; every local project stays, and spends not yet settled are sent later. */
  'account:signOut': { input: z.object({}).strict(), output: {} as AccountDetails },
  /** Settle with the cloud now (spends, the month's grant, devices). */
  'account:sync': { input: z.object({}).strict(), output: {} as AccountDetails },
  'account:devices': { input: z.object({}).strict(), output: {} as Device[] },
  /** Sign a device out of the account. */
  'account:removeDevice': { input: z.object({ deviceId: z.string().min(1).max(100) }).strict(), output: {} as Device[] },
  'settings:get': { input: z.object({}).strict(), output: {} as SettingsValue },
  /** Save settings; a field left out keeps its value. */
  'settings:save': {
    input: z
      .object({
        ffmpegPath: z.string().min(1).max(4096).nullable().optional(),
        renderConcurrency: z.number().int().min(1).max(MAX_RENDER_CONCURRENCY).optional(),
      })
      .strict(),
    output: {} as SettingsValue,
  },
  /** Show a finished video's file in the system's file manager; answers its path. */
  'render:reveal': { input: z.object({ videoId: id }).strict(), output: {} as { path: string } },
  /** Renders by status, minutes of video made, and average speed by execution provider and encoder. */
  'stats:get': { input: z.object({}).strict(), output: {} as RenderStats },
  /** Which video encoders really work here (probed by a one-frame encode, cached per ffmpeg). */
  'encoders:list': { input: z.object({}).strict(), output: {} as EncoderReport },
  /** Every avatar: the built-in presenter first, then the user's, newest first. */
  'avatars:list': { input: z.object({}).strict(), output: {} as AvatarSummary[] },
  /**
   * Import a photo (JPEG, PNG, WebP) or a 3-30 s clip of one face; resolves at once with the avatar
   * in 'preparing', then avatars:progress events and avatars:changed when it is ready or refused.
   */
  'avatars:import': {
    input: z.object({ path: z.string().min(1).max(4096), name: z.string().trim().min(1).max(100).optional() }).strict(),
    output: {} as AvatarSummary,
  },
  /** Stop a preparation; the avatar is marked cancelled and its files removed. */
  'avatars:cancel': { input: z.object({ avatarId: id }).strict(), output: {} as AvatarSummary },
  'avatars:rename': { input: z.object({ avatarId: id, name: z.string().trim().min(1).max(100) }).strict(), output: {} as AvatarSummary },
  /** Delete an avatar and its prepared files (never the user's original photo or clip). */
  'avatars:delete': { input: z.object({ avatarId: id }).strict(), output: {} as { avatarId: string } },
  /** The preview clip (the avatar saying a sample line) as a data: URL of an MP4. */
  'avatars:preview': { input: z.object({ avatarId: id }).strict(), output: {} as { url: string } },
  /** Every voice: espeak-ng's built-in ones (every language it has) and imported Piper voices. */
  'voices:list': { input: z.object({}).strict(), output: {} as VoiceSummary[] },
  /** Import a Piper voice: the path of its .onnx, with its .onnx.json beside it. */
  'voices:import': { input: z.object({ path: z.string().min(1).max(4096) }).strict(), output: {} as VoiceSummary },
  /** Delete an imported voice (its copied files); built-in voices cannot be deleted. */
  'voices:delete': { input: z.object({ voiceId }).strict(), output: {} as { voiceId: string } },
  /** A short sample of the voice speaking (the given text or a sentence in its language), as a data: URL of a WAV. */
  'voices:preview': { input: z.object({ voiceId, text: z.string().trim().min(1).max(500).optional() }).strict(), output: {} as { url: string } },
  /**
   * Check a Wav2Lip-compatible model the user picked for lip sync: resolves with the licence note
   * to show beside it, or refuses (naming the file) when it is not such a model.
   */
  'lipsync:check': { input: z.object({ path: z.string().min(1).max(4096) }).strict(), output: {} as { path: string; licence: string } },
  /** Version and environment, for the About box. */
  'app:info': {
    input: z.object({}).strict(),
    output: {} as AppInfo,
  },
  /** The script assistant's endpoint, model and whether a key is stored. */
  'assistant:get': { input: z.object({}).strict(), output: {} as AssistantSettings },
  /** Save the assistant's settings; the key is kept encrypted like the account's tokens. */
  'assistant:save': { input: assistantSaveSchema, output: {} as AssistantSettings },
  /**
   * Write a script from a brief: assistant:delta events carry the text as it arrives, and the
   * answer is a title and scenes checked against the project schema (or an error that says what
   * the endpoint did wrong). `project` gives the assistant the video's current settings.
   */
  'assistant:write': {
    input: z.object({ requestId: id, brief: z.string().trim().min(1).max(MAX_BRIEF_CHARS), project: projectDraftSchema.optional() }).strict(),
    output: {} as AssistantDraft,
  },
  /** Stop a request; its assistant:write rejects as cancelled. */
  'assistant:cancel': { input: z.object({ requestId: id }).strict(), output: {} as { requestId: string } },
  /** Check a video's project (its {{variables}}) against a CSV file: every problem with its row number, and the credits. */
  'batches:check': { input: z.object({ videoId: id, csvPath: z.string().min(1).max(4096) }).strict(), output: {} as BatchCheck },
  /**
   * Render one video per CSV row, queued together; refused (with the problems) unless the check
   * is clean and the credits cover the whole batch. outDir: the library's videos folder when left out.
   */
  'batches:start': {
    input: z.object({ videoId: id, csvPath: z.string().min(1).max(4096), outDir: z.string().min(1).max(4096).optional() }).strict(),
    output: {} as BatchSummary,
  },
  /** Every batch, newest first. */
  'batches:list': { input: z.object({}).strict(), output: {} as BatchSummary[] },
  /** Cancel every row not yet made; the rows made stay. */
  'batches:cancel': { input: z.object({ batchId: id }).strict(), output: {} as BatchSummary },
  /** Show the batch's results CSV in the system's file manager; answers its path. */
  'batches:reveal': { input: z.object({ batchId: id }).strict(), output: {} as { path: string } },
  /** The model registry (see src-shared/model.ts). */
  ...modelChannels,
} as const;

export type Channel = keyof typeof channels;
export type ChannelInput<C extends Channel> = z.input<(typeof channels)[C]['input']>;
export type ChannelOutput<C extends Channel> = (typeof channels)[C]['output'];

/** Events main sends to the page: `feature:event`. */
export interface Events extends ModelEvents {
  'account:changed': AccountDetails;
  'render:progress': RenderProgress;
  'videos:changed': VideoSummary;
  'avatars:progress': AvatarProgress;
  'avatars:changed': AvatarSummary;
  'assistant:delta': AssistantDelta;
  'batches:changed': BatchSummary;
}
export type EventName = keyof Events;
export const EVENT_NAMES: EventName[] = [
  'render:progress',
  'videos:changed',
  'avatars:progress',
  'avatars:changed',
  'models:progress',
  'models:changed',
  'models:removed',
  'account:changed',
  'assistant:delta',
  'batches:changed',
];

/** What the preload exposes on `window.mouthpiece`: invoke, on and pathForFile. */
export interface PreloadApi {
  invoke<C extends Channel>(
    channel: C,
    input: ChannelInput<C>,
  ): Promise<import('./errors').Result<ChannelOutput<C>>>;
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
  /**
   * The path on disk of a File the user dropped or picked, for avatars:import; '' when the File is
   * not a file on disk (dragged from a web page, say). Needed because Electron 32 removed File.path,
   * and a sandboxed, context-isolated page can learn the path only from webUtils.getPathForFile in
   * the preload (https://www.electronjs.org/docs/latest/api/web-utils). `file` is a DOM File,
   * described by shape because src-shared compiles without the DOM library.
   */
  pathForFile(file: { readonly name: string; readonly size: number; readonly lastModified: number }): string;
}
