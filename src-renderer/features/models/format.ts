import { MODEL_KIND_LABELS, MODEL_PROVIDERS, type ModelKind, type ModelProvider, type ModelSummary } from '../../../src-shared/model';

export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** How the screen names an execution provider. */
export const PROVIDER_LABELS: Record<ModelProvider, string> = {
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'Core ML',
  cpu: 'CPU',
};

/** "Face detector", for headings; MODEL_KIND_LABELS is lower case, for the middle of a sentence. */
export const kindHeading = (kind: ModelKind) => MODEL_KIND_LABELS[kind].charAt(0).toUpperCase() + MODEL_KIND_LABELS[kind].slice(1);

/** A model's measurements in the order providers are listed, those never measured left out. */
export function measuredProviders(model: Pick<ModelSummary, 'latency'>): ModelProvider[] {
  return MODEL_PROVIDERS.filter((provider) => model.latency[provider] !== undefined);
}

/** "232 KB", "2.4 MB", "1.20 GB": sizes as download pages write them (powers of ten). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${Math.round(bytes / 1e3)} KB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** "6.7 ms", "0.21 ms", "1.2 s": a measured latency. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
