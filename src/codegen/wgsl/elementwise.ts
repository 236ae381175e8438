/**
 * Elementwise kernels: unary operators, binary operators with numpy broadcasting, scale,
 * copy and constant fill. Also `mapKernel`, the one-invocation-per-element skeleton that
 * layout.ts reuses for transpose and concat. Consecutive invocations handle consecutive
 * output elements (coalesced stores); a broadcast operand's index comes from a strided
 * index expression with merged dims, and a scalar constant is folded in as a literal.
 */
import { numel } from '../../ir/shape.js';
import type { BinaryOp, UnaryOp } from '../../frontend/tensor.js';
import type { ElementType, Variant } from '../../runtime/types.js';
import {
  type Binding, broadcastStrides, ceilDiv, f32, flatWorkgroup, grid, kernelHeader, type KernelSource, load,
  store, stridedIndex, u32,
} from './common.js';

const WORKGROUP = 256;

/** One operand read by a map kernel: its dtype and its index for the invocation's element `i`. */
export interface MapInput {
  readonly dtype: ElementType;
  readonly index: (i: string) => string;
}

export interface MapKernelSpec {
  /** Number of invocations, one per element. */
  readonly count: number;
  readonly inputs: readonly MapInput[];
  readonly output: MapInput;
  /** The f32 value to store, from the inputs' f32 values. */
  readonly value: (operands: readonly string[]) => string;
}

/** One invocation per element: load the inputs at their indices, compute, store. */
export function mapKernel(spec: MapKernelSpec, variant: Variant): KernelSource {
  const bindings: Binding[] = [
    ...spec.inputs.map((x, k) => ({ name: `x${k}`, dtype: x.dtype, access: 'read' as const })),
    { name: 'y', dtype: spec.output.dtype, access: 'read_write' },
  ];
  const g = grid(ceilDiv(spec.count, WORKGROUP));
  const loads = spec.inputs.map((x, k) => `  let v${k} = ${load(variant, bindings[k]!, x.index('i'))};`);
  const value = spec.value(spec.inputs.map((_, k) => `v${k}`));
  const wgsl = `${kernelHeader(variant, bindings)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (${flatWorkgroup(g)}) * ${u32(WORKGROUP)} + lid;
  if (i >= ${u32(spec.count)}) { return; }
${loads.join('\n')}
  ${store(variant, bindings[bindings.length - 1]!, spec.output.index('i'), value)}
}
`;
  return { wgsl, bindings: bindings.map((b) => b.access), workgroups: g };
}

/** What an elementwise kernel computes from its operands' f32 values. */
export type ElementwiseFn =
  | { readonly kind: 'unary'; readonly fn: UnaryOp }
  | { readonly kind: 'binary'; readonly fn: BinaryOp }
  | { readonly kind: 'scale'; readonly c: number }
  | { readonly kind: 'copy' };

/** A tensor operand (bound as a buffer) or a scalar constant (folded into the WGSL). */
export type ElementwiseOperand =
  | { readonly kind: 'tensor'; readonly shape: readonly number[]; readonly dtype: ElementType }
  | { readonly kind: 'literal'; readonly value: number };

export interface ElementwiseSpec {
  readonly fn: ElementwiseFn;
  readonly operands: readonly ElementwiseOperand[];
  readonly out: { readonly shape: readonly number[]; readonly dtype: ElementType };
}

/** Bindings: the tensor operands in order, then the output. */
export function elementwiseKernel(spec: ElementwiseSpec, variant: Variant): KernelSource {
  const outShape = spec.out.shape;
  const tensors = spec.operands.filter((o) => o.kind === 'tensor');
  const inputs: MapInput[] = tensors.map((t) => {
    const strides = broadcastStrides(outShape, t.shape);
    return { dtype: t.dtype, index: (i: string) => stridedIndex(outShape, strides, i) };
  });
  const value = (loaded: readonly string[]): string => {
    let next = 0;
    const args = spec.operands.map((o) => (o.kind === 'literal' ? f32(o.value) : loaded[next++]!));
    return expression(spec.fn, args);
  };
  return mapKernel({ count: numel(outShape), inputs, output: { dtype: spec.out.dtype, index: (i) => i }, value }, variant);
}

/** The f32 WGSL expression of an elementwise operator on f32 operand expressions. */
export function expression(fn: ElementwiseFn, args: readonly string[]): string {
  const [a = '', b = ''] = args;
  switch (fn.kind) {
    case 'copy':
      return a;
    case 'scale':
      return `${a} * ${f32(fn.c)}`;
    case 'binary':
      return `${a} ${{ add: '+', sub: '-', mul: '*', div: '/' }[fn.fn]} ${b}`;
    case 'unary':
      return unaryExpression(fn.fn, a);
  }
}

function unaryExpression(fn: UnaryOp, x: string): string {
  switch (fn) {
    case 'exp':
      return `exp(${x})`;
    case 'square':
      return `${x} * ${x}`;
    case 'sqrt':
      return `sqrt(${x})`;
    // 1/sqrt rather than inverseSqrt, whose result WGSL leaves undefined at 0.
    case 'rsqrt':
      return `1.0 / sqrt(${x})`;
    case 'silu':
      return `${x} / (1.0 + exp(-${x}))`;
    // tanh overflows to NaN on some implementations for large arguments; |tanh| is 1 in f32 past 10.
    case 'gelu':
      return `0.5 * ${x} * (1.0 + tanh(clamp(0.7978845608 * (${x} + 0.044715 * ${x} * ${x} * ${x}), -10.0, 10.0)))`;
    case 'relu':
      return `max(${x}, 0.0)`;
  }
}
