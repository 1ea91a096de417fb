import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app as electronApp, BrowserWindow, dialog, ipcMain, Notification, safeStorage, session, shell, type IpcMainInvokeEvent } from 'electron';
import type { VideoSummary } from '../src-shared/video';
import { openApp, type App } from './app';
import { registerIpc } from './ipc';
import { defaultHome } from './paths';
import { PROJECT_EXTENSION, importProjectFile } from './videos/projectFile';
import { toSummary } from './videos/repository';

// A packaged app's resources sit beside app.asar as plain files (electron-builder's extraResources),
// where ffmpeg can read the fonts; paths.ts resourcesDir() reads this. The render worker inherits it.
if (electronApp.isPackaged) process.env.MOUTHPIECE_RESOURCES ??= join(process.resourcesPath, 'resources');

// Bundled to out/main/index.js; the preload and the page sit beside it in out/.
const outDir = resolve(import.meta.dirname, '..');
const preloadPath = join(outDir, 'preload', 'index.cjs');
const pageFile = join(outDir, 'renderer', 'index.html');
const pageUrl = pathToFileURL(pageFile).href;
// Set by `electron-vite dev` only; a packaged app always loads the built page.
const devServerUrl = !electronApp.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;

let mainWindow: BrowserWindow | null = null;

/** True when a URL is our page: the built index.html, or any page of the dev server. */
function isOurPage(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (devServerUrl) return parsed.origin === new URL(devServerUrl).origin;
  parsed.hash = '';
  parsed.search = '';
  return parsed.href === pageUrl;
}

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return mainWindow !== null && event.sender === mainWindow.webContents && frame !== null && isOurPage(frame.url);
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 780,
    minWidth: 720,
    minHeight: 520,
    title: 'Mouthpiece',
    backgroundColor: '#f6f5f2',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(pageFile);
  return win;
}

/** Project files the system asked us to open (double-click, "Open with"), from the command line or macOS. */
const projectFilesIn = (argv: string[]) => argv.filter((arg) => arg.toLowerCase().endsWith(PROJECT_EXTENSION));
const pendingFiles: string[] = projectFilesIn(process.argv.slice(1));
let openFile: ((file: string) => void) | undefined;
// macOS sends open-file, possibly before the app is ready.
electronApp.on('open-file', (event, file) => {
  event.preventDefault();
  if (openFile) openFile(file);
  else pendingFiles.push(file);
});

async function start(): Promise<void> {
  // One window for the library: a second launch (opening a file on Windows or Linux) hands its files to this one.
  if (!electronApp.requestSingleInstanceLock()) {
    electronApp.quit();
    return;
  }
  electronApp.on('second-instance', (_event, argv) => {
    for (const file of projectFilesIn(argv)) openFile?.(file);
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  await electronApp.whenReady();
  // The page needs no camera, microphone, notifications or anything else a site may ask for.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  const home = process.env.MOUTHPIECE_HOME ? defaultHome() : electronApp.getPath('userData');
  const core: App = await openApp({
    home,
    reveal: (path) => shell.showItemInFolder(path),
    // The account's tokens are encrypted with the system's keychain where it has one.
    secretBox: safeStorage.isEncryptionAvailable()
      ? { encrypt: (text) => safeStorage.encryptString(text), decrypt: (data) => safeStorage.decryptString(data) }
      : undefined,
  });
  core.account.start();
  await core.models.recover();
  registerIpc(ipcMain, core.handlers, isTrustedSender);
  core.onEvent((name, payload) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(name, payload);
  });
  core.onEvent((name, payload) => {
    if (name === 'videos:changed') notifyLongRender(payload as VideoSummary);
  });
  // An opened project file joins the library as a draft; one that cannot be read says why.
  openFile = (file) => {
    importProjectFile(core.db, file).then(
      (row) => mainWindow?.webContents.send('videos:changed', toSummary(row)),
      (error: unknown) => void dialog.showErrorBox('Mouthpiece could not open the project', (error as Error).message),
    );
  };
  for (const file of pendingFiles.splice(0)) openFile(file);

  let closing = false;
  electronApp.on('before-quit', (event) => {
    if (closing) return;
    // Hold the quit until running renders are paused (ffmpeg and the workers stopped, checkpoints
    // kept for the next start) and the db is closed.
    event.preventDefault();
    closing = true;
    core
      .close()
      .catch((error: unknown) => console.error('Mouthpiece: closing failed', error))
      .finally(() => electronApp.quit());
  });

  mainWindow = createWindow();
  electronApp.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
  // Renders a crash, a power cut or the last quit left unfinished go on from their checkpoints.
  mainWindow.once('ready-to-show', () => {
    core.queue.resumeUnfinished().catch((error: unknown) => console.error('Mouthpiece: could not resume renders', error));
  });
}

/** Renders at least this long are worth a system notification when they finish. */
const LONG_RENDER_MS = 60_000;
const renderStarts = new Map<string, number>();

/** Tell the user when a long render ends, since they have likely gone to do something else. */
function notifyLongRender(video: VideoSummary): void {
  if (video.status === 'rendering') {
    if (!renderStarts.has(video.id)) renderStarts.set(video.id, Date.now());
    return;
  }
  const started = renderStarts.get(video.id);
  if (video.status === 'queued' || started === undefined) return;
  renderStarts.delete(video.id);
  if (Date.now() - started < LONG_RENDER_MS || !Notification.isSupported()) return;
  const body =
    video.status === 'completed'
      ? `"${video.title}" is ready (${video.durationSeconds?.toFixed(0) ?? '?'} s of video).`
      : video.status === 'failed'
        ? `"${video.title}" failed: ${video.error ?? 'unknown reason'}`
        : `"${video.title}" was cancelled.`;
  const notification = new Notification({ title: video.status === 'completed' ? 'Render finished' : 'Render stopped', body });
  notification.on('click', () => {
    if (video.status === 'completed' && video.outputPath) shell.showItemInFolder(video.outputPath);
    else mainWindow?.show();
  });
  notification.show();
}

// One instance only: two processes writing the same database and render folders would collide.
if (!electronApp.requestSingleInstanceLock()) {
  electronApp.quit();
} else {
  electronApp.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  electronApp.on('window-all-closed', () => {
    if (process.platform !== 'darwin') electronApp.quit();
  });
  // No page may leave our page, open another window or embed a webview.
  electronApp.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isOurPage(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isOurPage(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  start().catch((error: unknown) => {
    console.error('Mouthpiece: could not start', error);
    electronApp.exit(1);
  });
}
