import type { StateCreator } from 'zustand';
import type { ModelProgress, ModelSummary } from '../../src-shared/model';

export interface ModelsSlice {
  /** Every registry entry (installed, downloading, failed), keyed by id, as main last reported it. */
  models: Record<string, ModelSummary>;
  /** The latest progress of each download, keyed by model id; dropped once it ends. */
  modelProgress: Record<string, ModelProgress>;
  modelsError: string | null;
  /**
   * Counts main's reports of a changed or removed model. Lists read from main for one view (a
   * search page, the catalogue, the statistics) are read again when it moves: activating one model
   * deactivates another, and main reports only the one activated.
   */
  modelsRevision: number;
  receiveModels(models: ModelSummary[]): void;
  receiveModel(model: ModelSummary): void;
  receiveModelProgress(progress: ModelProgress): void;
  dropModel(modelId: string): void;
  /** Main changed something it sends no event for (a refused import counts as a failure): read the lists again. */
  refreshModels(): void;
  failModels(message: string): void;
}

const without = <T>(record: Record<string, T>, key: string): Record<string, T> => {
  if (!Object.hasOwn(record, key)) return record;
  const next = { ...record };
  delete next[key];
  return next;
};

export const createModelsSlice: StateCreator<ModelsSlice, [], [], ModelsSlice> = (set) => ({
  models: {},
  modelProgress: {},
  modelsError: null,
  modelsRevision: 0,
  receiveModels: (models) =>
    set((state) => {
      // Merged, not replaced: a download's event may have come while the list was on its way.
      const next = { ...state.models };
      for (const model of models) if (!next[model.id] || next[model.id]!.updatedAt <= model.updatedAt) next[model.id] = model;
      return { models: next, modelsError: null };
    }),
  receiveModel: (model) =>
    set((state) => ({
      // An answer can come after the events that followed it (a small download is installed before
      // models:download's answer arrives); the older report must not undo the newer.
      models: (state.models[model.id]?.updatedAt ?? '') > model.updatedAt ? state.models : { ...state.models, [model.id]: model },
      // A download that ended (installed or failed) shows no progress any more.
      modelProgress: model.status === 'downloading' || model.status === 'verifying' ? state.modelProgress : without(state.modelProgress, model.id),
      modelsRevision: state.modelsRevision + 1,
    })),
  receiveModelProgress: (progress) => set((state) => ({ modelProgress: { ...state.modelProgress, [progress.modelId]: progress } })),
  dropModel: (modelId) =>
    set((state) => ({
      models: without(state.models, modelId),
      modelProgress: without(state.modelProgress, modelId),
      modelsRevision: state.modelsRevision + 1,
    })),
  refreshModels: () => set((state) => ({ modelsRevision: state.modelsRevision + 1 })),
  failModels: (message) => set({ modelsError: message }),
});
