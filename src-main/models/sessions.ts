import { createSession, type ModelSession, type Provider } from '../inference/session';
import { countModelUse, modelsRevision, resolveModel } from './catalogue';

interface Opened {
  path: string;
  session: ModelSession;
}

/**
 * onnxruntime sessions of models found by kind or id, one per model per process. When the registry
 * changes (a model activated or removed) the next call resolves again and opens the new model;
 * the same file keeps its session. Opening a model counts a use in the registry. A failed open is
 * forgotten so the next call retries.
 */
export class ModelSessions {
  private readonly entries = new Map<string, { revision: number; opening: Promise<Opened> }>();

  constructor(private readonly providers?: Provider[]) {}

  async open(kindOrId: string): Promise<ModelSession> {
    const revision = modelsRevision();
    const cached = this.entries.get(kindOrId);
    if (cached && cached.revision === revision) return (await cached.opening).session;
    const entry = { revision, opening: this.load(kindOrId, cached?.opening) };
    this.entries.set(kindOrId, entry);
    entry.opening.catch(() => {
      if (this.entries.get(kindOrId) === entry) this.entries.delete(kindOrId);
    });
    return (await entry.opening).session;
  }

  private async load(kindOrId: string, previous: Promise<Opened> | undefined): Promise<Opened> {
    const path = await resolveModel(kindOrId);
    const before = await previous?.catch(() => undefined);
    if (before?.path === path) return before;
    // A replaced session is left to the garbage collector: a detection may still be running on it.
    const session = await createSession(path, this.providers);
    await countModelUse(path);
    return { path, session };
  }
}
