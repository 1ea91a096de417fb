import type { Kysely } from 'kysely';
import * as initial from './001_initial';
import * as avatarPreparation from './002_avatar_preparation';
import * as templatesAndProjectV2 from './003_templates_and_project_v2';
import * as models from './004_models';
import * as accountSync from './005_account_sync';
import * as batches from './006_batches';

/** Every migration, in order. Listed by hand: a folder scan breaks once the main process is bundled. */
export const migrations: Record<string, { up(db: Kysely<unknown>): Promise<void> }> = {
  '001_initial': initial,
  '002_avatar_preparation': avatarPreparation,
  '003_templates_and_project_v2': templatesAndProjectV2,
  '004_models': models,
  '005_account_sync': accountSync,
  '006_batches': batches,
};
