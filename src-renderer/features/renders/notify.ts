import { useEffect } from 'react';
import { useStore } from '../../store';
import type { VideoSummary } from '../../../src-shared/video';

/** Renders that took longer than this are worth a system notification: the user has likely looked away. */
const LONG_RENDER_MS = 60_000;
const ASKED_KEY = 'mouthpiece.notificationsAsked';

const notificationsExist = () => typeof Notification !== 'undefined';

/**
 * Ask for permission to notify, once: on the first render the user starts from the Renders screen
 * (a click, which browsers require for the prompt). Remembered across reloads, so a refusal is
 * never asked again.
 */
export function askToNotifyOnce(): void {
  if (!notificationsExist() || Notification.permission !== 'default') return;
  try {
    if (localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, new Date().toISOString());
  } catch {
    // Storage refused (a locked-down profile): asking again next time is the lesser harm.
  }
  Notification.requestPermission().catch(() => undefined);
}

function notifyFinished(video: VideoSummary): void {
  const body = video.durationSeconds !== null ? `"${video.title}" is ready (${Math.round(video.durationSeconds)} s of video).` : `"${video.title}" is ready.`;
  try {
    new Notification('Render finished', { body, tag: `render-${video.id}` });
  } catch {
    // Some platforms allow notifications only from a service worker; the Renders screen still shows it.
  }
}

/**
 * Show a system notification when a render this page watched for more than a minute completes,
 * if the user allowed notifications. Timed from when the page first saw it rendering, since a
 * render that started before the page opened has no start time the page knows.
 */
export function useLongRenderNotifications(): void {
  useEffect(() => {
    const started = new Map<string, number>();
    const watch = (videos: Record<string, VideoSummary>) => {
      for (const video of Object.values(videos)) {
        if (video.status === 'rendering') {
          if (!started.has(video.id)) started.set(video.id, Date.now());
          continue;
        }
        const since = started.get(video.id);
        if (since === undefined || video.status === 'queued') continue;
        started.delete(video.id);
        if (video.status === 'completed' && Date.now() - since > LONG_RENDER_MS && notificationsExist() && Notification.permission === 'granted') {
          notifyFinished(video);
        }
      }
    };
    watch(useStore.getState().videos);
    return useStore.subscribe((state, previous) => {
      if (state.videos !== previous.videos) watch(state.videos);
    });
  }, []);
}
