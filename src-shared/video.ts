export const VIDEO_STATUSES = ['draft', 'queued', 'rendering', 'completed', 'failed', 'cancelled'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

export const RENDER_STAGES = ['speech', 'mouth', 'avatar', 'compose'] as const;
export type RenderStage = (typeof RENDER_STAGES)[number];

/** A video as the library shows it. */
export interface VideoSummary {
  id: string;
  title: string;
  status: VideoStatus;
  stage: RenderStage | null;
  progress: number;
  outputPath: string | null;
  error: string | null;
  durationSeconds: number | null;
  /** The video encoder of the last render (h264_nvenc, libx264...). */
  encoder: string | null;
  /** What the last render wants the user to know (a hardware encoder that failed, say). */
  note: string | null;
  /** The batch this video is one row of, and its spreadsheet row (the header is row 1). */
  batchId: string | null;
  batchRow: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RenderProgress {
  videoId: string;
  stage: RenderStage;
  /** Fraction of the whole render, 0..1. */
  progress: number;
  /** Fraction of the current stage, 0..1. */
  stageProgress: number;
  message?: string;
  /** Frames of video made per second of work, while frames are being made. */
  fps?: number;
  /** Seconds until the render is done, once the pace is known. */
  etaSeconds?: number;
}

/** The render statistics of the original design, read from the audit log. */
export interface RenderStats {
  /** How many videos are in each status now. */
  byStatus: Record<VideoStatus, number>;
  /** Renders finished, and the minutes of video they made. */
  finished: number;
  minutesOfVideo: number;
  /** Seconds of video made per second of rendering, averaged over finished renders, per execution provider and per encoder. */
  speed: { by: 'provider' | 'encoder'; key: string; renders: number; videoSecondsPerSecond: number }[];
}
