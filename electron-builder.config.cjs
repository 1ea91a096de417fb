// electron-builder configuration: `npm run dist` builds the current system's installers from it,
// and `npm run dist:check` (tests/dist/check.ts) builds the Linux `dir` target from it and checks
// the result. CommonJS because package.json says "type": "module" and electron-builder requires it.

/** onnxruntime-node ships every system's binaries; a package keeps only its own (set per system below). */
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v*';

/**
 * The "files" of one system's package: onnxruntime-node's binaries for `drop` (folders under
 * bin/napi-v*) left out. Each system lists all its patterns, with no top-level "files":
 * electron-builder turns a top-level list into its own matcher, and a platform list of
 * exclusions only would then stand alone and let in the whole project folder.
 */
function filesFor(...drop) {
  return [
    // The built app only: electron-vite's output and package.json ("main" points into out/).
    // electron-builder adds the production dependencies from node_modules; the patterns below
    // trim what they carry that the app never reads.
    'out/**/*',
    'package.json',
    '!out/**/*.map',
    '!**/node_modules/**/{test,tests,__tests__,docs,doc,example,examples,benchmark,benchmarks,.github}/**',
    '!**/node_modules/**/*.{md,markdown,map,ts,mts,cts,tsbuildinfo}',
    '!**/node_modules/**/{CHANGELOG*,HISTORY*,README*,*.gyp,*.gypi,Makefile}',
    // better-sqlite3's C sources and build intermediates; only build/Release/better_sqlite3.node is loaded.
    '!**/node_modules/better-sqlite3/{src,deps}/**',
    '!**/node_modules/better-sqlite3/build/{Release/obj,Release/obj.target,Release/.deps,deps}/**',
    '!**/node_modules/better-sqlite3/build/Release/test_extension.node',
    // onnxruntime-node's build scripts and the CUDA downloader (which cannot run from an asar).
    '!**/node_modules/onnxruntime-node/script/**',
    ...drop.map((folder) => `!${ORT_BIN}/${folder}/**`),
  ];
}

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'app.mouthpiece.desktop',
  productName: 'Mouthpiece',
  copyright: 'Copyright © Mouthpiece contributors',
  // Icons are drawn in resources/icons/icon.svg and rendered by resources/icons/render.ts.
  directories: { output: 'dist', buildResources: 'resources/icons' },
  // The resources (templates, fonts, examples, the models catalogue) sit outside the asar as plain
  // files because ffmpeg reads the fonts and fonts.conf by path; index.ts points MOUTHPIECE_RESOURCES
  // at process.resourcesPath/resources when packaged.
  extraResources: [{ from: 'resources', to: 'resources', filter: ['**/*', '!icons/**'] }],
  // Unpack exactly what the rules below name: electron-builder's guess (smartUnpack) unpacks whole
  // packages (all of onnxruntime-node, better-sqlite3's sources) and would hide a missing rule from the check.
  asar: { smartUnpack: false },
  // Anything spawned or dlopen'ed must be a real file: the native modules, onnxruntime's shared
  // libraries (loaded by the binding, not by Electron's asar-aware require) and ffmpeg/ffprobe.
  asarUnpack: [
    'node_modules/better-sqlite3/build/Release/*.node',
    'node_modules/onnxruntime-node/bin/**',
    'node_modules/@ffmpeg-installer/*/ffmpeg*',
    'node_modules/@ffprobe-installer/*/ffprobe*',
    'node_modules/@resvg/resvg-js-*/*.node',
  ],
  // better-sqlite3 must match Electron's ABI, not the test runner's Node: electron-builder rebuilds
  // it before packing (a prebuilt binary for Electron, or a compile against Electron's headers;
  // both are downloaded). onnxruntime-node is N-API and needs no rebuild.
  npmRebuild: true,
  buildDependenciesFromSource: false,
  // Project files are JSON (src-shared/project.ts) saved as <name>.mouthpiece.
  fileAssociations: [
    {
      ext: 'mouthpiece',
      name: 'Mouthpiece project',
      description: 'Mouthpiece project',
      mimeType: 'application/x-mouthpiece+json',
      role: 'Editor',
      // icon.icns on macOS, icon.ico on Windows, from directories.buildResources.
      icon: 'icon',
    },
  ],
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64'] },
      { target: 'deb', arch: ['x64'] },
    ],
    icon: 'resources/icons/png',
    category: 'AudioVideo',
    executableName: 'mouthpiece',
    // The deb's Maintainer field; package.json has no author to take it from.
    maintainer: 'Mouthpiece contributors',
    synopsis: 'Turn a script into a talking-presenter video on your own machine',
    // Only x64 is built for Linux and Windows, so the arm64 binaries go too.
    files: filesFor('darwin', 'win32', 'linux/arm64'),
  },
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    icon: 'resources/icons/icon.ico',
    files: filesFor('darwin', 'linux', 'win32/arm64'),
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    createDesktopShortcut: true,
    // A user's library and renders stay when the app is removed.
    deleteAppDataOnUninstall: false,
  },
  mac: {
    // Apple silicon only: onnxruntime-node 1.30 ships no darwin/x64 binary, so an Intel build
    // could open but never render. Add 'x64' here once a release of it does.
    target: [{ target: 'dmg', arch: ['arm64'] }],
    icon: 'resources/icons/icon.icns',
    category: 'public.app-category.video',
    files: filesFor('linux', 'win32'),
  },
  dmg: { title: 'Mouthpiece ${version}' },
};
