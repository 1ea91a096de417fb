import type { StateCreator } from 'zustand';
import type { BatchSummary } from '../../src-shared/batch';

export interface BatchesSlice {
  /** Every batch, keyed by batch id. */
  batches: Record<string, BatchSummary>;
  batchesError: string | null;
  /** What batches:list answered: fills in the batches no event has brought yet. */
  receiveBatches(batches: BatchSummary[]): void;
  /** A batches:changed event, or what start or cancel answered. */
  receiveBatch(batch: BatchSummary): void;
  failBatches(message: string): void;
}

export const createBatchesSlice: StateCreator<BatchesSlice, [], [], BatchesSlice> = (set) => ({
  batches: {},
  batchesError: null,
  // The store listens before it lists, and main sends an event for every change, so a batch an
  // event brought is at least as new as the list's copy of it.
  receiveBatches: (list) => set((state) => ({ batches: { ...Object.fromEntries(list.map((batch) => [batch.id, batch])), ...state.batches }, batchesError: null })),
  receiveBatch: (batch) => set((state) => ({ batches: { ...state.batches, [batch.id]: batch } })),
  failBatches: (message) => set({ batchesError: message }),
});

/** The batches newest first. */
export function sortBatches(batches: Record<string, BatchSummary>): BatchSummary[] {
  return Object.values(batches).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}
