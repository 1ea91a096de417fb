import { request, createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createCloud, type Cloud, type CloudOptions } from '../../src-cloud/app';
import { openCloudDatabase, type CloudDb } from '../../src-cloud/db';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export interface RunningCloud {
  url: string;
  port: number;
  cloud: Cloud;
  db: CloudDb;
  stop(): Promise<void>;
}

/** The real cloud server on 127.0.0.1 over a real SQLite file; `port` 0 takes a free one. */
export async function startCloud(file: string, options: Omit<CloudOptions, 'db'> = {}, port = 0): Promise<RunningCloud> {
  const db = await openCloudDatabase(file);
  const cloud = await createCloud({ db, ...options });
  const bound = await cloud.listen(port, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    cloud,
    db,
    stop: async () => {
      await cloud.close();
      await db.destroy();
    },
  };
}

/** What the proxy does with the next request to a path. */
export type Fault =
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Forward it, let the server finish, but answer only after the client has given up. */
  | { kind: 'slow' }
  /** Forward it, let the server commit, then run `then` (kill the server) and drop the connection. */
  | { kind: 'drop-after-commit'; then?: () => Promise<void> }
  /** Run `first` (kill the server) before forwarding; the client sees the connection fail. */
  | { kind: 'before'; first: () => Promise<void> };

/** A small HTTP proxy in front of the cloud that injects faults, and counts what it saw. */
export interface FaultProxy {
  url: string;
  target: number;
  seen: string[];
  fail(pathPrefix: string, ...faults: Fault[]): void;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(target: number, req: IncomingMessage, payload: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, async (res) => {
      resolve({ status: res.statusCode ?? 502, headers: res.headers, body: await body(res) });
    });
    out.on('error', reject);
    out.end(payload);
  });
}

export async function startProxy(target: number): Promise<FaultProxy> {
  const faults: { prefix: string; fault: Fault }[] = [];
  const proxy: FaultProxy = {
    url: '',
    target,
    seen: [],
    fail: (prefix, ...more) => faults.push(...more.map((fault) => ({ prefix, fault }))),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  const server: Server = createServer(async (req, res) => {
    proxy.seen.push(`${req.method} ${req.url}`);
    const payload = await body(req);
    const index = faults.findIndex((f) => req.url?.startsWith(f.prefix));
    const fault = index >= 0 ? faults.splice(index, 1)[0].fault : null;
    try {
      if (fault?.kind === 'answer') {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        return res.end(fault.body === undefined ? '' : JSON.stringify(fault.body));
      }
      if (fault?.kind === 'before') await fault.first();
      const answer = await forward(proxy.target, req, payload);
      if (fault?.kind === 'slow') {
        if (!res.destroyed && !res.writableEnded) await new Promise((resolve) => res.once('close', resolve));
        return;
      }
      if (fault?.kind === 'drop-after-commit') {
        await fault.then?.();
        return res.destroy();
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

export async function api(url: string, method: string, path: string, options: { body?: unknown; token?: string; raw?: string } = {}) {
  const response = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}
