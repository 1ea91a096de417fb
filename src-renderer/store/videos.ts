import type { StateCreator } from 'zustand';
import type { RenderProgress, VideoSummary } from '../../src-shared/video';

export interface VideosSlice {
  /** The library, keyed by video id. */
  videos: Record<string, VideoSummary>;
  /** Whether the first `videos:list` has answered; until then the library shows no empty state. */
  libraryLoaded: boolean;
  libraryError: string | null;
  receiveVideos(videos: VideoSummary[]): void;
  receiveVideo(video: VideoSummary): void;
  receiveProgress(progress: RenderProgress): void;
  failLibrary(message: string): void;
}

const ACTIVE = new Set<VideoSummary['status']>(['queued', 'rendering']);

/**
 * Pick what to show when a summary arrives. A list answer or event can overtake a later one, so an
 * older summary never replaces a newer one; and progress events are more frequent than summaries,
 * so a summary of the same render never moves the bar backwards.
 */
function merge(current: VideoSummary | undefined, incoming: VideoSummary): VideoSummary {
  if (!current) return incoming;
  if (incoming.updatedAt < current.updatedAt) return current;
  if (incoming.status === 'rendering' && current.status === 'rendering' && current.progress > incoming.progress) {
    return { ...incoming, progress: current.progress, stage: current.stage };
  }
  return incoming;
}

export const createVideosSlice: StateCreator<VideosSlice, [], [], VideosSlice> = (set) => ({
  videos: {},
  libraryLoaded: false,
  libraryError: null,
  receiveVideos: (videos) =>
    set((state) => {
      const next = { ...state.videos };
      for (const video of videos) next[video.id] = merge(next[video.id], video);
      return { videos: next, libraryLoaded: true, libraryError: null };
    }),
  receiveVideo: (video) => set((state) => ({ videos: { ...state.videos, [video.id]: merge(state.videos[video.id], video) } })),
  receiveProgress: (progress) =>
    set((state) => {
      const video = state.videos[progress.videoId];
      // A late progress event must not revive a finished render; one for a video the list has not
      // brought yet is dropped, and the `videos:changed` that follows fills it in.
      if (!video || !ACTIVE.has(video.status)) return state;
      return {
        videos: { ...state.videos, [video.id]: { ...video, stage: progress.stage, progress: progress.progress } },
      };
    }),
  failLibrary: (message) => set({ libraryError: message }),
});

/** The library newest first. */
export function sortVideos(videos: Record<string, VideoSummary>): VideoSummary[] {
  return Object.values(videos).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}
