import { AppError } from '../src-shared/errors';
import type { Channel, ChannelInput, ChannelOutput, EventName, Events, PreloadApi } from '../src-shared/ipc';

declare global {
  interface Window {
    /** Set by the preload (src-main/preload); the only way this page reaches main. */
    readonly mouthpiece: PreloadApi;
  }
}

/** Call a channel; resolves with its value or throws an AppError carrying main's code and message. */
export async function invoke<C extends Channel>(channel: C, input: ChannelInput<C>): Promise<ChannelOutput<C>> {
  const result = await window.mouthpiece.invoke(channel, input);
  if (!result.ok) throw new AppError(result.error.code, result.error.message);
  return result.value;
}

/** Listen to an event from main; returns the function that stops listening. */
export function on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
  return window.mouthpiece.on(event, listener);
}

/**
 * The path on disk of a picked or dropped File, for avatars:import; '' when it is not a file on
 * disk (an image dragged from a web page, say).
 */
export function pathForFile(file: File): string {
  return window.mouthpiece.pathForFile(file);
}
