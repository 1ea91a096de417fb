import type { AssistantDelta, AssistantDraft, AssistantSave, AssistantSettings } from '../../src-shared/assistant';
import type { ProjectDraft } from '../../src-shared/ipc';
import type { SecretBox } from '../account/tokens';
import type { Db } from '../db/connection';

export interface AssistantOptions {
  /** Encrypts the API key at rest (Electron's safeStorage); without it the key sits in an owner-only file. */
  box?: SecretBox;
  /** Text as it arrives. */
  delta(delta: AssistantDelta): void;
}

/** The script assistant: a brief becomes scenes through an OpenAI-compatible chat endpoint. */
export class ScriptAssistant {
  constructor(
    readonly db: Db,
    readonly home: string,
    readonly options: AssistantOptions,
  ) {}

  async settings(): Promise<AssistantSettings> {
    throw new Error('not built yet');
  }

  async save(_input: AssistantSave): Promise<AssistantSettings> {
    throw new Error('not built yet');
  }

  async write(_input: { requestId: string; brief: string; project?: ProjectDraft }): Promise<AssistantDraft> {
    throw new Error('not built yet');
  }

  async cancel(requestId: string): Promise<{ requestId: string }> {
    return { requestId };
  }

  /** Stop every request in flight. */
  async close(): Promise<void> {}
}
