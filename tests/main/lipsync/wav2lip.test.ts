import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src-shared/errors';
import { MEL_BANDS, MEL_WINDOW, melSpectrogram, melWindows } from '../../../src-main/lipsync/mel';
import {
  FACE_SIZE,
  WAV2LIP_LICENCE_NOTE,
  checkWav2LipModel,
  cropRgb,
  openWav2Lip,
  pasteBack,
  prepareFaceInput,
  type Box,
  type Wav2LipItem,
} from '../../../src-main/lipsync/wav2lip';
import { ffmpegPath } from '../../../src-main/media/ffmpeg';
import { decodeWav } from '../../../src-main/voices/wav';
import { WAV2LIP_TEST_BIAS, WAV2LIP_TEST_WEIGHTS, buildGraph, buildWav2LipTestGraph } from '../../support/onnxGraphs';
import { sharedFile } from '../../support/shared';

const dir = mkdtempSync(join(tmpdir(), 'mouthpiece-wav2lip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeModel(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const dynamicModel = writeModel('wav2lip_dynamic.onnx', buildWav2LipTestGraph());
const fixedModel = writeModel('wav2lip_fixed.onnx', buildWav2LipTestGraph({ fixedBatch: true }));

const PLANE = FACE_SIZE * FACE_SIZE;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** What the test graph computes: out[c] = sigmoid(sum_j W[c][j] * face[j] + B[c] + mean(mel)). */
function expectedOutput({ mel, face }: Wav2LipItem): Float32Array {
  const melMean = mel.reduce((s, v) => s + v, 0) / mel.length;
  const out = new Float32Array(3 * PLANE);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < PLANE; i++) {
      let sum = WAV2LIP_TEST_BIAS[c] + melMean;
      for (let j = 0; j < 6; j++) sum += WAV2LIP_TEST_WEIGHTS[c][j] * face[j * PLANE + i];
      out[c * PLANE + i] = sigmoid(sum);
    }
  }
  return out;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A deterministic pseudo-random generator, so failures reproduce. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomRgb(next: () => number, width = FACE_SIZE, height = FACE_SIZE): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(next() * 256));
}

function randomItem(next: () => number): Wav2LipItem {
  return {
    mel: Float32Array.from({ length: MEL_BANDS * MEL_WINDOW }, () => next() * 8 - 4),
    face: prepareFaceInput(randomRgb(next), randomRgb(next)),
  };
}

/** The NASA portrait, 512x512, as RGB24 decoded by the real ffmpeg. */
function portrait(): { rgb: Uint8Array; width: number; height: number } {
  const png = sharedFile('fixtures/portrait_nasa_eileen_collins.png');
  const rgb = execFileSync(ffmpegPath(), ['-v', 'error', '-i', png, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
  expect(rgb.length).toBe(512 * 512 * 3);
  return { rgb: new Uint8Array(rgb), width: 512, height: 512 };
}
// YuNet's box in PROVENANCE.md scaled from 640 to 512, with Wav2Lip's default 10 px below the chin.
const PORTRAIT_FACE: Box = { x: 178, y: 62, width: 91, height: 122 };

describe('checkWav2LipModel', () => {
  it('accepts a model with the Wav2Lip signature and tells its inputs apart by shape', async () => {
    expect(await checkWav2LipModel(dynamicModel)).toEqual({
      melInput: 'audio_sequences',
      faceInput: 'face_sequences',
      output: 'generated',
      fixedBatch: false,
    });
    expect((await checkWav2LipModel(fixedModel)).fixedBatch).toBe(true);
  });

  it('refuses a text file renamed .onnx, naming the file', async () => {
    const path = writeModel('notes.onnx', new TextEncoder().encode('these are my notes, not a model\n'));
    const error = await checkWav2LipModel(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.BadInput });
    expect((error as Error).message.startsWith(`${path}: `)).toBe(true);
    expect((error as Error).message).toMatch(/not an ONNX model/);
  });

  it('refuses a model whose inputs have the wrong shapes, saying what it expected and what it got', async () => {
    const path = writeModel(
      'wrong_mel.onnx',
      buildGraph({
        inputs: [
          { name: 'mel', shape: ['batch', 1, 80, 20] },
          { name: 'face', shape: ['batch', 6, 96, 96] },
        ],
        outputs: [{ name: 'out', shape: ['batch', 3, 96, 96] }],
        initializers: [{ name: 'W', dims: [3, 6, 1, 1], data: new Array(18).fill(0.1) }],
        nodes: [{ op: 'Conv', inputs: ['face', 'W'], outputs: ['out'] }],
      }),
    );
    const error = await checkWav2LipModel(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.BadInput });
    const { message } = error as Error;
    expect(message).toContain(`${path}: this is not a Wav2Lip-compatible model`);
    expect(message).toContain('expected a float32 mel input [N,1,80,16], a float32 face input [N,6,96,96] and an output [N,3,96,96]');
    expect(message).toContain('got inputs mel [N,1,80,20], face [N,6,96,96] and outputs out [N,3,96,96]');
  });

  it('refuses a model of another kind (a face detector)', async () => {
    const path = sharedFile('models/yunet/face_detection_yunet_2023mar.onnx');
    const error = await checkWav2LipModel(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.BadInput });
    expect((error as Error).message).toContain(`${path}: this is not a Wav2Lip-compatible model`);
    expect((error as Error).message).toContain('got inputs input [1,3,640,640] and outputs cls_8 [1,6400,1]');
    expect((error as Error).message).toContain('and 8 more');
  });

  it('reports a missing file as not found, naming it', async () => {
    const path = join(dir, 'absent.onnx');
    await expect(checkWav2LipModel(path)).rejects.toMatchObject({ code: ErrorCode.NotFound, message: expect.stringContaining(path) });
  });
});

describe('openWav2Lip', () => {
  it('runs a batch of frames in one call and returns exactly what the graph computes', async () => {
    const model = await openWav2Lip(dynamicModel);
    try {
      const next = random(7);
      const batch = Array.from({ length: 5 }, () => randomItem(next));
      const out = await model.infer(batch);
      expect(out).toHaveLength(5);
      out.forEach((o, i) => expect(maxDifference(o, expectedOutput(batch[i]))).toBeLessThan(1e-5));
      // Each frame got its own inputs: the mel means differ, so the outputs do.
      expect(maxDifference(out[0], out[1])).toBeGreaterThan(0.01);
      expect(await model.infer([])).toEqual([]);
    } finally {
      await model.release();
    }
  });

  it('loops over frames when the export fixed the batch at 1', async () => {
    const model = await openWav2Lip(fixedModel);
    try {
      expect(model.signature.fixedBatch).toBe(true);
      const next = random(11);
      const batch = Array.from({ length: 3 }, () => randomItem(next));
      const out = await model.infer(batch);
      expect(out).toHaveLength(3);
      out.forEach((o, i) => expect(maxDifference(o, expectedOutput(batch[i]))).toBeLessThan(1e-5));
    } finally {
      await model.release();
    }
  });

  it('refuses frames of the wrong size before running the model', async () => {
    const model = await openWav2Lip(dynamicModel);
    try {
      await expect(model.infer([{ mel: new Float32Array(80 * 15), face: new Float32Array(6 * PLANE) }])).rejects.toThrow(/frame 0: mel has 1200 values/);
    } finally {
      await model.release();
    }
  });

  it('refuses a model without the Wav2Lip signature', async () => {
    const path = sharedFile('models/yunet/face_detection_yunet_2023mar.onnx');
    await expect(openWav2Lip(path)).rejects.toMatchObject({ code: ErrorCode.BadInput, message: expect.stringContaining(path) });
  });
});

describe('prepareFaceInput', () => {
  it('feeds BGR planes scaled to 0..1: the target with its lower half zeroed, then the reference', () => {
    const crop = new Uint8Array(3 * PLANE);
    const reference = new Uint8Array(3 * PLANE);
    for (let i = 0; i < PLANE; i++) {
      crop.set([10, 20, 30], i * 3);
      reference.set([40, 50, 60], i * 3);
    }
    const input = prepareFaceInput(crop, reference);
    expect(input).toHaveLength(6 * PLANE);
    const at = (plane: number, row: number, col: number) => input[plane * PLANE + row * FACE_SIZE + col];
    expect([0, 1, 2, 3, 4, 5].map((p) => at(p, 47, 95))).toEqual([30, 20, 10, 60, 50, 40].map((v) => Math.fround(v / 255)));
    expect([0, 1, 2, 3, 4, 5].map((p) => at(p, 48, 0))).toEqual([0, 0, 0, 60, 50, 40].map((v) => Math.fround(v / 255)));
    expect([0, 1, 2].map((p) => at(p, 95, 95))).toEqual([0, 0, 0]);
  });
});

describe('cropRgb', () => {
  // R = x, G = y, B = 7: bilinear sampling of a linear ramp gives the ramp back.
  const width = 240;
  const height = 200;
  const ramp = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) ramp.set([x, y, 7], (y * width + x) * 3);
  const pixel = (img: Uint8Array, x: number, y: number, w = FACE_SIZE) => Array.from(img.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));

  it('copies a 96x96 box pixel for pixel', () => {
    const face = cropRgb(ramp, width, height, { x: 10, y: 20, width: 96, height: 96 });
    expect(face).toHaveLength(3 * PLANE);
    expect(pixel(face, 0, 0)).toEqual([10, 20, 7]);
    expect(pixel(face, 95, 50)).toEqual([105, 70, 7]);
  });

  it('samples a larger box on pixel centres, as OpenCV INTER_LINEAR does', () => {
    const face = cropRgb(ramp, width, height, { x: 10, y: 20, width: 192, height: 144 });
    // Output x samples source x = 10 + (x + 0.5) * 2 - 0.5; output y samples 20 + (y + 0.5) * 1.5 - 0.5.
    for (const [x, y] of [[0, 0], [40, 30], [95, 95]]) {
      expect(pixel(face, x, y)).toEqual([Math.round(10 + (x + 0.5) * 2 - 0.5), Math.round(20 + (y + 0.5) * 1.5 - 0.5), 7]);
    }
  });

  it('repeats the edge pixels where the box leaves the image', () => {
    const face = cropRgb(ramp, width, height, { x: 190, y: 150, width: 96, height: 96 });
    expect(pixel(face, 40, 40)).toEqual([230, 190, 7]);
    expect(pixel(face, 95, 95)).toEqual([239, 199, 7]);
  });
});

describe('pasteBack', () => {
  const width = 200;
  const height = 160;
  const box: Box = { x: 50, y: 30, width: 96, height: 96 };
  const grey = () => new Uint8Array(width * height * 3).fill(100);
  /** A generated face of one colour, given as RGB 0..255 and stored as the model's BGR planes. */
  const solid = ([r, g, b]: number[]) => {
    const out = new Float32Array(3 * PLANE);
    out.fill(b / 255, 0, PLANE);
    out.fill(g / 255, PLANE, 2 * PLANE);
    out.fill(r / 255, 2 * PLANE, 3 * PLANE);
    return out;
  };
  const pixel = (img: Uint8Array, x: number, y: number) => Array.from(img.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));

  it('paints the lower face in the right colours and leaves everything outside the box untouched', () => {
    const frame = grey();
    pasteBack(frame, width, height, box, solid([200, 40, 10]));
    // Full strength in the lower middle of the box.
    expect(pixel(frame, 98, 100)).toEqual([200, 40, 10]);
    // The upper part of the box (eyes, forehead) keeps the original.
    expect(pixel(frame, 98, 40)).toEqual([100, 100, 100]);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
        if (!inside) expect(pixel(frame, x, y)).toEqual([100, 100, 100]);
      }
    }
  });

  it('leaves no hard edge: neighbouring pixels change little, at the box edge least of all', () => {
    const frame = grey();
    pasteBack(frame, width, height, box, solid([255, 255, 255]));
    const r = (x: number, y: number) => frame[(y * width + x) * 3];
    let worstStep = 0;
    for (let y = 0; y < height; y++) for (let x = 1; x < width; x++) worstStep = Math.max(worstStep, Math.abs(r(x, y) - r(x - 1, y)));
    for (let y = 1; y < height; y++) for (let x = 0; x < width; x++) worstStep = Math.max(worstStep, Math.abs(r(x, y) - r(x, y - 1)));
    // A 155-level jump spread over the feather (15% of 96 px, about 14 px).
    expect(r(98, 100)).toBe(255);
    expect(worstStep).toBeLessThan(20);
    for (let y = box.y; y < box.y + box.height; y++) {
      expect(Math.abs(r(box.x, y) - r(box.x - 1, y))).toBeLessThanOrEqual(2);
      expect(Math.abs(r(box.x + box.width - 1, y) - r(box.x + box.width, y))).toBeLessThanOrEqual(2);
    }
    for (let x = box.x; x < box.x + box.width; x++) expect(Math.abs(r(x, box.y + box.height - 1) - r(x, box.y + box.height))).toBeLessThanOrEqual(2);
  });

  it('resizes the 96x96 face to the box bilinearly', () => {
    // Left half black, right half white: in a box twice as wide the edge becomes a two-pixel ramp.
    const generated = new Float32Array(3 * PLANE);
    for (let c = 0; c < 3; c++) for (let y = 0; y < FACE_SIZE; y++) generated.fill(1, c * PLANE + y * FACE_SIZE + 48, c * PLANE + y * FACE_SIZE + 96);
    const wide = { x: 0, y: 0, width: 192, height: 96 };
    const frame = new Uint8Array(192 * 96 * 3);
    pasteBack(frame, 192, 96, wide, generated);
    const row = Array.from({ length: 6 }, (_, i) => frame[(70 * 192 + 93 + i) * 3]);
    // Target x samples 96-grid x = (x + 0.5) / 2 - 0.5: 93..98 -> 46.25, 46.75, 47.25, 47.75, 48.25, 48.75.
    expect(row).toEqual([0, 0, 64, 191, 255, 255]);
  });
});

describe('end to end with real speech', () => {
  it('speech and silence frames of the LibriSpeech fixture produce different lower faces', async () => {
    const { samples, sampleRate } = decodeWav(readFileSync(sharedFile('fixtures/speech_librispeech_5703-47212-0000.wav')));
    expect(sampleRate).toBe(16000);
    const { mel, frames } = melSpectrogram(samples);
    const videoFrames = Math.floor((samples.length / sampleRate) * 25);
    const windows = melWindows(mel, frames, 25, videoFrames);
    expect(windows).toHaveLength(371);
    const means = windows.map((w) => w.reduce((s, v) => s + v, 0) / w.length);
    const silent = means.indexOf(Math.min(...means));
    const loud = means.indexOf(Math.max(...means));
    expect(means[loud] - means[silent]).toBeGreaterThan(2);

    const { rgb, width, height } = portrait();
    const face = cropRgb(rgb, width, height, PORTRAIT_FACE);
    const faceInput = prepareFaceInput(face, face);
    const picked = [silent, loud, 0, 100, 200, 300, videoFrames - 1];
    const batch = picked.map((i) => ({ mel: windows[i], face: faceInput }));

    const model = await openWav2Lip(dynamicModel);
    try {
      const out = await model.infer(batch);
      out.forEach((o, i) => expect(maxDifference(o, expectedOutput(batch[i]))).toBeLessThan(1e-5));
      expect(maxDifference(out[0], out[1])).toBeGreaterThan(0.1);

      const speaking = new Uint8Array(rgb);
      const quiet = new Uint8Array(rgb);
      pasteBack(speaking, width, height, PORTRAIT_FACE, out[1]);
      pasteBack(quiet, width, height, PORTRAIT_FACE, out[0]);
      const mouth = ((PORTRAIT_FACE.y + 95) * width + PORTRAIT_FACE.x + 45) * 3;
      expect(Math.abs(speaking[mouth] - quiet[mouth])).toBeGreaterThan(10);
      expect(speaking[mouth]).not.toBe(rgb[mouth]);
      // Outside the face box the frame is the photo, byte for byte.
      const outside = (10 * width + 10) * 3;
      expect(Array.from(speaking.subarray(outside, outside + 3))).toEqual(Array.from(rgb.subarray(outside, outside + 3)));
      expect(speaking.subarray(0, PORTRAIT_FACE.y * width * 3)).toEqual(rgb.subarray(0, PORTRAIT_FACE.y * width * 3));
    } finally {
      await model.release();
    }
  });
});

describe('licence', () => {
  it('warns that Wav2Lip weights are for non-commercial research only', () => {
    expect(WAV2LIP_LICENCE_NOTE).toMatch(/non-commercial research only/);
    expect(WAV2LIP_LICENCE_NOTE).toMatch(/check the licence of the model you import/);
  });
});
