import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { openApp, type App } from '../../src-main/app';
import type { Result } from '../../src-shared/errors';
import {
  EVENT_NAMES,
  type Channel,
  type ChannelInput,
  type ChannelOutput,
  type EventName,
  type PreloadApi,
} from '../../src-shared/ipc';

/** The page as `npm run build` left it; the e2e tests run against the built renderer, not sources. */
export const RENDERER_DIR = resolve(import.meta.dirname, '../../out/renderer');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export interface HarnessOptions {
  /**
   * Folders the test's files are picked from, standing in for the user's disk: a picked or dropped
   * file with the name and bytes of one in these folders gets that file's real path, as Electron's
   * webUtils.getPathForFile gives, so what lies beside it (a Piper voice's .onnx.json) is there
   * too. Any other file is written under `uploads`.
   */
  localFolders?: string[];
  /** The cloud API the app signs in to (a real server started by the test); else openApp's default. */
  cloudUrl?: string;
}

export interface Harness {
  /** The page's address, http://127.0.0.1:PORT/ */
  url: string;
  /** The real main-process app the page talks to. */
  app: App;
  /** Its data folder, deleted by close(). */
  home: string;
  /** Where files the page picked or dropped are written (see pathForFile in the shim); deleted by close(). */
  uploads: string;
  close(): Promise<void>;
}

/**
 * Serve the built page and stand in for Electron's IPC over HTTP: POST /invoke/{channel} calls the
 * real handler, and /events streams the real app's events as Server-Sent Events. Everything behind
 * the preload is the code the desktop app runs. POST /upload?name= stands in for the disk a picked
 * or dropped file lives on: it answers the file's path in `options.localFolders`, or writes the
 * bytes under `uploads` and answers their path.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) {
    throw new Error(`${RENDERER_DIR}/index.html is missing: run \`npm run build\` before the e2e tests`);
  }
  const home = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-'));
  const uploads = await mkdtemp(join(tmpdir(), 'mouthpiece-e2e-uploads-'));
  let uploadCount = 0;
  const app = await openApp({ home, cloudUrl: options.cloudUrl });
  const streams = new Set<ServerResponse>();
  const stopEvents = app.onEvent((name, payload) => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const stream of streams) stream.write(frame);
  });

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'POST' && url.pathname.startsWith('/invoke/')) {
      const channel = decodeURIComponent(url.pathname.slice('/invoke/'.length));
      if (!Object.hasOwn(app.handlers, channel)) {
        return sendJson(response, 404, { ok: false, error: { code: 'NOT_FOUND', message: `no channel ${channel}` } });
      }
      const body = await readBody(request);
      const input: unknown = body === '' ? undefined : JSON.parse(body);
      return sendJson(response, 200, await app.handlers[channel as keyof App['handlers']](input));
    }
    if (request.method === 'POST' && url.pathname === '/upload') {
      const name = basename(url.searchParams.get('name') ?? '');
      if (!name || name === '.' || name === '..') return sendJson(response, 400, { error: 'upload: a file name is needed' });
      if (Number(request.headers['content-length'] ?? 0) > MAX_UPLOAD_BYTES) return sendJson(response, 413, { error: 'upload: too large' });
      // A folder per upload keeps the file's own name, which main puts in the avatar's name and errors.
      const folder = join(uploads, String(++uploadCount));
      await mkdir(folder);
      const path = join(folder, name);
      await pipeline(request, createWriteStream(path));
      const original = await findOriginal(options.localFolders ?? [], path);
      if (original) await rm(folder, { recursive: true });
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(original ?? path);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      // A comment line, so EventSource reports the stream open at once.
      response.write(': connected\n\n');
      streams.add(response);
      request.on('close', () => streams.delete(response));
      return;
    }
    if (request.method === 'GET') return serveFile(url.pathname, response);
    response.writeHead(405).end();
  }

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    app,
    home,
    uploads,
    async close() {
      stopEvents();
      for (const stream of streams) stream.end();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await app.close();
      // Retried: work main was still finishing (an editor preview, say) may write into home as it goes.
      await rm(home, { recursive: true, force: true, maxRetries: 5 });
      await rm(uploads, { recursive: true, force: true });
    },
  };
}

/** The file in `folders` with the name and bytes of `upload`, if there is one. */
async function findOriginal(folders: string[], upload: string): Promise<string | undefined> {
  const candidates = folders.map((folder) => join(folder, basename(upload))).filter((path) => existsSync(path));
  if (candidates.length === 0) return undefined;
  const bytes = await readFile(upload);
  for (const candidate of candidates) {
    if (bytes.equals(await readFile(candidate))) return candidate;
  }
  return undefined;
}

async function serveFile(pathname: string, response: ServerResponse): Promise<void> {
  const relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  const file = resolve(RENDERER_DIR, '.' + relative);
  if (!file.startsWith(RENDERER_DIR + sep) || !existsSync(file)) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`${pathname} not found`);
    return;
  }
  const body = await readFile(file);
  response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Debian's Chromium (CHROMIUM_PATH overrides), headless. */
export function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: install Chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Viewport {
  width: number;
  height: number;
}

export interface PageOptions extends HarnessOptions {
  /** The window's size; 1280x820 unless given. */
  viewport?: Viewport;
}

/** What `usePage` hands a test: the page and the app behind it, fresh for each test. */
export interface PageSession {
  readonly browser: Browser;
  readonly harness: Harness;
  readonly page: Page;
  /** The page's errors so far (page errors, console errors, responses of 400 and up). */
  readonly errors: string[];
}

/**
 * One Chromium for the describe block, and for each test a fresh app (its own data folder) with
 * the page open on it; closed after each test. Options may be a function, read before each test,
 * for values another hook makes (a scratch folder, say). A test file's own afterEach runs before
 * this one's (vitest runs after-hooks in reverse), so it may still use the page.
 */
export function usePage(options: PageOptions | (() => PageOptions) = {}): PageSession {
  let browser: Browser | undefined;
  let current: { harness: Harness; page: Page; errors: string[] } | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`usePage: ${what} is only there inside a test (or its beforeEach/afterEach)`);
    return value;
  };

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    const { viewport, ...harnessOptions } = typeof options === 'function' ? options() : options;
    const harness = await startHarness(harnessOptions);
    try {
      current = { harness, ...(await openPage(need(browser, 'the browser'), harness, { viewport })) };
    } catch (error) {
      await harness.close();
      throw error;
    }
  });
  afterEach(async () => {
    const ending = current;
    current = undefined;
    await ending?.page.context().close();
    await ending?.harness.close();
  });

  return {
    get browser() {
      return need(browser, 'the browser');
    },
    get harness() {
      return need(current, 'the harness').harness;
    },
    get page() {
      return need(current, 'the page').page;
    },
    get errors() {
      return need(current, 'the page').errors;
    },
  };
}

/**
 * Open the page with `window.mouthpiece` defined as the preload defines it, but carried over
 * fetch and EventSource instead of Electron IPC. Console errors and page errors are collected so
 * a test can show them when it fails.
 */
export async function openPage(
  browser: Browser,
  harness: Harness,
  { viewport = { width: 1280, height: 820 } }: { viewport?: Viewport } = {},
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // Under tsx, esbuild's keepNames wraps the shim's inner functions in __name(), which the page
  // lacks once the function is serialized (https://github.com/privatenumber/tsx/issues/113).
  await page.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
  await page.addInitScript(installPreloadShim, EVENT_NAMES);
  await page.goto(harness.url);
  return { page, errors };
}

// The DOM types the shim needs, spelled out because the test code compiles without lib "DOM".
interface PageEventSource {
  addEventListener(type: string, listener: (message: { data: string }) => void): void;
  removeEventListener(type: string, listener: (message: { data: string }) => void): void;
}
interface PageXhr {
  open(method: string, url: string, async: boolean): void;
  send(body: unknown): void;
  readonly status: number;
  readonly responseText: string;
}
interface PageGlobals {
  EventSource: new (url: string) => PageEventSource;
  XMLHttpRequest: new () => PageXhr;
}

/** Runs in the page, before its scripts; mirrors src-main/preload/index.ts. */
function installPreloadShim(eventNames: EventName[]): void {
  const page = globalThis as unknown as PageGlobals;
  let source: PageEventSource | null = null;
  const api: PreloadApi = {
    async invoke<C extends Channel>(channel: C, input: ChannelInput<C>): Promise<Result<ChannelOutput<C>>> {
      const response = await fetch(`/invoke/${encodeURIComponent(channel)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: input === undefined ? '' : JSON.stringify(input),
      });
      return (await response.json()) as Result<ChannelOutput<C>>;
    },
    on(event, listener) {
      if (!eventNames.includes(event)) throw new TypeError(`on: unknown event "${String(event)}"`);
      source ??= new page.EventSource('/events');
      const forward = (message: { data: string }) => listener(JSON.parse(message.data));
      source.addEventListener(event, forward);
      return () => source?.removeEventListener(event, forward);
    },
    // Electron's webUtils.getPathForFile is synchronous, so the page's code treats the path as a
    // plain string; a synchronous XHR keeps that true here while the bytes go to a real file.
    pathForFile(file) {
      const request = new page.XMLHttpRequest();
      request.open('POST', `/upload?name=${encodeURIComponent(file.name)}`, false);
      request.send(file);
      if (request.status !== 200) throw new Error(`pathForFile: the harness refused ${file.name}: ${request.responseText}`);
      return request.responseText;
    },
  };
  Object.defineProperty(globalThis, 'mouthpiece', { value: Object.freeze(api) });
}
