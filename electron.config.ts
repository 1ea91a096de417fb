import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';

// import.meta.url, not import.meta.dirname: electron-vite bundles this file and rewrites only the former.
const root = dirname(fileURLToPath(import.meta.url));

// `electron-vite dev` injects the React refresh preamble and the CSS as inline tags; allow those in
// development only, so every build keeps the strict policy written in index.html.
function allowInlineInDev(): Plugin {
  return {
    name: 'mouthpiece:dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html
        .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // Every package in `dependencies` stays a runtime import (this is electron-vite's default,
      // spelled out because the native modules and ffmpeg/ffprobe binaries cannot be bundled).
      externalizeDeps: true,
      // The render worker is its own entry: RenderQueue starts it as out/main/renderWorker.js.
      rollupOptions: { input: { index: resolve(root, 'src-main/index.ts'), renderWorker: resolve(root, 'src-main/render/renderWorker.ts') } },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload can require only 'electron' and cannot load ES modules
      // (https://electron-vite.org/guide/dev#limitations-of-sandboxing), so it is one
      // self-contained CommonJS file; .cjs because package.json says "type": "module".
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'src-main/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    // Relative asset URLs, so the page loads from file:// in the app and from any origin in tests.
    base: './',
    plugins: [react(), allowInlineInDev()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rollupOptions: { input: { index: resolve(root, 'src-renderer/index.html') } },
    },
  },
});
