import { create } from 'zustand';
import { invoke, on } from '../api';
import { createAccountSlice, type AccountSlice } from './account';
import { createAvatarsSlice, type AvatarsSlice } from './avatars';
import { createBatchesSlice, type BatchesSlice } from './batches';
import { createEditorSlice, type EditorSlice } from './editor';
import { createScreensSlice, type ScreensSlice } from './screens';
import { createModelsSlice, type ModelsSlice } from './models';
import { createVideosSlice, type VideosSlice } from './videos';
import { createVoicesSlice, type VoicesSlice } from './voices';

export type Store = VideosSlice & AvatarsSlice & VoicesSlice & EditorSlice & ModelsSlice & AccountSlice & BatchesSlice & ScreensSlice;

export const useStore = create<Store>()((...args) => ({
  ...createVideosSlice(...args),
  ...createAvatarsSlice(...args),
  ...createVoicesSlice(...args),
  ...createEditorSlice(...args),
  ...createModelsSlice(...args),
  ...createAccountSlice(...args),
  ...createBatchesSlice(...args),
  ...createScreensSlice(...args),
}));

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Read the account afresh (the Account screen and the editor call this when they open). An answer
 * is dropped when another account arrived while it was on its way (an account:changed event, or
 * what sign-in or a sync answered): that one is as new or newer.
 */
export function loadAccount(): Promise<void> {
  const { receiveAccount, failAccount, accountVersion } = useStore.getState();
  const current = () => useStore.getState().accountVersion === accountVersion;
  return invoke('account:get', {}).then(
    (account) => {
      if (current()) receiveAccount(account);
    },
    (error: unknown) => {
      if (current()) failAccount(messageOf(error));
    },
  );
}

/**
 * Keep the store in step with main: listen first, then load the library, the avatars, the voices,
 * the models, the batches and the account, so no change made while a list is on its way is missed (voices
 * change only through this page, so they have no events). Returns the function that stops listening.
 */
export function connectStore(): () => void {
  const { receiveVideo, receiveVideos, receiveProgress, failLibrary } = useStore.getState();
  const { receiveAvatar, receiveAvatars, receiveAvatarProgress, failAvatars } = useStore.getState();
  const { receiveVoices, failVoices } = useStore.getState();
  const { receiveModels, receiveModel, receiveModelProgress, dropModel, failModels } = useStore.getState();
  const { receiveAccount } = useStore.getState();
  const { receiveBatch, receiveBatches, failBatches } = useStore.getState();
  const stops = [
    on('videos:changed', (video) => {
      receiveVideo(video);
      // A finished render records its spend here before any sync: the credits left change without an account:changed.
      if (video.status === 'completed') void loadAccount();
    }),
    on('account:changed', receiveAccount),
    on('render:progress', receiveProgress),
    on('avatars:changed', receiveAvatar),
    on('avatars:progress', receiveAvatarProgress),
    on('models:changed', receiveModel),
    on('models:progress', receiveModelProgress),
    on('models:removed', ({ modelId }) => dropModel(modelId)),
    on('batches:changed', receiveBatch),
  ];
  invoke('videos:list', {}).then(receiveVideos, (error: unknown) => failLibrary(messageOf(error)));
  invoke('avatars:list', {}).then(receiveAvatars, (error: unknown) => failAvatars(messageOf(error)));
  invoke('voices:list', {}).then(receiveVoices, (error: unknown) => failVoices(messageOf(error)));
  invoke('models:list', {}).then(receiveModels, (error: unknown) => failModels(messageOf(error)));
  invoke('batches:list', {}).then(receiveBatches, (error: unknown) => failBatches(messageOf(error)));
  void loadAccount();
  return () => stops.forEach((stop) => stop());
}
