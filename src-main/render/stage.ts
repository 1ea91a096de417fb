import { AppError, ErrorCode } from '../../src-shared/errors';
import { RENDER_STAGES, type RenderStage } from '../../src-shared/video';

export interface StageContext {
  signal: AbortSignal;
  /** The stage's own progress, 0..1. */
  report(fraction: number, message?: string): void;
}

/** Every stage has this shape: its input, a context with cancel and progress, its output. */
export type Stage<In, Out> = (input: In, context: StageContext) => Promise<Out>;

/** Share of a whole render's time each stage takes, measured on the 30 s benchmark script. */
export const STAGE_WEIGHTS: Record<RenderStage, number> = { speech: 0.12, mouth: 0.01, avatar: 0.07, compose: 0.8 };

export interface StageProgress {
  stage: RenderStage;
  stageProgress: number;
  progress: number;
  message?: string;
}

/** Runs stages in order, turning each stage's fraction into the whole render's and timing them. */
export class StageRunner {
  readonly timings: Partial<Record<RenderStage, number>> = {};

  constructor(
    private readonly signal: AbortSignal,
    private readonly onProgress: (progress: StageProgress) => void,
  ) {}

  async run<In, Out>(name: RenderStage, stage: Stage<In, Out>, input: In): Promise<Out> {
    if (this.signal.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
    const before = RENDER_STAGES.slice(0, RENDER_STAGES.indexOf(name)).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0);
    const report = (fraction: number, message?: string) => {
      const stageProgress = Math.min(1, Math.max(0, fraction));
      this.onProgress({ stage: name, stageProgress, progress: before + STAGE_WEIGHTS[name] * stageProgress, message });
    };
    const started = performance.now();
    report(0);
    const output = await stage(input, { signal: this.signal, report });
    if (this.signal.aborted) throw new AppError(ErrorCode.Cancelled, 'Cancelled.');
    report(1);
    this.timings[name] = (performance.now() - started) / 1000;
    return output;
  }
}
