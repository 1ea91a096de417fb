import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LANDMARK_MODEL,
  LANDMARK_MODELS,
  analysePhoto,
  centroid,
  detectFaces,
  findLandmarks,
  mouthCorners,
  type FaceBox,
  type FaceLandmarks,
  type Point,
} from '../../../src-main/avatars/faces';
import { runFfmpeg } from '../../../src-main/media/ffmpeg';
import { decodeImage, encodePng } from '../../../src-main/media/image';
import { ErrorCode } from '../../../src-shared/errors';
import { sharedFile, useSharedModels } from '../../support/shared';

const PORTRAITS = ['portrait_nasa_eileen_collins.png', 'portrait_usnavy_grace_hopper.jpg'];
const EILEEN = () => sharedFile('fixtures/portrait_nasa_eileen_collins.png');
const GRACE = () => sharedFile('fixtures/portrait_usnavy_grace_hopper.jpg');

let dir: string;
useSharedModels();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-faces-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const distance = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

/** Make a picture with ffmpeg in the temp folder and return its path. */
async function picture(name: string, args: string[]): Promise<string> {
  const path = join(dir, name);
  await runFfmpeg({ args: [...args, '-frames:v', '1', path] });
  return path;
}

/** The error a promise rejects with; fails the test when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  if (!error) throw new Error('expected a refusal, but it succeeded');
  return error;
}

async function analyseFile(path: string, name: string) {
  return analysePhoto(await decodeImage(path), name);
}

function namedPoints(l: FaceLandmarks): Point[] {
  return [...l.jaw, ...l.mouthOuter, ...l.mouthInner, ...l.leftEye, ...l.rightEye, ...l.leftBrow, ...l.rightBrow, l.noseTip];
}

describe.each(PORTRAITS)('the portrait %s', (file) => {
  it('has exactly one face, and analysePhoto takes it with the default landmark model', async () => {
    const image = await decodeImage(sharedFile(`fixtures/${file}`));
    const faces = await detectFaces(image);
    expect(faces).toHaveLength(1);
    // Nothing else in these portraits looks like a face, even to a lenient threshold.
    expect(await detectFaces(image, { minScore: 0.5 })).toHaveLength(1);
    const { face, landmarks } = await analysePhoto(image, file);
    expect(face).toEqual(faces[0]);
    expect(landmarks.model).toBe(DEFAULT_LANDMARK_MODEL);
  });

  it('gives YuNet keypoints in the documented order: image-left eye first, eyes above nose above mouth', async () => {
    const [face] = await detectFaces(await decodeImage(sharedFile(`fixtures/${file}`)));
    const [rightEye, leftEye, nose, rightMouth, leftMouth] = face!.keypoints as [Point, Point, Point, Point, Point];
    expect(rightEye.x).toBeLessThan(leftEye.x);
    expect(rightMouth.x).toBeLessThan(leftMouth.x);
    expect(Math.max(rightEye.y, leftEye.y)).toBeLessThan(nose.y);
    expect(nose.y).toBeLessThan(Math.min(rightMouth.y, leftMouth.y));
    for (const p of face!.keypoints) {
      expect(p.x).toBeGreaterThan(face!.x);
      expect(p.x).toBeLessThan(face!.x + face!.width);
    }
  });

  it.each(LANDMARK_MODELS)('puts %s landmarks on the face: inside the box, mouth in its lower third, eyes above it, corners on YuNet\'s', async (model) => {
    const image = await decodeImage(sharedFile(`fixtures/${file}`));
    const [face] = (await detectFaces(image)) as [FaceBox];
    const landmarks = await findLandmarks(image, face, { model });
    expect(landmarks.model).toBe(model);
    expect(landmarks.points).toHaveLength(model === 'pfld68' ? 68 : 468);

    const margin = 0.1;
    for (const p of namedPoints(landmarks)) {
      expect(p.x).toBeGreaterThan(face.x - margin * face.width);
      expect(p.x).toBeLessThan(face.x + (1 + margin) * face.width);
      expect(p.y).toBeGreaterThan(face.y - margin * face.height);
      expect(p.y).toBeLessThan(face.y + (1 + margin) * face.height);
    }

    const mouth = [...landmarks.mouthOuter, ...landmarks.mouthInner];
    const lowerThird = face.y + (2 / 3) * face.height;
    expect(landmarks.mouthCentre.y).toBeGreaterThan(lowerThird);
    for (const p of mouth) expect(p.y).toBeGreaterThan(face.y + 0.6 * face.height);
    const eyes = [...landmarks.leftEye, ...landmarks.rightEye];
    expect(Math.max(...eyes.map((p) => p.y))).toBeLessThan(Math.min(...mouth.map((p) => p.y)));
    expect(Math.max(...eyes.map((p) => p.y))).toBeLessThan(landmarks.noseTip.y);

    const iod = distance(face.keypoints[0]!, face.keypoints[1]!);
    const [left, right] = mouthCorners(landmarks);
    expect(distance(left, face.keypoints[3]!)).toBeLessThan(0.25 * iod);
    expect(distance(right, face.keypoints[4]!)).toBeLessThan(0.25 * iod);
    expect(distance(centroid(landmarks.leftEye), face.keypoints[0]!)).toBeLessThan(0.2 * iod);
    expect(distance(centroid(landmarks.rightEye), face.keypoints[1]!)).toBeLessThan(0.2 * iod);
  });

  it.each(LANDMARK_MODELS)('orders %s contours as documented: image-left corner first, upper edge next, chin in the middle of the jaw', async (model) => {
    const image = await decodeImage(sharedFile(`fixtures/${file}`));
    const [face] = (await detectFaces(image)) as [FaceBox];
    const l = await findLandmarks(image, face, { model });
    const upperMinusLower = (contour: Point[]) => {
      const n = contour.length;
      const ys = contour.map((p) => p.y);
      const meanY = (from: number, to: number) => ys.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
      return meanY(1, n / 2) - meanY(n / 2 + 1, n);
    };
    for (const contour of [l.mouthOuter, l.mouthInner, l.leftEye, l.rightEye]) {
      const n = contour.length;
      expect(n % 2).toBe(0);
      const xs = contour.map((p) => p.x);
      expect(contour[0]!.x).toBe(Math.min(...xs));
      expect(contour[n / 2]!.x).toBe(Math.max(...xs));
    }
    // The upper half of each contour lies above the lower half; closed lips may touch.
    for (const contour of [l.mouthOuter, l.leftEye, l.rightEye]) expect(upperMinusLower(contour)).toBeLessThan(0);
    expect(upperMinusLower(l.mouthInner)).toBeLessThan(0.01 * face.height);
    for (const lips of [l.mouthOuter, l.mouthInner]) {
      expect(lips.length % 4).toBe(0);
      expect(lips[lips.length / 4]!.y).toBeLessThan(lips[(3 * lips.length) / 4]!.y + 0.01 * face.height);
    }
    expect(centroid(l.leftEye).x).toBeLessThan(centroid(l.rightEye).x);
    expect(centroid(l.leftBrow).x).toBeLessThan(centroid(l.rightBrow).x);
    expect(centroid(l.leftBrow).y).toBeLessThan(centroid(l.leftEye).y);
    expect(l.jaw[0]!.x).toBeLessThan(l.jaw[l.jaw.length - 1]!.x);
    const chin = l.jaw[Math.floor(l.jaw.length / 2)]!;
    expect(Math.max(...l.jaw.map((p) => p.y)) - chin.y).toBeLessThan(0.05 * face.height);
    expect(chin.y).toBeGreaterThan(Math.max(...l.mouthOuter.map((p) => p.y)));
  });
});

describe('a tilted head', () => {
  it.each(LANDMARK_MODELS)('gets %s landmarks that follow a 25 degree tilt', async (model) => {
    const path = await picture(`tilted-${model}.png`, ['-i', GRACE(), '-vf', 'rotate=25*PI/180:fillcolor=gray']);
    const image = await decodeImage(path);
    const [face] = (await detectFaces(image)) as [FaceBox];
    const angle = (a: Point, b: Point) => (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI;
    const yunetTilt = angle(face.keypoints[0]!, face.keypoints[1]!);
    expect(yunetTilt).toBeGreaterThan(15);

    const landmarks = await findLandmarks(image, face, { model });
    expect(Math.abs(angle(centroid(landmarks.leftEye), centroid(landmarks.rightEye)) - yunetTilt)).toBeLessThan(5);
    const iod = distance(face.keypoints[0]!, face.keypoints[1]!);
    const [left, right] = mouthCorners(landmarks);
    expect(distance(left, face.keypoints[3]!)).toBeLessThan(0.2 * iod);
    expect(distance(right, face.keypoints[4]!)).toBeLessThan(0.2 * iod);
  });
});

describe('decodeImage', () => {
  it('turns a JPEG upright by its EXIF orientation', async () => {
    // Store the portrait turned a quarter left and tag it "rotate 90 clockwise to show" (orientation 6), as phones do.
    const sideways = await picture('sideways.jpg', ['-i', GRACE(), '-vf', 'transpose=2', '-q:v', '2']);
    const jpeg = await readFile(sideways);
    const tagged = join(dir, 'tagged.jpg');
    await writeFile(tagged, Buffer.concat([jpeg.subarray(0, 2), exifOrientationSegment(6), jpeg.subarray(2)]));

    const upright = await decodeImage(GRACE());
    const decoded = await decodeImage(tagged);
    expect([decoded.width, decoded.height]).toEqual([upright.width, upright.height]);
    let diff = 0;
    for (let i = 0; i < upright.data.length; i++) diff += Math.abs(upright.data[i]! - decoded.data[i]!);
    // Only JPEG re-encoding separates them; a wrong turn would differ by tens of levels.
    expect(diff / upright.data.length).toBeLessThan(6);
    expect(await detectFaces(decoded)).toHaveLength(1);
  });

  it('scales down to maxSide keeping the aspect, and writes PNGs that read back unchanged', async () => {
    const image = await decodeImage(GRACE(), { maxSide: 303 });
    expect([image.width, image.height]).toEqual([Math.round((517 * 303) / 606), 303]);
    expect(image.data.length).toBe(image.width * image.height * 3);
    expect(await detectFaces(image)).toHaveLength(1);

    const png = join(dir, 'roundtrip.png');
    await encodePng(image, png);
    const back = await decodeImage(png);
    expect([back.width, back.height]).toEqual([image.width, image.height]);
    expect(Buffer.from(back.data).equals(Buffer.from(image.data))).toBe(true);
  });
});

describe('photo refusals', () => {
  it('refuses a picture with no face', async () => {
    const path = await picture('grey-wall.png', ['-f', 'lavfi', '-i', 'color=c=gray:s=640x480']);
    const error = await refusal(analyseFile(path, 'grey-wall.png'));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('grey-wall.png');
    expect(error.message).toContain('no face found');
  });

  it('refuses a text file named .jpg as not an image', async () => {
    const path = join(dir, 'notes.jpg');
    await writeFile(path, 'this is a shopping list, not a photo\n');
    const error = await refusal(decodeImage(path));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('notes.jpg');
    expect(error.message).toMatch(/not an image|damaged/);
  });

  it.each([
    ['cut-short.jpg', GRACE, 40_000],
    ['cut-short.png', EILEEN, 300_000],
  ])('refuses a truncated copy of a fixture (%s) as damaged', async (name, source, bytes) => {
    const path = join(dir, name);
    await writeFile(path, (await readFile(source())).subarray(0, bytes));
    const error = await refusal(decodeImage(path));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain(name);
    expect(error.message).toMatch(/damaged|incomplete/);
  });

  it.each([2, 3])('refuses %i faces side by side, saying how many', async (count) => {
    const name = `group-of-${count}.jpg`;
    const inputs = Array.from({ length: count }, () => ['-i', GRACE()]).flat();
    const path = await picture(name, [...inputs, '-filter_complex', `hstack=inputs=${count}`, '-q:v', '2']);
    const error = await refusal(analyseFile(path, name));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain(name);
    expect(error.message).toContain(`${count} faces found`);
    expect(error.message).toContain('one person');
  });

  it('refuses a face under 96 px tall, saying its height', async () => {
    // The portrait's 111 px face shrunk to about 67 px inside a larger canvas.
    const path = await picture('far-away.png', ['-i', EILEEN(), '-vf', 'scale=320:320,pad=900:700:300:200:color=gray']);
    const error = await refusal(analyseFile(path, 'far-away.png'));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('far-away.png');
    const height = Number(/the face is (\d+) px tall; at least 96 px is needed/.exec(error.message)?.[1]);
    expect(height).toBeGreaterThan(55);
    expect(height).toBeLessThan(80);
  });

  it('refuses a tiny 80x80 portrait in a larger canvas as too small', async () => {
    const path = await picture('thumbnail-size.png', ['-i', EILEEN(), '-vf', 'scale=80:80,pad=640:480:280:200:color=gray']);
    const error = await refusal(analyseFile(path, 'thumbnail-size.png'));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('thumbnail-size.png');
    expect(error.message).toMatch(/the face is \d+ px tall; at least 96 px is needed/);
  });

  it.each([
    ['chin-cut.png', 'crop=512:150:0:0', 'bottom'],
    ['half-face.png', 'crop=220:512:0:0', 'right'],
  ])('refuses a face cut off by the edge (%s)', async (name, crop, edge) => {
    const path = await picture(name, ['-i', EILEEN(), '-vf', crop]);
    const error = await refusal(analyseFile(path, name));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain(name);
    expect(error.message).toContain(`cut off by the ${edge} edge`);
  });

  it('refuses an image over 50 megapixels before decoding it', async () => {
    const path = await picture('billboard.png', ['-f', 'lavfi', '-i', 'color=c=gray:s=9000x6000']);
    const error = await refusal(decodeImage(path));
    expect(error.code).toBe(ErrorCode.BadInput);
    expect(error.message).toContain('billboard.png');
    expect(error.message).toContain('9000x6000');
    expect(error.message).toContain('50 megapixels');
    expect(error.message).toContain('resize');
  });
});

/** A JPEG APP1 segment holding only an EXIF orientation tag (big-endian TIFF, one IFD entry). */
function exifOrientationSegment(orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10); // Orientation
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}
