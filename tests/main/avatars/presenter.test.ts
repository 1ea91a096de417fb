import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EYE_STATES, renderPresenterSprites, type EyeState, type PresenterSprites } from '../../../src-main/avatars/presenter';
import { VISEMES, type Viseme } from '../../../src-shared/visemes';

interface Png {
  width: number;
  height: number;
  colorType: number;
  rgba: Buffer;
}

type Box = PresenterSprites['mouthBox'];

/** Decodes the 8-bit truecolour-with-alpha PNGs resvg writes, so the test reads what ffmpeg will read. */
function decodePng(file: Buffer): Png {
  expect(file.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  for (let at = 8; at < file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      colorType = data[9]!;
      expect(data[12]).toBe(0);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  if (colorType !== 6) return { width, height, colorType, rgba: Buffer.alloc(0) };
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const rgba = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rgba.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rgba.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= 4 ? out[i - 4]! : 0;
      const b = prev[i]!;
      const c = i >= 4 ? prev[i - 4]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = (line[i]! + predictor) & 0xff;
    }
  }
  return { width, height, colorType, rgba };
}

/** Counts differing pixels inside and outside a box. */
function compare(a: Png, b: Png, box: Box): { inside: number; outside: number } {
  let inside = 0;
  let outside = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 4;
      if (a.rgba.readUInt32BE(i) === b.rgba.readUInt32BE(i)) continue;
      const inBox = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
      if (inBox) inside++;
      else outside++;
    }
  }
  return { inside, outside };
}

const HEIGHT = 480;
let dir: string;
let sprites: PresenterSprites;
const decoded = new Map<string, Png>();

async function sprite(mouth: Viseme, eyes: EyeState): Promise<Png> {
  const key = `${mouth}-${eyes}` as const;
  if (!decoded.has(key)) decoded.set(key, decodePng(await readFile(sprites.files[key])));
  return decoded.get(key)!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mouthpiece-presenter-'));
  sprites = await renderPresenterSprites(dir, HEIGHT);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderPresenterSprites', () => {
  it('writes one RGBA sprite per mouth shape and eye state at the requested height with transparent corners', async () => {
    expect(Object.keys(sprites.files)).toHaveLength(VISEMES.length * EYE_STATES.length);
    for (const mouth of VISEMES) {
      for (const eyes of EYE_STATES) {
        const png = await sprite(mouth, eyes);
        expect(png.colorType, `${mouth}-${eyes} has an alpha channel`).toBe(6);
        expect([png.width, png.height]).toEqual([sprites.width, HEIGHT]);
        const alphaAt = (x: number, y: number) => png.rgba[(y * png.width + x) * 4 + 3];
        expect([alphaAt(0, 0), alphaAt(png.width - 1, 0)]).toEqual([0, 0]);
        // The figure itself is opaque: the face centre and the blazer at the bottom edge.
        expect(alphaAt(Math.round(png.width / 2), Math.round(HEIGHT * 0.4))).toBe(255);
        expect(alphaAt(Math.round(png.width * 0.25), HEIGHT - 1)).toBe(255);
      }
    }
  });

  it('changes only the mouth box between mouth shapes, and every pair of shapes looks different', async () => {
    const box = sprites.mouthBox;
    const boxArea = box.width * box.height;
    expect(box.width * box.height).toBeLessThan(sprites.width * sprites.height * 0.03);
    const restToWideOpen = compare(await sprite('rest', 'open'), await sprite('AI', 'open'), box);
    expect(restToWideOpen.outside).toBe(0);
    expect(restToWideOpen.inside).toBeGreaterThan(boxArea * 0.25);
    for (const [i, a] of VISEMES.entries()) {
      for (const b of VISEMES.slice(i + 1)) {
        const diff = compare(await sprite(a, 'half'), await sprite(b, 'half'), box);
        expect(diff.outside, `${a} vs ${b} outside the mouth box`).toBe(0);
        expect(diff.inside, `${a} vs ${b} inside the mouth box`).toBeGreaterThan(boxArea * 0.08);
      }
    }
  });

  it('changes only the eyes box between eye states', async () => {
    const box = sprites.eyesBox;
    const boxArea = box.width * box.height;
    const pairs: [EyeState, EyeState][] = [
      ['open', 'closed'],
      ['open', 'half'],
      ['half', 'closed'],
    ];
    for (const [a, b] of pairs) {
      const diff = compare(await sprite('E', a), await sprite('E', b), box);
      expect(diff.outside, `${a} vs ${b} outside the eyes box`).toBe(0);
      expect(diff.inside, `${a} vs ${b} inside the eyes box`).toBeGreaterThan(boxArea * 0.05);
    }
  });

  it('reuses cached sprites on a second call instead of rewriting them', async () => {
    const before = await Promise.all(Object.values(sprites.files).map(async (f) => (await stat(f)).mtimeMs));
    const again = await renderPresenterSprites(dir, HEIGHT);
    expect(again).toEqual(sprites);
    const after = await Promise.all(Object.values(again.files).map(async (f) => (await stat(f)).mtimeMs));
    expect(after).toEqual(before);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('renders a deleted sprite again and leaves the others alone', async () => {
    const gone = sprites.files['O-closed'];
    const kept = sprites.files['O-open'];
    const keptMtime = (await stat(kept)).mtimeMs;
    await unlink(gone);
    await renderPresenterSprites(dir, HEIGHT);
    expect(decodePng(await readFile(gone)).height).toBe(HEIGHT);
    expect((await stat(kept)).mtimeMs).toBe(keptMtime);
  });

  it('rejects a height that is not a whole number of pixels', async () => {
    await expect(renderPresenterSprites(dir, 480.5)).rejects.toThrow(/480.5/);
  });
});
