import { create } from 'zustand';
import { invoke, on } from '../api';
import { createAvatarsSlice, type AvatarsSlice } from './avatars';
import { createEditorSlice, type EditorSlice } from './editor';
import { createVideosSlice, type VideosSlice } from './videos';
import { createVoicesSlice, type VoicesSlice } from './voices';

export type Store = VideosSlice & AvatarsSlice & VoicesSlice & EditorSlice;

export const useStore = create<Store>()((...args) => ({
  ...createVideosSlice(...args),
  ...createAvatarsSlice(...args),
  ...createVoicesSlice(...args),
  ...createEditorSlice(...args),
}));

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Keep the store in step with main: listen first, then load the library, the avatars and the
 * voices, so no change made while a list is on its way is missed (voices change only through this
 * page, so they have no events). Returns the function that stops listening.
 */
export function connectStore(): () => void {
  const { receiveVideo, receiveVideos, receiveProgress, failLibrary } = useStore.getState();
  const { receiveAvatar, receiveAvatars, receiveAvatarProgress, failAvatars } = useStore.getState();
  const { receiveVoices, failVoices } = useStore.getState();
  const stops = [
    on('videos:changed', receiveVideo),
    on('render:progress', receiveProgress),
    on('avatars:changed', receiveAvatar),
    on('avatars:progress', receiveAvatarProgress),
  ];
  invoke('videos:list', {}).then(receiveVideos, (error: unknown) => failLibrary(messageOf(error)));
  invoke('avatars:list', {}).then(receiveAvatars, (error: unknown) => failAvatars(messageOf(error)));
  invoke('voices:list', {}).then(receiveVoices, (error: unknown) => failVoices(messageOf(error)));
  return () => stops.forEach((stop) => stop());
}
