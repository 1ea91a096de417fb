import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The app's data folder: the database, renders' work folders and caches. MOUTHPIECE_HOME
 * overrides it so tests and the CLI can point elsewhere; the desktop app passes Electron's
 * userData folder, which is the same place on each system.
 */
export function defaultHome(): string {
  if (process.env.MOUTHPIECE_HOME) return resolve(process.env.MOUTHPIECE_HOME);
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Mouthpiece');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Mouthpiece');
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Mouthpiece');
}

/**
 * What ships with the app (templates, fonts, examples). Found from this file: src-main/ under
 * tsx, out/main/ when bundled; a packaged app sets MOUTHPIECE_RESOURCES.
 */
export function resourcesDir(): string {
  if (process.env.MOUTHPIECE_RESOURCES) return resolve(process.env.MOUTHPIECE_RESOURCES);
  const here = import.meta.dirname;
  return resolve(here, here.endsWith(join('out', 'main')) ? '../../resources' : '../resources');
}
