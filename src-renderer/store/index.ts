import { create } from 'zustand';
import { invoke, on } from '../api';
import { createVideosSlice, type VideosSlice } from './videos';

export type Store = VideosSlice;

export const useStore = create<Store>()((...args) => ({
  ...createVideosSlice(...args),
}));

/**
 * Keep the store in step with main: listen first, then load the library, so no change made while
 * the list is on its way is missed. Returns the function that stops listening.
 */
export function connectStore(): () => void {
  const { receiveVideo, receiveVideos, receiveProgress, failLibrary } = useStore.getState();
  const stops = [on('videos:changed', receiveVideo), on('render:progress', receiveProgress)];
  invoke('videos:list', {}).then(receiveVideos, (error: unknown) =>
    failLibrary(error instanceof Error ? error.message : String(error)),
  );
  return () => stops.forEach((stop) => stop());
}
