import { z } from 'zod';

/** What a model does; one installed model per kind is active (used by renders). */
export const MODEL_KINDS = ['voice', 'face-detection', 'face-landmarks', 'lip-sync', 'segmentation', 'voice-activity'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** How the Models screen names each kind. */
export const MODEL_KIND_LABELS: Record<ModelKind, string> = {
  voice: 'voice',
  'face-detection': 'face detector',
  'face-landmarks': 'face landmarks',
  'lip-sync': 'lip-sync',
  segmentation: 'portrait segmentation',
  'voice-activity': 'voice activity detector',
};

/** downloading -> verifying -> installed, or failed (with a reason) from either. */
export const MODEL_STATUSES = ['downloading', 'verifying', 'installed', 'failed'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const MODEL_ORIGINS = ['catalogue', 'import'] as const;
export type ModelOrigin = (typeof MODEL_ORIGINS)[number];

/** Execution providers a latency can be measured on (those the main process's onnxruntime knows). */
export const MODEL_PROVIDERS = ['cuda', 'dml', 'coreml', 'cpu'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

/** One provider's measurement: median milliseconds per run, or why the model could not run there. */
export type ProviderLatency = { ms: number; runs: number; at: string } | { error: string; at: string };

/** A file of an installed model, in its folder. */
export interface ModelFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** A model in the registry (installed, being downloaded, or failed), as the Models screen shows it. */
export interface ModelSummary {
  id: string;
  name: string;
  kind: ModelKind;
  version: string | null;
  /** Voices: the language they speak (espeak-ng code, e.g. en-us). */
  language: string | null;
  origin: ModelOrigin;
  files: ModelFile[];
  /** Every file together. */
  bytes: number;
  /** The main (.onnx) file's sha256. */
  sha256: string;
  licence: string;
  commercialUse: boolean;
  /** Where it was downloaded from, or the path it was imported from. */
  source: string | null;
  status: ModelStatus;
  /** Why the download or import failed, for people; null otherwise. */
  error: string | null;
  /** Bytes on disk so far while downloading (resumes continue from here). */
  receivedBytes: number;
  active: boolean;
  /** Times a render or preparation opened it. */
  usageCount: number;
  latency: Partial<Record<ModelProvider, ProviderLatency>>;
  /** The best measured milliseconds per run over the providers, null before a measurement. */
  bestMs: number | null;
  createdAt: string;
  updatedAt: string;
}

/** A downloadable model from the catalogue that ships with the app (resources/models/catalogue.json). */
export interface CatalogueEntry {
  id: string;
  name: string;
  kind: ModelKind;
  version: string;
  language: string | null;
  /** Download size of every file. */
  bytes: number;
  licence: string;
  commercialUse: boolean;
  url: string;
  /** The registry's status of it, null when it was never downloaded. */
  status: ModelStatus | null;
}

export interface ModelSearchPage {
  items: ModelSummary[];
  /** Matches over every page. */
  total: number;
  limit: number;
  offset: number;
}

export interface ModelStatistics {
  byKind: Record<ModelKind, { installed: number; bytes: number; active: string | null }>;
  installed: number;
  bytes: number;
  /** Completed downloads, ever. */
  downloads: number;
  /** Failed downloads and imports, ever. */
  failures: number;
  /** Installed models not used yet. */
  unused: number;
}

export interface ModelProgress {
  modelId: string;
  receivedBytes: number;
  totalBytes: number;
  status: ModelStatus;
}

const modelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'a model id');
const kind = z.enum(MODEL_KINDS);
const path = z.string().min(1).max(4096);

export const modelSearchSchema = z
  .object({
    /** Matches the name or id, case-insensitively. */
    text: z.string().trim().max(200).optional(),
    kind: kind.optional(),
    language: z.string().trim().min(1).max(20).optional(),
    /** Matches inside the licence text, case-insensitively ("MIT", "non-commercial"). */
    licence: z.string().trim().min(1).max(100).optional(),
    commercialUse: z.boolean().optional(),
    status: z.enum(MODEL_STATUSES).optional(),
    limit: z.number().int().min(1).max(200).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type ModelSearch = z.input<typeof modelSearchSchema>;

export const modelImportSchema = z
  .object({
    path,
    /** Found from the model's inputs and outputs when left out. */
    kind: kind.optional(),
    name: z.string().trim().min(1).max(100).optional(),
    licence: z.string().trim().min(1).max(500).optional(),
    commercialUse: z.boolean().optional(),
  })
  .strict();
export type ModelImport = z.input<typeof modelImportSchema>;

/**
 * The models channels, to merge into `channels` in ./ipc.ts. Downloads are jobs: models:download
 * answers at once with the model in 'downloading'; models:progress and models:changed follow.
 */
export const modelChannels = {
  /** Installed, downloading and failed models, grouped by kind, active first. */
  'models:list': { input: z.object({}).strict(), output: {} as ModelSummary[] },
  /** Search the registry by name, kind, language and licence, a page at a time. */
  'models:search': { input: modelSearchSchema, output: {} as ModelSearchPage },
  /** The downloadable models, with size and licence, and whether each is already here. */
  'models:catalogue': { input: z.object({ kind: kind.optional() }).strict(), output: {} as CatalogueEntry[] },
  /** Start (or resume) downloading a catalogue model; refused when it is already installed. */
  'models:download': { input: z.object({ modelId }).strict(), output: {} as ModelSummary },
  /** Stop a download: its partial files are deleted and it goes back to being a catalogue entry. */
  'models:cancel': { input: z.object({ modelId }).strict(), output: {} as { modelId: string } },
  /** Import an ONNX model from a file: checked (ONNX, its kind's inputs and outputs, companion files), then copied. */
  'models:import': { input: modelImportSchema, output: {} as ModelSummary },
  /**
   * Make a model the active one of its kind. A model whose licence does not allow commercial use
   * is refused (FORBIDDEN, saying why) unless `acknowledgeLicence` is true.
   */
  'models:activate': { input: z.object({ modelId, acknowledgeLicence: z.boolean().optional() }).strict(), output: {} as ModelSummary },
  /** Run the model on each execution provider with inputs of its real shape; stores and answers the latencies. */
  'models:measure': { input: z.object({ modelId }).strict(), output: {} as ModelSummary },
  /** Installed models of a kind (or all), fastest measured first, then most used. */
  'models:top': { input: z.object({ kind: kind.optional(), limit: z.number().int().min(1).max(50).optional() }).strict(), output: {} as ModelSummary[] },
  'models:stats': { input: z.object({}).strict(), output: {} as ModelStatistics },
  /** Delete a model's files and its entry; an active model leaves its kind to the built-in default. */
  'models:remove': { input: z.object({ modelId }).strict(), output: {} as { modelId: string } },
  /**
   * Catalogue models a job needs that are not on this machine yet, with their download size (the
   * first photo avatar asks for the face models this way, and offers to download them).
   */
  'models:missing': { input: z.object({ purpose: z.enum(['photo-avatar', 'cutout', 'speech-timing']) }).strict(), output: {} as CatalogueEntry[] },
} as const;

/** Events the registry sends to the page, to merge into Events in ./ipc.ts. */
export interface ModelEvents {
  'models:progress': ModelProgress;
  'models:changed': ModelSummary;
  /** A cancelled download's entry is gone. */
  'models:removed': { modelId: string };
}
