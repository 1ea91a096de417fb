import { createRequire } from 'node:module';

// onnx-proto is CommonJS that assigns module.exports wholesale, so Node's ESM loader finds no
// named exports in it; require keeps the typings of its .d.ts.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');

/** A dimension: a number is fixed, a string is symbolic (dynamic, e.g. the batch). */
export type Dim = number | string;

export interface TensorSpec {
  name: string;
  shape: Dim[];
}

export type Attribute = { int: number } | { ints: number[] } | { float: number } | { floats: number[] } | { string: string };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | number[];
}

export interface GraphSpec {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  nodes: NodeSpec[];
  initializers?: Initializer[];
  /** Default opset 13, which onnxruntime-node 1.30 runs and where ReduceMean still takes `axes` as an attribute. */
  opset?: number;
}

function valueInfo({ name, shape }: TensorSpec) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('ints' in value) return { name, type: T.INTS, ints: value.ints };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

/** Encode a float32 ONNX model from a plain description: the bytes onnxruntime loads. */
export function buildGraph(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'mouthpiece-tests',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(({ name, dims, data }) => ({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(Float32Array.from(data).buffer),
      })),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Weights of the 1x1 convolution in the Wav2Lip test graph, [output channel][face channel].
 * Each output channel mixes a different pair of masked and reference channels, so a channel put
 * in the wrong place changes the result.
 */
export const WAV2LIP_TEST_WEIGHTS: readonly (readonly number[])[] = [
  [0.5, 0, 0, 1, 0, 0],
  [0, -0.25, 0, 0, 1.5, 0],
  [0, 0, 0.75, 0, 0, -1],
];
export const WAV2LIP_TEST_BIAS: readonly number[] = [0.1, -0.2, 0.3];

/**
 * A tiny model with Wav2Lip's signature: mel [N,1,80,16] and face [N,6,96,96] in,
 * [N,3,96,96] out, where out[c] = sigmoid(sum_j W[c][j] * face[j] + B[c] + mean(mel)) per pixel
 * (W, B above; mean over each item's 80x16 window). `fixedBatch` fixes N at 1, as some exports do.
 */
export function buildWav2LipTestGraph(options: { fixedBatch?: boolean } = {}): Uint8Array {
  const n: Dim = options.fixedBatch ? 1 : 'batch';
  return buildGraph({
    inputs: [
      // Face first: the adapter must tell the inputs apart by shape, not by order or name.
      { name: 'face_sequences', shape: [n, 6, 96, 96] },
      { name: 'audio_sequences', shape: [n, 1, 80, 16] },
    ],
    outputs: [{ name: 'generated', shape: [n, 3, 96, 96] }],
    initializers: [
      { name: 'W', dims: [3, 6, 1, 1], data: WAV2LIP_TEST_WEIGHTS.flat() },
      { name: 'B', dims: [3], data: [...WAV2LIP_TEST_BIAS] },
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['audio_sequences'], outputs: ['mel_mean'], attributes: { axes: { ints: [1, 2, 3] }, keepdims: { int: 1 } } },
      { op: 'Conv', inputs: ['face_sequences', 'W', 'B'], outputs: ['mixed'], attributes: { kernel_shape: { ints: [1, 1] } } },
      { op: 'Add', inputs: ['mixed', 'mel_mean'], outputs: ['logits'] },
      { op: 'Sigmoid', inputs: ['logits'], outputs: ['generated'] },
    ],
  });
}
