import { RENDER_STAGES, type RenderProgress, type RenderStage, type VideoStatus } from '../../../src-shared/video';

export const STATUS_LABELS: Record<VideoStatus, string> = {
  draft: 'Draft',
  queued: 'Queued',
  rendering: 'Rendering',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const STAGE_LABELS: Record<RenderStage, string> = {
  speech: 'Speaking the script',
  mouth: 'Timing the mouth shapes',
  avatar: 'Animating the presenter',
  compose: 'Composing the video',
};

/** "Timing the mouth shapes · step 2 of 4" */
export function stageText(stage: RenderStage): string {
  return `${STAGE_LABELS[stage]} · step ${RENDER_STAGES.indexOf(stage) + 1} of ${RENDER_STAGES.length}`;
}

/** "1:05": a video's length. */
export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** "about 40 s", "about 1 min 10 s", "about 1 h 5 min": past a minute, steps of 5 s so the text does not flicker. */
export function formatTimeLeft(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  const rounded = Math.round(seconds / 5) * 5;
  if (rounded < 3600) {
    const rest = rounded % 60;
    return `about ${Math.floor(rounded / 60)} min${rest ? ` ${rest} s` : ''}`;
  }
  const minutes = Math.round((rounded % 3600) / 60);
  return `about ${Math.floor(rounded / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/**
 * "32 fps · about 1 min 10 s left", from what the progress event knows; '' when it knows neither
 * (main sends fps only while frames are made, and a time left only once the pace is known).
 */
export function paceText(progress: Pick<RenderProgress, 'fps' | 'etaSeconds'> | undefined): string {
  const parts: string[] = [];
  const { fps, etaSeconds } = progress ?? {};
  if (fps !== undefined && Number.isFinite(fps) && fps > 0) parts.push(`${fps < 10 ? fps.toFixed(1) : Math.round(fps)} fps`);
  if (etaSeconds !== undefined && Number.isFinite(etaSeconds) && etaSeconds >= 0) parts.push(`${formatTimeLeft(etaSeconds)} left`);
  return parts.join(' · ');
}

/** "2.1× real time": seconds of video made per second of rendering. */
export function formatSpeed(videoSecondsPerSecond: number): string {
  const digits = videoSecondsPerSecond < 0.1 ? 2 : 1;
  return `${videoSecondsPerSecond.toFixed(digits)}× real time`;
}

/** "42 s" under a minute, else "12.5 min": how much video the finished renders made. */
export function formatVideoMade(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  return seconds < 60 ? `${seconds} s` : `${(seconds / 60).toFixed(1)} min`;
}

/**
 * The file: URL of a path on disk, as Node's pathToFileURL writes it: POSIX paths and Windows
 * drive paths (C:\Videos\a b.mp4 -> file:///C:/Videos/a%20b.mp4).
 */
export function fileUrl(path: string): string {
  const slashed = path.replace(/\\/g, '/');
  const absolute = /^[A-Za-z]:\//.test(slashed) ? `/${slashed}` : slashed;
  const encoded = absolute
    .split('/')
    .map((segment, index) => (index === 1 && /^[A-Za-z]:$/.test(segment) ? segment : encodeURIComponent(segment)))
    .join('/');
  return `file://${encoded}`;
}

export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** When something happened, in the user's locale. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
