import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFaces } from '../../../src-main/avatars/faces';
import { MaskSmoother, personCrop, personMask, readMaskCache, writeMaskCache } from '../../../src-main/avatars/segment';
import { decodeImage } from '../../../src-main/media/image';
import { sharedFile, useSharedModels } from '../../support/shared';

const PORTRAITS = ['fixtures/portrait_nasa_eileen_collins.png', 'fixtures/portrait_usnavy_grace_hopper.jpg'];

describe('personMask', () => {
  useSharedModels();

  it.each(PORTRAITS)('%s: the face is person, the corners above the shoulders are background, and the edge between is soft', async (fixture) => {
    const image = await decodeImage(sharedFile(fixture));
    const [face] = await detectFaces(image);
    const mask = await personMask(image, { crop: personCrop(face, image) });
    expect(mask.length).toBe(image.width * image.height);
    const at = (x: number, y: number) => mask[Math.round(y) * image.width + Math.round(x)];
    // The face's centre and the points between the eyes and the mouth are person.
    expect(at(face.x + face.width / 2, face.y + face.height / 2)).toBeGreaterThan(240);
    for (const p of face.keypoints) expect(at(p.x, p.y)).toBeGreaterThan(240);
    // The top corners (beside the head) are background.
    for (const [x, y] of [
      [3, 3],
      [image.width - 4, 3],
    ]) {
      expect(at(x, y), `${x},${y}`).toBeLessThan(10);
    }
    // Along a row through the face, the mask goes from background to person through soft values.
    const row = Math.round(face.y + face.height / 2);
    const values = Array.from({ length: Math.round(face.x + face.width / 2) }, (_, x) => at(x, row));
    expect(values[0]).toBeLessThan(10);
    expect(values.some((v) => v > 20 && v < 235)).toBe(true);
    // Most of the picture is decided, not mush.
    const soft = mask.filter((v) => v > 20 && v < 235).length;
    expect(soft / mask.length).toBeLessThan(0.08);
  });

  it('outside the given crop the mask is background', async () => {
    const image = await decodeImage(sharedFile(PORTRAITS[1]));
    const mask = await personMask(image, { crop: { x: 0, y: 0, width: image.width / 2, height: image.height } });
    for (let y = 0; y < image.height; y += 20) {
      for (let x = Math.ceil(image.width / 2) + 1; x < image.width; x += 20) expect(mask[y * image.width + x]).toBe(0);
    }
  });
});

describe('MaskSmoother', () => {
  it('ignores small frame-to-frame jitter, follows a real change within a few frames, and passes a full change at once', () => {
    const smoother = new MaskSmoother();
    expect([...smoother.next(Uint8Array.from([100, 0, 255]))]).toEqual([100, 0, 255]);
    // Jitter of 10 on the edge pixel is held back.
    expect(smoother.next(Uint8Array.from([110, 0, 255]))[0]).toBe(100);
    expect(smoother.next(Uint8Array.from([92, 0, 255]))[0]).toBe(100);
    // A move of 100 is followed, over a few frames.
    const steps = [1, 2, 3, 4].map(() => smoother.next(Uint8Array.from([200, 0, 255]))[0]);
    expect(steps[0]).toBeGreaterThan(100);
    expect(steps[0]).toBeLessThan(200);
    expect(steps[3]).toBeGreaterThan(170);
    // Person leaving a pixel outright shows on the same frame.
    expect(smoother.next(Uint8Array.from([200, 0, 0]))[2]).toBe(0);
    // A pixel that settles as fully person ends fully opaque, not held just short of it.
    const settled = [1, 2, 3, 4, 5].map(() => smoother.next(Uint8Array.from([255, 0, 0]))[0]);
    expect(settled.at(-1)).toBe(255);
  });
});

describe('mask cache', () => {
  it('reads back what it wrote, and refuses a cut-short file or one of another size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-masks-'));
    const path = join(dir, 'masks.bin');
    const masks = [0, 1, 2].map((k) => Uint8Array.from({ length: 64 * 48 }, (_, i) => (i * (k + 1)) % 256));
    await writeMaskCache(path, 64, 48, masks);
    const cache = await readMaskCache(path, 64, 48, 3);
    expect(cache?.count).toBe(3);
    for (const [i, mask] of masks.entries()) expect(cache!.frame(i)).toEqual(mask);
    expect(await readMaskCache(path, 64, 48, 4)).toBeUndefined();
    expect(await readMaskCache(path, 48, 64, 3)).toBeUndefined();
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 5));
    expect(await readMaskCache(path, 64, 48, 3)).toBeUndefined();
    expect(await readMaskCache(join(dir, 'missing.bin'), 64, 48, 3)).toBeUndefined();
  });
});
