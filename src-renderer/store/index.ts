import { create } from 'zustand';
import { invoke, on } from '../api';
import { createAvatarsSlice, type AvatarsSlice } from './avatars';
import { createEditorSlice, type EditorSlice } from './editor';
import { createModelsSlice, type ModelsSlice } from './models';
import { createVideosSlice, type VideosSlice } from './videos';
import { createVoicesSlice, type VoicesSlice } from './voices';

export type Store = VideosSlice & AvatarsSlice & VoicesSlice & EditorSlice & ModelsSlice;

export const useStore = create<Store>()((...args) => ({
  ...createVideosSlice(...args),
  ...createAvatarsSlice(...args),
  ...createVoicesSlice(...args),
  ...createEditorSlice(...args),
  ...createModelsSlice(...args),
}));

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Keep the store in step with main: listen first, then load the library, the avatars, the voices
 * and the models, so no change made while a list is on its way is missed (voices change only
 * through this page, so they have no events). Returns the function that stops listening.
 */
export function connectStore(): () => void {
  const { receiveVideo, receiveVideos, receiveProgress, failLibrary } = useStore.getState();
  const { receiveAvatar, receiveAvatars, receiveAvatarProgress, failAvatars } = useStore.getState();
  const { receiveVoices, failVoices } = useStore.getState();
  const { receiveModels, receiveModel, receiveModelProgress, dropModel, failModels } = useStore.getState();
  const stops = [
    on('videos:changed', receiveVideo),
    on('render:progress', receiveProgress),
    on('avatars:changed', receiveAvatar),
    on('avatars:progress', receiveAvatarProgress),
    on('models:changed', receiveModel),
    on('models:progress', receiveModelProgress),
    on('models:removed', ({ modelId }) => dropModel(modelId)),
  ];
  invoke('videos:list', {}).then(receiveVideos, (error: unknown) => failLibrary(messageOf(error)));
  invoke('avatars:list', {}).then(receiveAvatars, (error: unknown) => failAvatars(messageOf(error)));
  invoke('voices:list', {}).then(receiveVoices, (error: unknown) => failVoices(messageOf(error)));
  invoke('models:list', {}).then(receiveModels, (error: unknown) => failModels(messageOf(error)));
  return () => stops.forEach((stop) => stop());
}
