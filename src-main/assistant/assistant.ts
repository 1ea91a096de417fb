import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assistantSaveSchema, type AssistantDelta, type AssistantDraft, type AssistantSave, type AssistantSettings } from '../../src-shared/assistant';
import { AppError, ErrorCode } from '../../src-shared/errors';
import type { ProjectDraft } from '../../src-shared/ipc';
import { describeIssues } from '../../src-shared/project';
import { sealedFile, type SecretBox } from '../account/tokens';
import { recordEvent } from '../audit/log';
import type { Db } from '../db/connection';
import { requestChat } from './chat';
import { buildMessages, readScript } from './script';

export interface AssistantOptions {
  /** Encrypts the API key at rest (Electron's safeStorage); without it the key sits in an owner-only file. */
  box?: SecretBox;
  /** Text as it arrives. */
  delta(delta: AssistantDelta): void;
  /** How long the endpoint may take to start answering (a local model may be loading); 30 s by default. */
  firstByteTimeoutMs?: number;
  /** How long a reply may fall silent once started; 60 s by default. */
  idleTimeoutMs?: number;
}

const ENDPOINT_KEY = 'assistant.endpoint';
const MODEL_KEY = 'assistant.model';
/** Text is passed on at most this often, so a fast model does not flood the page with events. */
const DELTA_INTERVAL_MS = 50;
const EXAMPLES = 'e.g. http://127.0.0.1:11434/v1 for Ollama or http://127.0.0.1:1234/v1 for LM Studio';

/** An endpoint as stored: an http(s) base URL without a trailing slash or the /chat/completions people paste. */
function normaliseEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new AppError(ErrorCode.BadInput, `endpoint: "${endpoint}" is not a web address; give the API's base URL, ${EXAMPLES}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError(ErrorCode.BadInput, `endpoint: "${endpoint}" is not an http or https address; give the API's base URL, ${EXAMPLES}`);
  }
  url.hash = '';
  return url.toString().replace(/\/+$/, '').replace(/\/chat\/completions$/, '');
}

/** Passes text on as it arrives, at most once per interval, joined. */
function coalesce(emit: (text: string) => void) {
  let pending = '';
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    last = Date.now();
    if (pending) emit(pending);
    pending = '';
  };
  return {
    push(text: string) {
      pending += text;
      const wait = last + DELTA_INTERVAL_MS - Date.now();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    flush,
    drop() {
      clearTimeout(timer);
      pending = '';
    },
  };
}

/** The script assistant: a brief becomes scenes through an OpenAI-compatible chat endpoint. */
export class ScriptAssistant {
  private readonly running = new Map<string, { controller: AbortController; reason?: 'cancelled' | 'first-byte' | 'idle' }>();
  private readonly keyFile: string;

  constructor(
    readonly db: Db,
    readonly home: string,
    readonly options: AssistantOptions,
  ) {
    this.keyFile = join(home, 'assistant-key');
  }

  private key() {
    return sealedFile(this.keyFile, this.options.box, 'the API key was encrypted by the app; enter it again in Settings');
  }

  async settings(): Promise<AssistantSettings> {
    const rows = await this.db.selectFrom('settings').selectAll().where('key', 'in', [ENDPOINT_KEY, MODEL_KEY]).execute();
    const read = (key: string) => {
      const row = rows.find((r) => r.key === key);
      try {
        const value: unknown = row ? JSON.parse(row.value_json) : null;
        return typeof value === 'string' && value ? value : null;
      } catch {
        return null; // a damaged value reads as not set
      }
    };
    return { endpoint: read(ENDPOINT_KEY), model: read(MODEL_KEY), hasKey: existsSync(this.keyFile) };
  }

  /** Save what is given (the rest keeps its value): an http(s) endpoint, a model name, a key (null removes it). */
  async save(input: AssistantSave): Promise<AssistantSettings> {
    const parsed = assistantSaveSchema.safeParse(input);
    if (!parsed.success) throw new AppError(ErrorCode.BadInput, describeIssues(parsed.error, 'assistant'));
    const { endpoint, model, apiKey } = parsed.data;
    const values: [string, string | null | undefined][] = [
      [ENDPOINT_KEY, endpoint == null ? endpoint : normaliseEndpoint(endpoint)],
      [MODEL_KEY, model],
    ];
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of values) {
        if (value === undefined) continue;
        if (value === null) {
          await trx.deleteFrom('settings').where('key', '=', key).execute();
          continue;
        }
        const json = JSON.stringify(value);
        await trx.insertInto('settings').values({ key, value_json: json }).onConflict((oc) => oc.column('key').doUpdateSet({ value_json: json })).execute();
      }
    });
    if (apiKey === null) await this.key().clear();
    else if (apiKey !== undefined) await this.key().write(apiKey);
    return this.settings();
  }

  /**
   * Ask the endpoint for a script from `brief`: its text goes out as delta events while it
   * arrives, and the answer is a title and scenes the project schema accepts.
   */
  async write(input: { requestId: string; brief: string; project?: ProjectDraft }): Promise<AssistantDraft> {
    const { requestId, brief, project } = input;
    const { endpoint, model } = await this.settings();
    if (!endpoint || !model) {
      const missing = [!endpoint && 'its endpoint', !model && 'a model'].filter(Boolean).join(' and ');
      throw new AppError(ErrorCode.BadInput, `The script assistant is not set up: set ${missing} in Settings (${EXAMPLES})`);
    }
    if (this.running.has(requestId)) throw new AppError(ErrorCode.BadInput, `requestId: ${requestId} is already writing; use a new id for each request`);
    let apiKey: string | null;
    try {
      apiKey = await this.key().read();
    } catch (error) {
      throw new AppError(ErrorCode.Forbidden, (error as Error).message);
    }

    const url = `${endpoint}/chat/completions`;
    const firstByteMs = this.options.firstByteTimeoutMs ?? 30_000;
    const idleMs = this.options.idleTimeoutMs ?? 60_000;
    const state: { controller: AbortController; reason?: 'cancelled' | 'first-byte' | 'idle' } = { controller: new AbortController() };
    this.running.set(requestId, state);
    let timer: NodeJS.Timeout | undefined;
    const stopAfter = (ms: number, reason: 'first-byte' | 'idle') => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state.reason ??= reason;
        state.controller.abort();
      }, ms);
    };
    const deltas = coalesce((text) => this.options.delta({ requestId, text }));
    stopAfter(firstByteMs, 'first-byte');
    try {
      const content = await requestChat({
        url,
        model,
        messages: buildMessages(brief, project),
        apiKey,
        signal: state.controller.signal,
        reason: () => state.reason,
        received: () => stopAfter(idleMs, 'idle'),
        text: deltas.push,
        firstByteMs,
        idleMs,
      });
      deltas.flush();
      const draft = readScript(content, url);
      await recordEvent(this.db, 'assistant.written', null, {
        host: new URL(endpoint).host,
        model,
        scenes: draft.scenes.length,
        chars: draft.scenes.reduce((n, scene) => n + scene.text.length, 0),
      });
      return draft;
    } catch (error) {
      deltas.drop();
      throw error;
    } finally {
      clearTimeout(timer);
      // Leaves no connection open whichever way the request ended.
      state.controller.abort();
      this.running.delete(requestId);
    }
  }

  /** Stop a request; its write() rejects as cancelled. An id that is not writing (any more) is ignored. */
  async cancel(requestId: string): Promise<{ requestId: string }> {
    const state = this.running.get(requestId);
    if (state) {
      state.reason ??= 'cancelled';
      state.controller.abort();
    }
    return { requestId };
  }

  /** Stop every request in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((requestId) => this.cancel(requestId)));
  }
}
