import { AppError, ErrorCode } from '../../src-shared/errors';
import type { VideoStatus } from '../../src-shared/video';

/**
 * Where a video may go from each status. Rendering may "move" to rendering to report a new
 * stage or fraction, or back to queued when the app stopped mid-render and resumes it; a finished,
 * failed or cancelled video may be queued again (re-render, retry).
 */
const NEXT: Record<VideoStatus, readonly VideoStatus[]> = {
  draft: ['queued'],
  queued: ['rendering', 'cancelled', 'failed'],
  rendering: ['rendering', 'queued', 'completed', 'failed', 'cancelled'],
  completed: ['queued'],
  failed: ['queued'],
  cancelled: ['queued'],
};

export function canTransition(from: VideoStatus, to: VideoStatus): boolean {
  return NEXT[from].includes(to);
}

/** Throws ILLEGAL_TRANSITION when a video may not go from `from` to `to`. */
export function assertTransition(from: VideoStatus, to: VideoStatus, videoId = 'video'): void {
  if (!canTransition(from, to)) {
    throw new AppError(
      ErrorCode.IllegalTransition,
      `${videoId}: cannot go from ${from} to ${to} (allowed: ${NEXT[from].join(', ') || 'none'})`,
    );
  }
}
