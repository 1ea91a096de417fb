import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the server treats one file. */
export interface Served {
  bytes: Buffer;
  /** Answer every request with this status and no body. */
  status?: number;
  /** Answer a Range request with the whole file (200), as some servers and proxies do. */
  ignoreRange?: boolean;
  /** The first request gets this many bytes, then the connection is cut (the length said more). */
  dropAfter?: number;
  /** Send this many bytes and then hold the connection open, as a stalled server would. */
  stallAfter?: number;
}

export interface Request {
  path: string;
  range: string | undefined;
  status: number;
}

export interface ModelServer {
  url(path: string): string;
  requests: Request[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 serving files from memory, with Range support (206 and
 * Content-Range), 404 for unknown paths, and the failures a download has to survive.
 */
export async function serveModels(files: Record<string, Served>): Promise<ModelServer> {
  const requests: Request[] = [];
  const dropped = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range;
    const file = files[path];
    const answer = (status: number) => requests.push({ path, range, status });
    if (!file) {
      answer(404);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    if (file.status) {
      answer(file.status);
      res.writeHead(file.status);
      res.end();
      return;
    }
    let start = 0;
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    if (match && !file.ignoreRange) {
      start = Number(match[1]);
      if (start >= file.bytes.length) {
        answer(416);
        res.writeHead(416, { 'content-range': `bytes */${file.bytes.length}` });
        res.end();
        return;
      }
      answer(206);
      res.writeHead(206, {
        'content-length': file.bytes.length - start,
        'content-range': `bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}`,
        'accept-ranges': 'bytes',
      });
    } else {
      answer(200);
      res.writeHead(200, { 'content-length': file.bytes.length, 'content-type': 'application/octet-stream', 'accept-ranges': file.ignoreRange ? 'none' : 'bytes' });
    }
    const body = file.bytes.subarray(start);
    if (file.dropAfter !== undefined && !dropped.has(path)) {
      dropped.add(path);
      res.write(body.subarray(0, file.dropAfter), () => res.destroy());
      return;
    }
    if (file.stallAfter !== undefined) {
      res.write(body.subarray(0, file.stallAfter));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
