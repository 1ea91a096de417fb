import { afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The shared folder of models and fixtures beside the project; MOUTHPIECE_SHARED overrides it. */
export const SHARED_DIR = resolve(process.env.MOUTHPIECE_SHARED ?? resolve(import.meta.dirname, '../../../shared'));

/** Path of a file in the shared folder; throws naming the file when it is missing. */
export function sharedFile(relative: string): string {
  const path = resolve(SHARED_DIR, relative);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: tests read models and fixtures from ../shared (set MOUTHPIECE_SHARED to another copy)`);
  }
  return path;
}

/**
 * Point the app's model lookup at the shared models for the tests of the calling file (call it at
 * the top of a describe or the file), restoring what was there afterwards.
 */
export function useSharedModels(): void {
  const saved = process.env.MOUTHPIECE_MODELS;
  beforeAll(() => {
    process.env.MOUTHPIECE_MODELS = resolve(SHARED_DIR, 'models');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.MOUTHPIECE_MODELS;
    else process.env.MOUTHPIECE_MODELS = saved;
  });
}
