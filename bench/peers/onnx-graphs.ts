/**
 * ONNX models of the workloads, written from JS with `onnx-proto` (no python here), in
 * onnxruntime's fastest honest form per workload (docs/benchmarks.md):
 * gqa and lora plain MatMul/Softmax/Add; qknorm with primitive-op RMSNorm; rmsnorm with
 * opset-23 RMSNormalization; gated_mlp with com.microsoft QuickGelu(α=1) = x·sigmoid(x);
 * ntrans with SimplifiedLayerNormalization then com.microsoft SkipSimplifiedLayerNormalization.
 * Resident inputs become initializers, the others graph inputs; one static-shape model per
 * workload, batch and dtype.
 */
import { f32ToF16Bits } from '../../src/runtime/f16.js';
import type { Variant } from '../../src/runtime/types.js';
import type { BenchWorkload, WorkloadName } from '../workloads.js';
import { encodeF16, importPeerPackage } from './peer-api.js';

const EPS = 1e-6;
const ELEM = { f32: 1, f16: 10, i64: 7 } as const;
/** onnx.AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

interface NodeProto { opType: string; input: string[]; output: string[]; attribute: object[]; domain: string; name: string }
interface OnnxModule { onnx: { ModelProto: { create(m: object): object; encode(m: object): { finish(): Uint8Array } } } }

/** Builds one graph: nodes, graph inputs and initializers, with a counter for fresh names. */
class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: object[] = [];
  private fresh = 0;

  constructor(readonly elem: number) {}

  node(opType: string, input: string[], attrs: object[] = [], domain = ''): string {
    const output = `t${this.fresh++}`;
    this.nodes.push({ opType, input, output: [output], attribute: attrs, domain, name: output });
    return output;
  }

  initializer(name: string, dims: readonly number[], data: Float32Array | Uint16Array | BigInt64Array, elem = this.elem): string {
    this.initializers.push({ name, dataType: elem, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** A constant of the graph's float type. */
  scalar(value: number): string {
    const data = this.elem === ELEM.f16 ? Uint16Array.of(f32ToF16Bits(value)) : Float32Array.of(value);
    return this.initializer(`c${this.fresh++}`, [], data);
  }

  ones(length: number): string {
    const data = this.elem === ELEM.f16 ? new Uint16Array(length).fill(f32ToF16Bits(1)) : new Float32Array(length).fill(1);
    return this.initializer(`ones${this.fresh++}`, [length], data);
  }

  /** x / sqrt(mean(x², -1) + eps), from primitive operators. */
  rmsNormPrim(x: string): string {
    const axes = this.initializer(`axes${this.fresh++}`, [1], BigInt64Array.of(-1n), ELEM.i64);
    const mean = this.node('ReduceMean', [this.node('Mul', [x, x]), axes], [attrInt('keepdims', 1)]);
    return this.node('Div', [x, this.node('Sqrt', [this.node('Add', [mean, this.scalar(EPS)])])]);
  }
}

const attrInt = (name: string, i: number) => ({ name, type: ATTR.INT, i });
const attrFloat = (name: string, f: number) => ({ name, type: ATTR.FLOAT, f });

/** Each workload's graph on its inputs (in program order); returns the output's name and a label. */
const GRAPHS: Readonly<Record<WorkloadName, { form: string; opset: number; build(g: GraphWriter, inputs: string[], lastDim: number): string }>> = {
  gqa: { form: 'mm', opset: 21, build: (g, [q, k, v]) => g.node('MatMul', [g.node('Softmax', [g.node('MatMul', [q!, k!])], [attrInt('axis', -1)]), v!]) },
  qknorm: {
    form: 'prim',
    opset: 21,
    build: (g, [q, k, v]) => g.node('MatMul', [g.node('Softmax', [g.node('MatMul', [g.rmsNormPrim(q!), k!])], [attrInt('axis', -1)]), g.rmsNormPrim(v!)]),
  },
  rmsnorm: {
    form: 'rms23',
    opset: 23,
    build: (g, [x, w], n) => g.node('MatMul', [g.node('RMSNormalization', [x!, g.ones(n)], [attrInt('axis', -1), attrFloat('epsilon', EPS)]), w!]),
  },
  lora: { form: 'mm', opset: 21, build: (g, [x, w, a, b]) => g.node('Add', [g.node('MatMul', [x!, w!]), g.node('MatMul', [g.node('MatMul', [x!, a!]), b!])]) },
  gated_mlp: {
    form: 'qgelu',
    opset: 21,
    build: (g, [x, w1, w2]) =>
      g.node('Mul', [g.node('QuickGelu', [g.node('MatMul', [x!, w1!])], [attrFloat('alpha', 1)], 'com.microsoft'), g.node('MatMul', [x!, w2!])]),
  },
  ntrans: {
    form: 'skipsln',
    opset: 21,
    build: (g, [h, x, alpha], n) => {
      const norm = g.node('SimplifiedLayerNormalization', [h!, g.ones(n)], [attrInt('axis', -1), attrFloat('epsilon', EPS)]);
      const update = g.node('Mul', [alpha!, g.node('Add', [norm, x!])]);
      return g.node('SkipSimplifiedLayerNormalization', [x!, update, g.ones(n)], [attrFloat('epsilon', EPS)], 'com.microsoft');
    },
  },
};

export function onnxForm(name: WorkloadName): string {
  return GRAPHS[name].form;
}

export async function buildOnnxModel(workload: BenchWorkload, variant: Variant): Promise<Uint8Array> {
  const { onnx } = (await importPeerPackage<{ default: OnnxModule }>('onnx-proto')).default;
  const elem = variant === 'f16' ? ELEM.f16 : ELEM.f32;
  const g = new GraphWriter(elem);
  const valueInfo = (name: string, dims: readonly number[]) =>
    ({ name, type: { tensorType: { elemType: elem, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const graphInputs: object[] = [];
  for (const spec of workload.program.inputSpecs) {
    const values = workload.inputs[spec.name]!;
    if (workload.resident.has(spec.name)) g.initializer(spec.name, spec.shape, variant === 'f16' ? encodeF16(values) : values);
    else graphInputs.push(valueInfo(spec.name, spec.shape));
  }
  const names = workload.program.inputSpecs.map((s) => s.name);
  const lastDim = workload.program.inputSpecs[0]!.shape.at(-1)!;
  const spec = GRAPHS[workload.name];
  const result = spec.build(g, names, lastDim);
  const output = workload.program.outputs[0]!;
  const last = g.nodes.find((n) => n.output[0] === result)!;
  last.output[0] = output.name;
  const model = onnx.ModelProto.create({
    irVersion: 10,
    opsetImport: [{ domain: '', version: spec.opset }, { domain: 'com.microsoft', version: 1 }],
    graph: { name: workload.program.name, node: g.nodes, input: graphInputs, output: [valueInfo(output.name, output.tensor.shape)], initializer: g.initializers },
  });
  return onnx.ModelProto.encode(model).finish();
}
