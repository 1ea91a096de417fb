import type { BatchCheck, BatchSummary } from '../../src-shared/batch';
import type { ProjectInput } from '../../src-shared/project';
import type { VideoSummary } from '../../src-shared/video';
import type { Db } from '../db/connection';
import type { RenderQueue } from '../render/queue';

export interface BatchEvents {
  changed(batch: BatchSummary): void;
}

/** Personalised batches: one project with {{variables}} and a CSV become one queued video per row. */
export class Batches {
  constructor(
    readonly db: Db,
    readonly home: string,
    readonly queue: RenderQueue,
    readonly events: BatchEvents,
  ) {}

  /** Check a saved video's project against a CSV file. */
  async check(_videoId: string, _csvPath: string): Promise<BatchCheck> {
    throw new Error('not built yet');
  }

  /** Start a batch from a saved video's project (the editor) or a project (the CLI); `done` settles when every row has ended. */
  async start(_input: { videoId?: string; project?: ProjectInput; csvPath: string; outDir?: string }): Promise<{ batch: BatchSummary; done: Promise<BatchSummary> }> {
    throw new Error('not built yet');
  }

  async list(): Promise<BatchSummary[]> {
    return [];
  }

  async cancel(_batchId: string): Promise<BatchSummary> {
    throw new Error('not built yet');
  }

  /** The results CSV of a batch. */
  async resultsPath(_batchId: string): Promise<string> {
    throw new Error('not built yet');
  }

  /** A video changed (the queue's event): a batch row's end updates its batch and results file. */
  videoChanged(_video: VideoSummary): void {}
}
