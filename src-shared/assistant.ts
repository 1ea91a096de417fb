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
