// Renders icon.svg to what electron-builder takes: icon.png (1024), png/<size>x<size>.png for the
// Linux hicolor theme, icon.ico for Windows and icon.icns for macOS (both only wrap PNGs, so they
// are written here rather than left to electron-builder, which converts only on some systems).
// Run after changing the drawing: `npx tsx resources/icons/render.ts`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';

const here = import.meta.dirname;
const svg = readFileSync(join(here, 'icon.svg'));
const png = new Map<number, Buffer>();
const render = (size: number): Buffer => {
  if (!png.has(size)) png.set(size, new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng());
  return png.get(size)!;
};

/** ICO with PNG entries (Windows Vista and later); a width or height of 256 is written as 0. */
function ico(sizes: number[]): Buffer {
  const header = Buffer.alloc(6 + 16 * sizes.length);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(sizes.length, 4);
  let offset = header.length;
  sizes.forEach((size, i) => {
    const entry = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, entry);
    header.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    header.writeUInt16LE(1, entry + 4);
    header.writeUInt16LE(32, entry + 6);
    header.writeUInt32LE(render(size).length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += render(size).length;
  });
  return Buffer.concat([header, ...sizes.map(render)]);
}

/** ICNS with PNG entries: each OSType names a pixel size (Apple's icns format, macOS 10.7 and later). */
function icns(types: [string, number][]): Buffer {
  const chunks = types.map(([type, size]) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(8 + render(size).length, 4);
    return Buffer.concat([head, render(size)]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + chunks.reduce((sum, c) => sum + c.length, 0), 4);
  return Buffer.concat([head, ...chunks]);
}

writeFileSync(join(here, 'icon.png'), render(1024));
mkdirSync(join(here, 'png'), { recursive: true });
for (const size of [16, 32, 48, 64, 128, 256, 512]) writeFileSync(join(here, 'png', `${size}x${size}.png`), render(size));
writeFileSync(join(here, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256]));
writeFileSync(
  join(here, 'icon.icns'),
  icns([['icp4', 16], ['icp5', 32], ['icp6', 64], ['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024], ['ic11', 32], ['ic12', 64], ['ic13', 256], ['ic14', 512]]),
);
