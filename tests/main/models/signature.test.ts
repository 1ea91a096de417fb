import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSignature, matchingKinds, openOnnx, sampleInputs } from '../../../src-main/models/signature';
import { buildGraph, buildWav2LipTestGraph } from '../../support/onnxGraphs';
import { sharedFile } from '../../support/shared';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-signature-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function graphFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** A 1x1 convolution from 3 to `out` channels at a fixed square size. */
const conv = (side: number, out: number) =>
  buildGraph({
    inputs: [{ name: 'image', shape: [1, 3, side, side] }],
    outputs: [{ name: 'mask', shape: [1, out, side, side] }],
    initializers: [{ name: 'W', dims: [out, 3, 1, 1], data: new Float32Array(out * 3).fill(0.5) }],
    nodes: [{ op: 'Conv', inputs: ['image', 'W'], outputs: ['mask'], attributes: { kernel_shape: { ints: [1, 1] } } }],
  });

describe('model signatures', () => {
  it.each([
    ['models/yunet/face_detection_yunet_2023mar.onnx', ['face-detection']],
    ['models/yunet/yunet_s_dynamic.onnx', ['face-detection']],
    ['models/pfld68/landmarks_68_pfld.onnx', ['face-landmarks']],
    ['models/mediapipe-face-landmark/face_landmark.onnx', ['face-landmarks']],
    ['models/sinet-portrait/SINet_Softmax.onnx', ['segmentation']],
    ['models/silero-vad/silero_vad.onnx', ['voice-activity']],
    ['models/piper-test-voice/test_voice.onnx', ['voice']],
    ['models/ultraface/version-RFB-320.onnx', []],
  ])('finds the kind of %s from its inputs and outputs', async (file, kinds) => {
    const session = await openOnnx(sharedFile(file));
    expect(matchingKinds(session)).toEqual(kinds);
    await session.release();
  });

  it('recognises a model with Wav2Lip signature as lip-sync and can feed it', async () => {
    const session = await openOnnx(await graphFile('w2l.onnx', buildWav2LipTestGraph()));
    expect(matchingKinds(session)).toEqual(['lip-sync']);
    const outputs = await session.run(sampleInputs('lip-sync', session));
    expect(outputs.generated?.dims).toEqual([1, 3, 96, 96]);
    await session.release();
  });

  it('refuses a segmentation model fixed at a size the app does not feed', async () => {
    const path = await graphFile('seg256.onnx', conv(256, 2));
    const session = await openOnnx(path);
    expect(() => checkSignature('segmentation', session, path)).toThrow(
      /^seg256\.onnx: is not a portrait segmentation model the app can use: the app feeds it 320x320 images, and its input is fixed at 256x256\./,
    );
    await session.release();
    const fits = await openOnnx(await graphFile('seg320.onnx', conv(320, 2)));
    expect(matchingKinds(fits)).toEqual(['segmentation']);
    await fits.release();
  });

  it('feeds a voice valid phoneme ids with matching lengths and its usual scales', async () => {
    const session = await openOnnx(sharedFile('models/piper-test-voice/test_voice.onnx'));
    const feeds = sampleInputs('voice', session);
    expect(feeds.input!.dims).toEqual([1, 64]);
    expect([...(feeds.input_lengths!.data as BigInt64Array)]).toEqual([64n]);
    expect([...(feeds.scales!.data as Float32Array)].map((v) => Math.round(v * 1000) / 1000)).toEqual([0.667, 1, 0.8]);
    expect((await session.run(feeds)).output!.dims[0]).toBe(1);
    await session.release();
  });

  it('names a folder and a missing file plainly', async () => {
    await expect(openOnnx(dir)).rejects.toThrow(/is a folder, not a model file; choose the \.onnx file inside it/);
    await expect(openOnnx(join(dir, 'nope.onnx'))).rejects.toThrow(/^nope\.onnx: does not exist or cannot be read; check the path$/);
  });
});
