import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../../../src-shared/errors';
import { createSession, describeProviders } from '../../../src-main/inference/session';
import { sharedFile } from '../../support/shared';

const yunet = sharedFile('models/yunet/face_detection_yunet_2023mar.onnx');
// onnxruntime-node fetches its CUDA provider in an install script this project does not run, so
// without that library (and on this GPU-less machine) every session must land on the CPU.
const ortBin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
const mayUseGpu = process.platform !== 'linux' || existsSync(join(ortBin, 'libonnxruntime_providers_cuda.so'));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mouthpiece-session-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSession', () => {
  // First in the file: failures are remembered per process, and later tests record CUDA's.
  it('a broken model does not mark a GPU provider as failed, since the file is at fault', async () => {
    const fake = join(dir, 'broken.onnx');
    writeFileSync(fake, 'not a model');

    await createSession(fake).catch(() => undefined);

    expect(describeProviders().failed).toEqual([]);
  });

  it('opens a real model on the first provider it still offers: the CPU on a machine without a GPU provider', async () => {
    const { session, provider } = await createSession(yunet);
    expect(provider).toBe(describeProviders().order[0]);
    if (!mayUseGpu) expect(provider).toBe('cpu');
    expect(session.inputNames).toEqual(['input']);
    await session.release();
  });

  it('asked for CUDA then CPU on a machine without CUDA, still opens the model on the CPU and stops offering CUDA', async () => {
    const { session, provider } = await createSession(yunet, ['cuda', 'cpu']);
    if (!mayUseGpu) {
      expect(provider).toBe('cpu');
      expect(describeProviders().order).not.toContain('cuda');
    }
    expect(describeProviders().order.at(-1)).toBe('cpu');
    expect(session.outputNames).toContain('cls_8');
    await session.release();
  });

  it('runs YuNet on a zero image through the returned session', async () => {
    const { session } = await createSession(yunet);
    const input = new ort.Tensor('float32', new Float32Array(3 * 640 * 640), [1, 3, 640, 640]);

    const outputs = await session.run({ input });

    // 640/8 = 80, so the stride-8 head scores 80×80 anchors; a blank image holds no confident face.
    expect(outputs.cls_8.dims).toEqual([1, 6400, 1]);
    expect(outputs.bbox_8.dims).toEqual([1, 6400, 4]);
    const scores = outputs.cls_8.data as Float32Array;
    const objectness = outputs.obj_8.data as Float32Array;
    expect(Math.max(...scores.map((s, i) => Math.sqrt(Math.max(0, s * objectness[i]))))).toBeLessThan(0.6);
    await session.release();
  });

  it('refuses a text file named .onnx as BadInput, naming the file and keeping onnxruntime’s reason', async () => {
    const fake = join(dir, 'voice.onnx');
    writeFileSync(fake, 'this is a text file, not a model\n');

    const error = await createSession(fake).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('BAD_INPUT');
    const message = (error as Error).message;
    expect(message.startsWith(fake)).toBe(true);
    expect(message).toMatch(/not an ONNX model/);
    expect(message).toMatch(/onnxruntime said: .*Protobuf parsing failed/);
  });

  it('refuses a missing file as BadInput, naming it', async () => {
    const missing = join(dir, 'nowhere.onnx');

    const error = await createSession(missing).catch((e: unknown) => e);

    expect(errorCode(error)).toBe('BAD_INPUT');
    expect((error as Error).message).toBe(`${missing}: no such model file; check the path, or download the model again`);
  });

});

describe('describeProviders', () => {
  it('lists what this build has, with CPU last, and tries only available providers', () => {
    const report = describeProviders();
    expect(report.available.at(-1)).toBe('cpu');
    expect(report.order.every((p) => report.available.includes(p))).toBe(true);
    const builtIn = new Set(ort.listSupportedBackends().map((b) => b.name));
    expect(report.available.every((p) => builtIn.has(p))).toBe(true);
  });
});
