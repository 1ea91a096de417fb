import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake endpoint answers a chat request. */
export type ChatReply =
  /** Server-Sent Events, one chunk per piece of `content`, the bytes written in `writes` TCP writes cut anywhere (mid-JSON, mid-character, between CR and LF). */
  | { kind: 'stream'; content: string; pieces?: number; writes?: number; crlf?: boolean; done?: boolean; holdAfter?: number; keepOpen?: boolean }
  /** One JSON reply, as a server that ignores stream: true gives. */
  | { kind: 'json'; content: string }
  /** Whatever body and status the test wants (a malformed reply, say). */
  | { kind: 'raw'; body: string; status?: number; contentType?: string }
  /** An HTTP error with an OpenAI-style body { error: { message } }. */
  | { kind: 'error'; status: number; message: string }
  /** Never answers: no status line, no headers. */
  | { kind: 'hang' }
  /** Starts a stream with the first pieces of `content`, then falls silent without ending it. */
  | { kind: 'stall'; content: string };

export interface ChatRequestSeen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { model?: string; stream?: boolean; messages?: { role: string; content: string }[] } & Record<string, unknown>;
}

export interface FakeChat {
  /** The base URL to give as the endpoint, http://127.0.0.1:PORT/v1 */
  endpoint: string;
  /** Every request so far, in order. */
  requests: ChatRequestSeen[];
  /** How the following requests are answered (until changed). */
  reply(reply: ChatReply): void;
  /** Lets a stream held by `holdAfter` go on. */
  release(): void;
  close(): Promise<void>;
}

/** Cut `text` into `count` pieces of about equal length (by characters, so words split too). */
function split(text: string, count: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/** The bytes of an OpenAI-style chat stream for `content`: a role chunk, a comment, content chunks, a finish chunk, [DONE]. */
function eventStream(content: string, pieces: number, crlf: boolean, done: boolean): string {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'fake', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const events = [
    ': the model is warm\n\n',
    chunk({ role: 'assistant', content: '' }),
    ...split(content, pieces).map((piece) => chunk({ content: piece })),
    chunk({}, 'stop'),
    ...(done ? ['data: [DONE]\n\n'] : []),
  ].join('');
  return crlf ? events.replaceAll('\n', '\r\n') : events;
}

const pause = () => new Promise((done) => setTimeout(done, 3));

/**
 * Write `bytes` in `count` separate writes, each flushed before the next (so the client reads them
 * apart); after `holdAfter` writes, wait for `held` before the rest.
 */
async function writeInPieces(response: ServerResponse, bytes: Buffer, count: number, holdAfter?: number, held?: Promise<void>): Promise<void> {
  const size = Math.max(1, Math.ceil(bytes.length / count));
  for (let i = 0, n = 0; i < bytes.length; i += size, n++) {
    if (n === holdAfter) await held;
    if (response.destroyed) return;
    response.write(bytes.subarray(i, i + size));
    await pause();
  }
}

/** A small OpenAI-compatible chat server on 127.0.0.1 whose answers the test chooses. */
export async function startFakeChat(first: ChatReply = { kind: 'stream', content: '{"title":"Fake","scenes":[{"text":"Hello."}]}' }): Promise<FakeChat> {
  let current = first;
  const requests: ChatRequestSeen[] = [];
  let release = () => {};
  let held = new Promise<void>((done) => (release = done));

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: ChatRequestSeen['body'] = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { unreadable: text };
    }
    requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body });
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}` } }));
      return;
    }
    const reply = current;
    switch (reply.kind) {
      case 'stream': {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        await writeInPieces(response, Buffer.from(eventStream(reply.content, reply.pieces ?? 8, reply.crlf ?? false, reply.done ?? true)), reply.writes ?? 23, reply.holdAfter, held);
        if (!reply.keepOpen) response.end();
        return;
      }
      case 'json':
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply.content }, finish_reason: 'stop' }] }),
        );
        return;
      case 'raw':
        response.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/plain' }).end(reply.body);
        return;
      case 'error':
        response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: reply.message, type: 'fake_error' } }));
        return;
      case 'hang':
        return;
      case 'stall': {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const stream = eventStream(reply.content, 4, false, true);
        response.write(stream.slice(0, Math.floor(stream.length / 2)));
        return;
      }
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/v1`,
    requests,
    reply(reply) {
      current = reply;
      held = new Promise<void>((done) => (release = done));
    },
    release() {
      release();
    },
    async close() {
      release();
      // Hung and stalled replies hold their sockets open; close() would wait for them forever.
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
