import { z } from 'zod';

/** The script assistant's settings: any OpenAI-compatible chat endpoint (Ollama, LM Studio, a cloud one). */
export interface AssistantSettings {
  /** The API's base URL, e.g. http://127.0.0.1:11434/v1 (Ollama); /chat/completions is added. Null: not set up. */
  endpoint: string | null;
  /** The model name the endpoint knows, e.g. llama3.2. */
  model: string | null;
  /** Whether an API key is stored (the key itself never leaves main). */
  hasKey: boolean;
}

/** Longest brief the assistant takes. */
export const MAX_BRIEF_CHARS = 2000;

export const assistantSaveSchema = z
  .object({
    endpoint: z.string().trim().min(1).max(2048).nullable().optional(),
    model: z.string().trim().min(1).max(200).nullable().optional(),
    /** A new key; null removes the stored one; left out keeps it. */
    apiKey: z.string().trim().min(1).max(4096).nullable().optional(),
  })
  .strict();
export type AssistantSave = z.infer<typeof assistantSaveSchema>;

/** What the assistant wrote: a title and scenes, already checked against the project schema. */
export interface AssistantDraft {
  title: string;
  scenes: { text: string }[];
}

/** Text as it arrives from the endpoint, for one request. */
export interface AssistantDelta {
  requestId: string;
  text: string;
}

/** A JSON string's body as far as it has arrived, decoded; an escape cut in half is left out. */
function decodePartial(body: string): string {
  const whole = body.replace(/\\(u[0-9a-fA-F]{0,3})?$/, '');
  try {
    return JSON.parse(`"${whole}"`) as string;
  } catch {
    return whole;
  }
}

/**
 * The script so far, for people to read while a reply arrives: the title and each scene's text
 * taken out of the JSON the prompt asks for, a string cut mid-way shown as far as it goes. A reply
 * that does not start as that JSON (prose, a model thinking aloud first) is shown as it is.
 */
export function readableDraft(partial: string): string {
  const parts = [...partial.matchAll(/"(title|text)"\s*:\s*"((?:[^"\\]|\\.)*\\?)/g)].map((m) => decodePartial(m[2]));
  if (parts.length > 0) return parts.join('\n\n');
  // The JSON has begun but no text has come yet.
  return /^\s*(```|\{)/.test(partial) ? '' : partial;
}
