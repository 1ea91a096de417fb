import { z } from 'zod';
import { projectSchema } from './project';
import type { RenderProgress, VideoSummary } from './video';

const id = z.string().regex(/^[0-9a-f-]{8,64}$/, 'an id');

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
      z.object({ text: z.string().max(100_000), title: z.string().max(200).optional() }).strict(),
    ]),
    output: {} as VideoSummary,
  },
  /** Queue a draft (or failed, or cancelled) video and render it; resolves when it is queued. */
  'render:start': { input: z.object({ videoId: id }).strict(), output: {} as VideoSummary },
  /** Cancel a queued or running render. */
  'render:cancel': { input: z.object({ videoId: id }).strict(), output: {} as VideoSummary },
  /** Templates the project can use. */
  'templates:list': {
    input: z.object({}).strict(),
    output: {} as { id: string; name: string; format: string; description: string }[],
  },
  /** Version and environment, for the About box. */
  'app:info': {
    input: z.object({}).strict(),
    output: {} as { version: string; dataDir: string; ffmpeg: string },
  },
} as const;

export type Channel = keyof typeof channels;
export type ChannelInput<C extends Channel> = z.input<(typeof channels)[C]['input']>;
export type ChannelOutput<C extends Channel> = (typeof channels)[C]['output'];

/** Events main sends to the page: `feature:event`. */
export interface Events {
  'render:progress': RenderProgress;
  'videos:changed': VideoSummary;
}
export type EventName = keyof Events;
export const EVENT_NAMES: EventName[] = ['render:progress', 'videos:changed'];

/** What the preload exposes on `window.mouthpiece`: exactly invoke and on. */
export interface PreloadApi {
  invoke<C extends Channel>(
    channel: C,
    input: ChannelInput<C>,
  ): Promise<import('./errors').Result<ChannelOutput<C>>>;
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
}
