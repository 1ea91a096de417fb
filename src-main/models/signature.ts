import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../src-shared/errors';
import { MODEL_KINDS, MODEL_KIND_LABELS, type ModelKind } from '../../src-shared/model';

type Meta = ort.InferenceSession.ValueMetadata;
type TensorMeta = Extract<Meta, { isTensor: true }>;
type Dim = number | string;

/** What the app's code for each kind feeds and reads, in words for an error message. */
export const SIGNATURES: Record<ModelKind, string> = {
  voice: "Piper's inputs input (int64 [N,phonemes]), input_lengths (int64 [N]) and scales (float32 [3]), optionally sid (int64 [N]), and one float32 audio output",
  'face-detection':
    "YuNet's float32 image input [1,3,640,640] (or of open size) and the outputs cls_8/16/32, obj_8/16/32, bbox_8/16/32 and kps_8/16/32",
  'face-landmarks': 'one float32 image input [N,3,S,S] and a float32 output of 136 values (68 points) or 1404 values (468 points)',
  'lip-sync': "Wav2Lip's float32 mel input [N,1,80,16] and face input [N,6,96,96], and an output [N,3,96,96]",
  segmentation: 'one float32 image input [N,3,320,320] (or of open size) and a float32 output [N,2,320,320] (background, then person)',
  'voice-activity': "Silero VAD's inputs input (float32 [N,samples]), state (float32 [2,N,128]) and sr (int64 scalar), and outputs output [N,1] and stateN",
};

const isTensor = (m: Meta): m is TensorMeta => m.isTensor;
/** A dimension the export left open (a name, -1, or missing). */
const open = (d: Dim | undefined) => typeof d !== 'number' || d < 0;
const fits = (d: Dim | undefined, want: number) => open(d) || d === want;
const size = (shape: readonly Dim[]) => (shape.every((d) => !open(d)) ? shape.reduce<number>((n, d) => n * (d as number), 1) : undefined);

function describe(metas: readonly Meta[]): string {
  const shown = metas.slice(0, 5).map((m) => (isTensor(m) ? `${m.name} ${m.type} [${m.shape.map((d) => (open(d) ? 'N' : d)).join(',')}]` : `${m.name} (not a tensor)`));
  return (metas.length > 5 ? [...shown, `${metas.length - 5} more`] : shown).join(', ') || 'none';
}

function named(metas: readonly Meta[], name: string, type: string, problems: string[]): TensorMeta | undefined {
  const found = metas.find((m) => m.name === name);
  if (!found) problems.push(`no ${name}`);
  else if (!isTensor(found) || found.type !== type) problems.push(`${name} is not ${type}`);
  else return found;
  return undefined;
}

/** The one float32 NCHW colour image input; `side`, when given, is the size the app feeds. */
function image(metas: readonly Meta[], problems: string[], side?: number): TensorMeta | undefined {
  const found = metas.filter(isTensor).filter((m) => m.type === 'float32' && m.shape.length === 4 && fits(m.shape[1], 3));
  if (metas.length !== 1 || found.length !== 1) {
    problems.push('it should take exactly one float32 image [N,3,H,W]');
    return undefined;
  }
  const input = found[0]!;
  if (side !== undefined && !(fits(input.shape[2], side) && fits(input.shape[3], side))) {
    problems.push(`the app feeds it ${side}x${side} images, and its input is fixed at ${input.shape[3]}x${input.shape[2]}`);
  }
  return input;
}

/** What does not fit the kind's signature; empty when it fits. */
export function signatureProblems(kind: ModelKind, session: Pick<ort.InferenceSession, 'inputMetadata' | 'outputMetadata'>): string[] {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const problems: string[] = [];
  switch (kind) {
    case 'voice': {
      named(inputs, 'input', 'int64', problems);
      named(inputs, 'input_lengths', 'int64', problems);
      const scales = named(inputs, 'scales', 'float32', problems);
      if (scales && !fits(scales.shape[0], 3)) problems.push('scales should hold 3 values');
      const extra = inputs.filter((m) => !['input', 'input_lengths', 'scales', 'sid'].includes(m.name));
      if (extra.length) problems.push(`unexpected inputs ${extra.map((m) => m.name).join(', ')}`);
      if (!outputs.some((m) => isTensor(m) && m.type === 'float32')) problems.push('no float32 audio output');
      break;
    }
    case 'face-detection': {
      image(inputs, problems, 640);
      const missing = ['cls', 'obj', 'bbox', 'kps'].flatMap((head) => [8, 16, 32].map((s) => `${head}_${s}`)).filter((n) => !outputs.some((m) => m.name === n));
      if (missing.length) problems.push(`no output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
      break;
    }
    case 'face-landmarks': {
      const input = image(inputs, problems);
      if (input && !open(input.shape[2]) && input.shape[2] !== input.shape[3]) problems.push('its image input should be square');
      const points = outputs.filter(isTensor).some((m) => {
        const n = size(m.shape.slice(1));
        return m.type === 'float32' && (n === 136 || n === 1404);
      });
      if (!points) problems.push('no float32 output of 136 or 1404 values');
      break;
    }
    case 'lip-sync': {
      const has = (metas: readonly Meta[], rest: number[]) =>
        metas.filter(isTensor).some((m) => m.type === 'float32' && m.shape.length === 4 && (open(m.shape[0]) || m.shape[0] === 1) && rest.every((d, i) => m.shape[i + 1] === d));
      if (inputs.length !== 2) problems.push(`it should take 2 inputs, not ${inputs.length}`);
      if (!has(inputs, [1, 80, 16])) problems.push('no mel input [N,1,80,16]');
      if (!has(inputs, [6, 96, 96])) problems.push('no face input [N,6,96,96]');
      if (!has(outputs, [3, 96, 96])) problems.push('no output [N,3,96,96]');
      break;
    }
    case 'segmentation': {
      const input = image(inputs, problems, 320);
      const output = outputs.filter(isTensor).find((m) => m.type === 'float32' && m.shape.length === 4 && fits(m.shape[1], 2));
      if (!output) problems.push('no float32 output [N,2,H,W]');
      else if (input && ![2, 3].every((i) => open(input.shape[i]) || open(output.shape[i]) || input.shape[i] === output.shape[i])) {
        problems.push('its output is not the size of its input');
      }
      break;
    }
    case 'voice-activity': {
      named(inputs, 'input', 'float32', problems);
      named(inputs, 'state', 'float32', problems);
      named(inputs, 'sr', 'int64', problems);
      named(outputs, 'output', 'float32', problems);
      named(outputs, 'stateN', 'float32', problems);
      break;
    }
  }
  return problems;
}

const ONNX_EXTENSIONS = ['.onnx', '.ort'];

/**
 * Open a file with onnxruntime (CPU), or refuse it naming the file: not there, a folder, or not an
 * ONNX model. The caller releases the session.
 */
export async function openOnnx(path: string): Promise<ort.InferenceSession> {
  const file = basename(path);
  const stats = await stat(path).catch(() => undefined);
  if (!stats) throw new AppError(ErrorCode.BadInput, `${file}: does not exist or cannot be read; check the path`);
  if (stats.isDirectory()) throw new AppError(ErrorCode.BadInput, `${file}: is a folder, not a model file; choose the .onnx file inside it`);
  try {
    return await ort.InferenceSession.create(path, { executionProviders: ['cpu'], logSeverityLevel: 3 });
  } catch (error) {
    const extension = ONNX_EXTENSIONS.some((e) => file.toLowerCase().endsWith(e)) ? '' : ' (its name does not end in .onnx either)';
    throw new AppError(
      ErrorCode.BadInput,
      `${file}: is not an ONNX model${extension}; onnxruntime could not open it (${firstLine(error)}). Choose the .onnx file of the model.`,
    );
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
}

/** Refuse a model whose inputs and outputs are not its kind's, naming the file and what differs. */
export function checkSignature(kind: ModelKind, session: ort.InferenceSession, path: string): void {
  const problems = signatureProblems(kind, session);
  if (problems.length === 0) return;
  throw new AppError(
    ErrorCode.BadInput,
    `${basename(path)}: is not a ${MODEL_KIND_LABELS[kind]} model the app can use: ${problems.join('; ')}. ` +
      `It takes ${describe(session.inputMetadata)} and gives ${describe(session.outputMetadata)}; a ${MODEL_KIND_LABELS[kind]} model has ${SIGNATURES[kind]}.`,
  );
}

/** The kinds whose signature the model fits (usually one). */
export function matchingKinds(session: ort.InferenceSession): ModelKind[] {
  return MODEL_KINDS.filter((kind) => signatureProblems(kind, session).length === 0);
}

/** Sizes for dimensions an export left open, per kind: what the app's own code feeds. */
const OPEN_DIMS: Record<ModelKind, (input: string, axis: number) => number> = {
  voice: (input, axis) => (input === 'input' && axis === 1 ? 64 : 1),
  'face-detection': (_, axis) => (axis >= 2 ? 640 : 1),
  'face-landmarks': (_, axis) => (axis >= 2 ? 192 : 1),
  'lip-sync': () => 1,
  segmentation: (_, axis) => (axis >= 2 ? 320 : 1),
  'voice-activity': (input, axis) => (input === 'input' && axis === 1 ? 576 : 1),
};

/** A fixed pseudo-random sequence, so two measurements feed the same numbers. */
function noise(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 4294967296;
  }
  return out;
}

/**
 * Inputs of the model's real shape and type for a measurement: open dimensions get the size the
 * app feeds, floats are noise in [0,1), integers are valid ids and lengths (a Piper voice's
 * phoneme ids stay below 100, its scales are its usual ones; Silero's rate is 16000).
 */
export function sampleInputs(kind: ModelKind, session: ort.InferenceSession): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [index, meta] of session.inputMetadata.entries()) {
    if (!isTensor(meta)) throw new AppError(ErrorCode.BadInput, `input ${meta.name} is not a tensor; the app cannot feed it`);
    const dims = meta.shape.map((d, axis) => (open(d) ? OPEN_DIMS[kind](meta.name, axis) : (d as number)));
    const count = dims.reduce((n, d) => n * d, 1);
    if (meta.type === 'float32') {
      const values = kind === 'voice' && meta.name === 'scales' ? Float32Array.of(0.667, 1, 0.8) : noise(count, index + 1);
      feeds[meta.name] = new ort.Tensor('float32', values, dims);
    } else if (meta.type === 'int64') {
      const values = new BigInt64Array(count);
      if (kind === 'voice-activity' && meta.name === 'sr') values.fill(16000n);
      else if (kind === 'voice' && meta.name === 'input_lengths') values.fill(BigInt(OPEN_DIMS.voice('input', 1)));
      else if (kind === 'voice' && meta.name === 'input') values.forEach((_, i) => (values[i] = BigInt(1 + (i % 60))));
      feeds[meta.name] = new ort.Tensor('int64', values, dims);
    } else {
      throw new AppError(ErrorCode.BadInput, `input ${meta.name} is ${meta.type}; measurements feed only float32 and int64 inputs`);
    }
  }
  return feeds;
}
