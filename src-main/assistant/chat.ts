import { AppError, ErrorCode } from '../../src-shared/errors';
import type { ChatMessage } from './script';

/**
 * Splits a Server-Sent Events stream into the data of each event, however its bytes were cut:
 * lines end in LF, CRLF or CR (a CR at a chunk's end may be half of a CRLF), comments are skipped,
 * and an event's data lines are joined with LF.
 */
export class EventStreamParser {
  private buffer = '';
  private data: string[] = [];

  /** The data of each event completed by `text`. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      // Wait for the next chunk: this CR may be followed by the LF of a CRLF.
      if (char === '\r' && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), events);
      if (char === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The event left unfinished when the stream ended (servers that forget the last blank line). */
  end(): string[] {
    const events: string[] = [];
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ''), events);
    this.buffer = '';
    if (this.data.length) events.push(this.data.join('\n'));
    this.data = [];
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    const value = colon < 0 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
}

export interface ChatRequest {
  /** The full URL, …/chat/completions. */
  url: string;
  model: string;
  messages: ChatMessage[];
  apiKey: string | null;
  /** Aborts the request; `reason()` says why, so the error names it. */
  signal: AbortSignal;
  reason(): 'cancelled' | 'first-byte' | 'idle' | undefined;
  /** Called as each piece of the answer's body arrives: the first ends the first-byte wait, each restarts the idle one. */
  received(): void;
  /** Text of the reply as it arrives. */
  text(piece: string): void;
  firstByteMs: number;
  idleMs: number;
}

/** More than any script the project schema takes; a model that runs on past it is looping. */
export const MAX_ANSWER_CHARS = 200_000;

const ERROR_BODY_BYTES = 64 * 1024;

/** The server's own words about an error: error.message of an OpenAI-style body, else its first line. */
function serverSays(body: string): string {
  let said: unknown;
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    said = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message ?? json.detail);
  } catch {
    said = /^\s*</.test(body) ? undefined : body;
  }
  if (typeof said !== 'string' || !said.trim()) return '';
  const short = said.trim().replace(/\s+/g, ' ');
  return short.length > 200 ? `${short.slice(0, 200)}…` : short;
}

function httpError(status: number, body: string, url: string, model: string): AppError {
  const said = serverSays(body);
  const answered = `${url} answered HTTP ${status}${said ? ` (“${said}”)` : ''}`;
  if (status === 401 || status === 403) {
    return new AppError(ErrorCode.Forbidden, `${answered}: the API key is missing or wrong; enter the endpoint's key in Settings`);
  }
  if (status === 404) {
    return new AppError(ErrorCode.NotFound, `${answered}: check the endpoint in Settings (it usually ends in /v1) and that the model "${model}" is there (for Ollama: ollama pull ${model})`);
  }
  if (status === 429) return new AppError(ErrorCode.Io, `${answered}: the endpoint is busy or over its limit; wait a moment and try again`);
  if (status >= 500) return new AppError(ErrorCode.Io, `${answered}: the endpoint failed; try again, or look at its log`);
  return new AppError(ErrorCode.BadInput, `${answered}: the endpoint refused the request; check the endpoint and the model "${model}" in Settings`);
}

function malformed(url: string, what: string): AppError {
  return new AppError(ErrorCode.Io, `${url} answered with ${what}, not an OpenAI-compatible chat reply; check the endpoint in Settings (it usually ends in /v1)`);
}

/** The text of one streamed chunk (choices[0].delta.content), or of a whole reply (choices[0].message.content). */
function contentOf(json: unknown, url: string, whole: boolean): string {
  const reply = json as { choices?: { delta?: { content?: unknown }; message?: { content?: unknown } }[]; error?: { message?: unknown } | string } | null;
  if (reply && typeof reply === 'object' && reply.error) {
    const said = typeof reply.error === 'string' ? reply.error : String(reply.error.message ?? 'an error');
    throw new AppError(ErrorCode.Io, `${url} failed while answering (“${said.slice(0, 200)}”); try again, or look at its log`);
  }
  if (!reply || typeof reply !== 'object' || !Array.isArray(reply.choices)) throw malformed(url, whole ? 'JSON without choices' : 'an event without choices');
  // A chunk with no choices carries usage figures only.
  const choice = reply.choices[0];
  if (!choice) {
    if (whole) throw malformed(url, 'a reply without choices');
    return '';
  }
  const content = whole ? choice.message?.content : (choice.delta?.content ?? choice.message?.content);
  if (content === undefined || content === null) {
    if (whole) throw malformed(url, 'a reply without choices[0].message.content');
    return '';
  }
  if (typeof content !== 'string') throw malformed(url, 'content that is not text');
  return content;
}

/**
 * Send one chat completion request asking for a stream, and read the answer as Server-Sent
 * Events or, from a server that does not stream, as one JSON reply. Returns the whole text; the
 * caller's signal and timers stop it, and its errors name the URL and what to do.
 */
export async function requestChat(request: ChatRequest): Promise<string> {
  const { url, model } = request;
  const stopped = (): AppError | null => {
    const reason = request.reason();
    if (reason === 'cancelled') return new AppError(ErrorCode.Cancelled, 'Cancelled.');
    if (reason === 'first-byte') {
      return new AppError(ErrorCode.Io, `${url} did not answer within ${request.firstByteMs / 1000} s; is the model still loading? Try again, or check the endpoint and the model in Settings`);
    }
    if (reason === 'idle') return new AppError(ErrorCode.Io, `${url} stopped answering for ${request.idleMs / 1000} s in the middle of its reply; try again`);
    return null;
  };

  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream, application/json',
        ...(request.apiKey ? { authorization: `Bearer ${request.apiKey}` } : {}),
      },
      body: JSON.stringify({ model, messages: request.messages, stream: true }),
      signal: request.signal,
    });
  } catch (error) {
    const reason = stopped();
    if (reason) throw reason;
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new AppError(ErrorCode.Io, `${url} cannot be reached (${why}): is Ollama or LM Studio running? Check the endpoint in Settings`);
  }

  const decoder = new TextDecoder();
  const chunks = async function* (limit = Infinity): AsyncGenerator<string> {
    let size = 0;
    try {
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        request.received();
        size += bytes.length;
        yield decoder.decode(bytes, { stream: true });
        if (size > limit) break;
      }
      yield decoder.decode();
    } catch (error) {
      const reason = stopped();
      if (reason) throw reason;
      throw new AppError(ErrorCode.Io, `${url} broke off its answer (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); try again`);
    }
  };

  if (!response.ok) {
    let body = '';
    for await (const text of chunks(ERROR_BODY_BYTES)) body += text;
    throw httpError(response.status, body, url, model);
  }

  const eventStream = (response.headers.get('content-type') ?? '').includes('text/event-stream');
  let mode: 'events' | 'json' | undefined = eventStream ? 'events' : undefined;
  const parser = new EventStreamParser();
  let whole = '';
  let content = '';
  let events = 0;
  let done = false;
  const take = (data: string) => {
    events++;
    if (data.trim() === '[DONE]') {
      done = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw malformed(url, `an event that is not JSON (“${data.slice(0, 80)}”)`);
    }
    const piece = contentOf(json, url, false);
    if (piece) {
      content += piece;
      request.text(piece);
    }
  };

  for await (const text of chunks()) {
    if (mode === undefined) {
      // A server that ignores stream: true answers with one JSON object; SSE starts with a field or a comment.
      const start = text.trimStart();
      if (start) mode = start.startsWith('{') ? 'json' : 'events';
    }
    if (mode === 'events') {
      for (const data of parser.push(text)) {
        if (!done) take(data);
      }
    } else {
      whole += text;
    }
    if (content.length + whole.length > MAX_ANSWER_CHARS) {
      throw new AppError(ErrorCode.Io, `${url} went on past ${MAX_ANSWER_CHARS} characters without finishing; try again, or ask for a shorter video`);
    }
    // Some servers hold the connection open after [DONE]; nothing after it matters.
    if (done) break;
  }

  if (mode === 'json') {
    let json: unknown;
    try {
      json = JSON.parse(whole);
    } catch {
      throw malformed(url, `a body that is not JSON (“${whole.trim().slice(0, 80)}”)`);
    }
    content = contentOf(json, url, true);
    if (content) request.text(content);
    return content;
  }
  if (!done) for (const data of parser.end()) take(data);
  if (events === 0) throw malformed(url, mode === undefined ? 'an empty body' : 'a body that is neither JSON nor Server-Sent Events');
  return content;
}
