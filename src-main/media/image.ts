import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { ffmpegPath, ffprobe } from './ffmpeg';

/** Decoded pixels: 3 bytes (R, G, B) per pixel, rows top to bottom, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Bigger photos are refused: 50 MP of RGB is 150 MB before any work starts. */
export const MAX_IMAGE_PIXELS = 50_000_000;

const READABLE = 'use a JPEG, PNG or WebP photo';

/**
 * Decode an image file to RGB with ffmpeg, upright (EXIF orientation applied) and, when maxSide
 * is given, scaled down so that its longer side is at most maxSide.
 */
export async function decodeImage(path: string, options: { maxSide?: number; size?: { width: number; height: number } } = {}): Promise<RgbImage> {
  const name = basename(path);
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    throw new AppError(ErrorCode.BadInput, `${name}: the file does not exist or cannot be read; choose the photo again`);
  }
  let probe;
  try {
    probe = await ffprobe(path);
  } catch {
    throw new AppError(ErrorCode.BadInput, `${name}: not an image, or the file is damaged; ${READABLE}`);
  }
  const stream = probe.streams.find((s) => s.codec_type === 'video');
  if (!stream?.width || !stream.height) {
    throw new AppError(ErrorCode.BadInput, `${name}: not an image, or the file is damaged; ${READABLE}`);
  }
  if (stream.width * stream.height > MAX_IMAGE_PIXELS) {
    const mp = ((stream.width * stream.height) / 1e6).toFixed(0);
    throw new AppError(
      ErrorCode.BadInput,
      `${name}: the image is ${stream.width}x${stream.height} (${mp} megapixels), over the limit of ${MAX_IMAGE_PIXELS / 1e6} megapixels; resize it (for example to 4000 px on the long side) and try again`,
    );
  }

  const orientation = await readExifOrientation(path);
  const transposed = orientation >= 5;
  let width = transposed ? stream.height : stream.width;
  let height = transposed ? stream.width : stream.height;
  const scale = options.maxSide ? Math.min(1, options.maxSide / Math.max(width, height)) : 1;
  width = options.size?.width ?? Math.max(1, Math.round(width * scale));
  height = options.size?.height ?? Math.max(1, Math.round(height * scale));

  const filters = [...ORIENTATION_FILTERS[orientation], `scale=${width}:${height}:flags=${options.size ? 'lanczos' : 'area'}`];
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    // ffmpeg's JPEG decoder conceals damage: a truncated file comes out with a grey lower part
    // and exit code 0. Other decoders already fail on damage, and the TIFF one would fail on
    // harmless unknown tags with this flag.
    ...(stream.codec_name === 'mjpeg' ? ['-err_detect', 'explode'] : []),
    // Newer ffmpeg builds rotate by EXIF on their own; we do it ourselves so every build agrees.
    '-noautorotate',
    '-i', path,
    '-frames:v', '1', '-vf', filters.join(','), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const expected = width * height * 3;
  const { code, stdout } = await runCapturing(args, expected);
  if (code !== 0 || stdout.length !== expected) {
    throw new AppError(
      ErrorCode.BadInput,
      `${name}: the image could not be decoded, the file is damaged or incomplete; save it again from an image editor, or ${READABLE}`,
    );
  }
  return { width, height, data: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length) };
}

/** Write an RGB image as a PNG file (thumbnails, debugging pictures). */
export async function encodePng(image: RgbImage, path: string): Promise<void> {
  if (image.data.length !== image.width * image.height * 3) {
    throw new AppError(ErrorCode.Internal, `encodePng: ${image.width}x${image.height} needs ${image.width * image.height * 3} bytes, got ${image.data.length}`);
  }
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${image.width}x${image.height}`, '-i', 'pipe:0',
    '-frames:v', '1', '-f', 'image2', '-c:v', 'png', path,
  ];
  const { code, stderr } = await runCapturing(args, 0, image.data);
  if (code !== 0) throw new AppError(ErrorCode.Ffmpeg, `writing ${basename(path)} failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
}

function runCapturing(args: string[], expectedBytes: number, input?: Uint8Array): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let received = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      // Never hold more than the picture we asked for, whatever ffmpeg writes.
      if (received <= expectedBytes) chunks.push(chunk);
      received += chunk.length;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on('error', (error) => reject(new AppError(ErrorCode.Ffmpeg, `could not start ${ffmpegPath()}: ${error.message}`)));
    child.on('close', (code) => resolve({ code, stdout: received === expectedBytes ? Buffer.concat(chunks) : Buffer.alloc(0), stderr }));
    // ffmpeg closing its input early (a bad argument) must surface as its exit code, not EPIPE.
    child.stdin.on('error', () => {});
    if (input) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** ffmpeg filters that turn a picture with this EXIF orientation (1-8) upright. */
const ORIENTATION_FILTERS: Record<number, string[]> = {
  1: [],
  2: ['hflip'],
  3: ['hflip', 'vflip'],
  4: ['vflip'],
  5: ['transpose=0'],
  6: ['transpose=1'],
  7: ['transpose=3'],
  8: ['transpose=2'],
};

/** The EXIF orientation tag of a JPEG, PNG (eXIf chunk) or WebP (EXIF chunk); 1 when absent. */
async function readExifOrientation(path: string): Promise<number> {
  const file = await open(path, 'r');
  try {
    // Metadata sits before the pixel data in all three formats; 256 KiB covers large EXIF blocks.
    const head = Buffer.alloc(256 * 1024);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const tiff = findExif(head.subarray(0, bytesRead));
    const orientation = tiff ? orientationFromTiff(tiff) : undefined;
    return orientation !== undefined && orientation >= 1 && orientation <= 8 ? orientation : 1;
  } finally {
    await file.close();
  }
}

/** The TIFF block of the file's EXIF data, if any. */
function findExif(buf: Buffer): Buffer | undefined {
  if (buf.length > 4 && buf[0] === 0xff && buf[1] === 0xd8) {
    let at = 2;
    while (at + 4 <= buf.length && buf[at] === 0xff) {
      const marker = buf[at + 1]!;
      if (marker === 0xd9 || marker === 0xda) break;
      if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        at += marker === 0xff ? 1 : 2;
        continue;
      }
      const length = buf.readUInt16BE(at + 2);
      const body = buf.subarray(at + 4, at + 2 + length);
      if (marker === 0xe1 && body.subarray(0, 6).toString('latin1') === 'Exif\0\0') return body.subarray(6);
      at += 2 + length;
    }
    return undefined;
  }
  if (buf.length > 8 && buf.readUInt32BE(0) === 0x89504e47) {
    let at = 8;
    while (at + 8 <= buf.length) {
      const length = buf.readUInt32BE(at);
      const type = buf.subarray(at + 4, at + 8).toString('latin1');
      if (type === 'eXIf') return buf.subarray(at + 8, at + 8 + length);
      if (type === 'IDAT' || type === 'IEND') break;
      at += 12 + length;
    }
    return undefined;
  }
  if (buf.length > 12 && buf.subarray(0, 4).toString('latin1') === 'RIFF' && buf.subarray(8, 12).toString('latin1') === 'WEBP') {
    let at = 12;
    while (at + 8 <= buf.length) {
      const type = buf.subarray(at, at + 4).toString('latin1');
      const length = buf.readUInt32LE(at + 4);
      if (type === 'EXIF') {
        const body = buf.subarray(at + 8, at + 8 + length);
        // Some writers keep JPEG's "Exif\0\0" prefix inside the chunk.
        return body.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? body.subarray(6) : body;
      }
      at += 8 + length + (length % 2);
    }
  }
  return undefined;
}

function orientationFromTiff(tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return undefined;
}
