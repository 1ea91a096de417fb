import type { StateCreator } from 'zustand';
import type { RenderProgress, VideoSummary } from '../../src-shared/video';

export interface VideosSlice {
  /** The library, keyed by video id. */
  videos: Record<string, VideoSummary>;
  /** The latest progress event of each render in flight (its fps and time left), keyed by video id. */
  renderProgress: Record<string, RenderProgress>;
  /** Whether the first `videos:list` has answered; until then the library shows no empty state. */
  libraryLoaded: boolean;
  libraryError: string | null;
  receiveVideos(videos: VideoSummary[]): void;
  receiveVideo(video: VideoSummary): void;
  receiveProgress(progress: RenderProgress): void;
  failLibrary(message: string): void;
}

const ACTIVE = new Set<VideoSummary['status']>(['queued', 'rendering']);

/** True while a video waits in the queue or renders. */
export const isActive = (video: VideoSummary) => ACTIVE.has(video.status);

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

type Slice = Pick<VideosSlice, 'videos' | 'renderProgress'>;

/** Take in summaries; a render that stopped loses its live progress. */
function receive(state: Slice, incoming: VideoSummary[]): Slice {
  const videos = { ...state.videos };
  let renderProgress = state.renderProgress;
  for (const video of incoming) {
    const after = merge(videos[video.id], video);
    videos[video.id] = after;
    if (!isActive(after) && renderProgress[video.id]) {
      renderProgress = { ...renderProgress };
      delete renderProgress[video.id];
    }
  }
  return { videos, renderProgress };
}

export const createVideosSlice: StateCreator<VideosSlice, [], [], VideosSlice> = (set) => ({
  videos: {},
  renderProgress: {},
  libraryLoaded: false,
  libraryError: null,
  receiveVideos: (videos) => set((state) => ({ ...receive(state, videos), libraryLoaded: true, libraryError: null })),
  receiveVideo: (video) => set((state) => receive(state, [video])),
  receiveProgress: (progress) =>
    set((state) => {
      const video = state.videos[progress.videoId];
      // A late progress event must not revive a finished render; one for a video the list has not
      // brought yet is dropped, and the `videos:changed` that follows fills it in.
      if (!video || !isActive(video)) return state;
      return {
        videos: { ...state.videos, [video.id]: { ...video, stage: progress.stage, progress: progress.progress } },
        renderProgress: { ...state.renderProgress, [video.id]: progress },
      };
    }),
  failLibrary: (message) => set({ libraryError: message }),
});

/** The library newest first. */
export function sortVideos(videos: Record<string, VideoSummary>): VideoSummary[] {
  return Object.values(videos).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

const RENDER_ORDER: Record<VideoSummary['status'], number> = { rendering: 0, queued: 1, completed: 2, failed: 2, cancelled: 2, draft: 3 };

/**
 * Every video that was ever queued (drafts are not renders): rendering ones on top, then queued,
 * then finished ones; within each, the newest first (by when its status last changed).
 */
export function sortRenders(videos: Record<string, VideoSummary>): VideoSummary[] {
  return Object.values(videos)
    .filter((video) => video.status !== 'draft')
    .sort((a, b) => RENDER_ORDER[a.status] - RENDER_ORDER[b.status] || (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
}
