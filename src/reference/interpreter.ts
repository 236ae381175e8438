/**
 * Float64 reference interpreter: the oracle every numeric test compares against.
 *
 * It evaluates a Program node by node with plain loops over row-major Float64Arrays and
 * shares no code with lowering, codegen or the GPU runtime. Composite operators
 * (rmsNorm, softmax, mean) are interpreted directly from their definitions, never through
 * `expandComposites`, so that a bug in expansion shows up as a mismatch against this.
 * Every dtype is computed in float64: f16 rounding is the tolerance's business (compare.ts).
 */
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor, UnaryOp } from '../frontend/tensor.js';
import { formatShape, numel, type Shape, stridesOf } from '../ir/shape.js';
import { broadcastOffset, forEachIndex } from '../ir/indexing.js';

/** A computed tensor: its shape and row-major elements. */
interface Value {
  readonly shape: Shape;
  readonly data: Float64Array;
}

export type ReferenceInputs = Readonly<Record<string, ArrayLike<number>>>;

/** Evaluates every output of `program` in float64. Inputs are row-major, keyed by input name. */
export function evaluateReference(program: Program, inputs: ReferenceInputs): Record<string, Float64Array> {
  checkInputs(program, inputs);
  const values = new Map<Tensor, Value>();
  for (const node of program.nodes) {
    const operands = node.inputs.map((x) => values.get(x)!);
    values.set(node, { shape: node.shape, data: evaluateNode(node, operands, inputs) });
  }
  const outputs: Record<string, Float64Array> = {};
  for (const { name, tensor } of program.outputs) outputs[name] = values.get(tensor)!.data.slice();
  return outputs;
}

function checkInputs(program: Program, inputs: ReferenceInputs): void {
  const declared = new Set<string>();
  for (const spec of program.inputSpecs) {
    declared.add(spec.name);
    const data = inputs[spec.name];
    const expected = numel(spec.shape);
    if (data === undefined) {
      throw new Error(`reference: missing input "${spec.name}" (${expected} elements, shape ${formatShape(spec.shape)})`);
    }
    if (data.length !== expected) {
      throw new Error(
        `reference: input "${spec.name}" has ${data.length} elements; shape ${formatShape(spec.shape)} needs ${expected}`,
      );
    }
  }
  const unknown = Object.keys(inputs).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    throw new Error(`reference: unknown input(s) ${unknown.map((n) => `"${n}"`).join(', ')}; program "${program.name}" declares ${[...declared].join(', ')}`);
  }
}

function evaluateNode(node: Tensor, operands: readonly Value[], inputs: ReferenceInputs): Float64Array {
  const [x, y] = operands as [Value, Value | undefined];
  switch (node.op) {
    case 'input':
      return Float64Array.from(inputs[(node.attrs as OpAttrs['input']).name]!);
    case 'const':
      return Float64Array.of((node.attrs as OpAttrs['const']).value);
    case 'unary': {
      const f = UNARY[(node.attrs as OpAttrs['unary']).fn];
      return x.data.map(f);
    }
    case 'scale': {
      const { c } = node.attrs as OpAttrs['scale'];
      return x.data.map((v) => v * c);
    }
    case 'binary': {
      const f = BINARY[(node.attrs as OpAttrs['binary']).fn];
      return broadcastCombine(node.shape, x, y!, f);
    }
    case 'reduce': {
      // keepdim only changes the shape: the row-major data of [.., 1, ..] and [.., ..] is the same.
      const { fn, dim } = node.attrs as OpAttrs['reduce'];
      if (fn === 'max') return reduceKeepdim(x, dim, -Infinity, Math.max).data;
      const sum = reduceKeepdim(x, dim, 0, (acc, v) => acc + v).data;
      return fn === 'mean' ? sum.map((v) => v / x.shape[dim]!) : sum;
    }
    case 'rmsNorm': {
      const { dim, eps } = node.attrs as OpAttrs['rmsNorm'];
      const sumSquares = reduceKeepdim(x, dim, 0, (acc, v) => acc + v * v);
      const n = x.shape[dim]!;
      const invRms = { shape: sumSquares.shape, data: sumSquares.data.map((s) => 1 / Math.sqrt(s / n + eps)) };
      const normalized = { shape: x.shape, data: broadcastCombine(x.shape, x, invRms, (v, r) => v * r) };
      return y ? broadcastCombine(x.shape, normalized, y, (v, w) => v * w) : normalized.data;
    }
    case 'softmax': {
      const { dim } = node.attrs as OpAttrs['softmax'];
      const rowMax = reduceKeepdim(x, dim, -Infinity, Math.max);
      const exps = { shape: x.shape, data: broadcastCombine(x.shape, x, rowMax, (v, m) => Math.exp(v - m)) };
      const rowSum = reduceKeepdim(exps, dim, 0, (acc, v) => acc + v);
      return broadcastCombine(x.shape, exps, rowSum, (e, s) => e / s);
    }
    case 'matmul':
      return matmul(x, y!, node.shape);
    case 'reshape':
      return x.data.slice();
    case 'transpose':
      return transpose(x, (node.attrs as OpAttrs['transpose']).perm, node.shape);
    case 'concat':
      return concat(operands, (node.attrs as OpAttrs['concat']).dim, node.shape);
  }
}

const UNARY: Record<UnaryOp, (x: number) => number> = {
  exp: Math.exp,
  square: (x) => x * x,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu: (x) => Math.max(x, 0), // NaN stays NaN
};

const BINARY: Record<OpAttrs['binary']['fn'], (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

// ---- Index arithmetic shared by the operators ----



/** out[i] = f(a[i], b[i]) over `outShape`, each operand broadcast to it. */
function broadcastCombine(outShape: Shape, a: Value, b: Value, f: (a: number, b: number) => number): Float64Array {
  const out = new Float64Array(numel(outShape));
  const aStrides = stridesOf(a.shape);
  const bStrides = stridesOf(b.shape);
  forEachIndex(outShape, (index, flat) => {
    out[flat] = f(a.data[broadcastOffset(index, a.shape, aStrides)]!, b.data[broadcastOffset(index, b.shape, bStrides)]!);
  });
  return out;
}

/** Folds `x` along `dim` with `combine`, starting from `init`; the result keeps `dim` with size 1. */
function reduceKeepdim(x: Value, dim: number, init: number, combine: (acc: number, v: number) => number): Value {
  const shape = x.shape.map((s, i) => (i === dim ? 1 : s));
  const strides = stridesOf(shape);
  const data = new Float64Array(numel(shape)).fill(init);
  forEachIndex(x.shape, (index, flat) => {
    const target = broadcastOffset(index, shape, strides);
    data[target] = combine(data[target]!, x.data[flat]!);
  });
  return { shape, data };
}

/** [...batchA, m, k] · [...batchB, k, n] -> [...broadcast(batchA, batchB), m, n]. */
function matmul(a: Value, b: Value, outShape: Shape): Float64Array {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const aBatchStrides = stridesOf(aBatch);
  const bBatchStrides = stridesOf(bBatch);
  const out = new Float64Array(numel(outShape));
  forEachIndex(outShape.slice(0, -2), (batchIndex, batch) => {
    const aBase = broadcastOffset(batchIndex, aBatch, aBatchStrides) * m * k;
    const bBase = broadcastOffset(batchIndex, bBatch, bBatchStrides) * k * n;
    // i-p-j order walks rows of b (cache-friendly); each output still sums p = 0..k-1 in order.
    for (let i = 0; i < m; i++) {
      const outRow = batch * m * n + i * n;
      for (let p = 0; p < k; p++) {
        const aip = a.data[aBase + i * k + p]!;
        const bRow = bBase + p * n;
        for (let j = 0; j < n; j++) out[outRow + j]! += aip * b.data[bRow + j]!;
      }
    }
  });
  return out;
}

/** Output dimension i is input dimension perm[i]. */
function transpose(x: Value, perm: readonly number[], outShape: Shape): Float64Array {
  const inStrides = stridesOf(x.shape);
  const out = new Float64Array(numel(outShape));
  forEachIndex(outShape, (index, flat) => {
    let offset = 0;
    for (let i = 0; i < perm.length; i++) offset += index[i]! * inStrides[perm[i]!]!;
    out[flat] = x.data[offset]!;
  });
  return out;
}

/** Places each part at its running offset along `dim` of the output. */
function concat(parts: readonly Value[], dim: number, outShape: Shape): Float64Array {
  const outStrides = stridesOf(outShape);
  const out = new Float64Array(numel(outShape));
  let start = 0;
  for (const part of parts) {
    const base = start * outStrides[dim]!;
    forEachIndex(part.shape, (index, flat) => {
      let offset = base;
      for (let d = 0; d < index.length; d++) offset += index[d]! * outStrides[d]!;
      out[offset] = part.data[flat]!;
    });
    start += part.shape[dim]!;
  }
  return out;
}
