import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { EventName, PreloadApi } from '../../src-shared/ipc';

// The events the page may listen to. Not EVENT_NAMES from src-shared/ipc: importing a value from
// there bundles zod into the preload (180 kB). The Record type makes tsc fail here when the
// contract gains an event this list lacks.
const EVENTS: Record<EventName, true> = {
  'render:progress': true,
  'videos:changed': true,
  'avatars:progress': true,
  'avatars:changed': true,
  'models:progress': true,
  'models:changed': true,
  'models:removed': true,
  'account:changed': true,
  'assistant:delta': true,
  'batches:changed': true,
};
const EVENT_LIST = Object.keys(EVENTS).join(', ');

// The page gets invoke, on and pathForFile, never ipcRenderer itself: main answers only the
// channels it registered, and the page can listen only to the events named in the contract.
const api: PreloadApi = {
  invoke(channel, input) {
    if (typeof channel !== 'string') return Promise.reject(new TypeError('invoke: the channel must be a string'));
    return ipcRenderer.invoke(channel, input);
  },
  on(event, listener) {
    if (!Object.hasOwn(EVENTS, event)) {
      throw new TypeError(`on: unknown event "${String(event)}"; expected one of ${EVENT_LIST}`);
    }
    if (typeof listener !== 'function') throw new TypeError('on: the listener must be a function');
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload as never);
    ipcRenderer.on(event, forward);
    return () => {
      ipcRenderer.removeListener(event, forward);
    };
  },
  pathForFile(file) {
    // The contract describes the File by shape (src-shared has no DOM types); what arrives here
    // from the page is the DOM File itself, which is all getPathForFile accepts.
    return webUtils.getPathForFile(file as File);
  },
};

contextBridge.exposeInMainWorld('mouthpiece', api);
