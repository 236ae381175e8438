/**
 * Reductions (sum, max) over one dim. The input is viewed as [outer, R, inner]; each output
 * element ("row") reduces R elements `inner` apart. Two schedules:
 * - long rows (R > 32): one workgroup per row, each invocation strides over the row, then a
 *   tree reduction in workgroup memory;
 * - short rows: one invocation per row with a serial loop, so that a workgroup is not mostly
 *   idle and, for a non-last dim, neighbouring invocations read neighbouring elements.
 * Accumulation is in f32 in both variants.
 */
import { numel } from '../../ir/shape.js';
import type { ElementType, Variant } from '../../runtime/types.js';
import {
  type Binding, ceilDiv, flatWorkgroup, grid, kernelHeader, type KernelSource, load, nextPowerOfTwo, store, u32,
} from './common.js';

export interface ReduceSpec {
  readonly fn: 'sum' | 'max';
  readonly inShape: readonly number[];
  readonly dim: number;
  readonly dtype: ElementType;
}

/** Rows at most this long are reduced by one invocation each. */
const SERIAL_MAX = 32;
const SERIAL_WORKGROUP = 256;
const MAX_WORKGROUP = 256;

/** Bindings: input, output. The output holds one element per row, in row-major order of the kept dims. */
export function reduceKernel(spec: ReduceSpec, variant: Variant): KernelSource {
  const length = spec.inShape[spec.dim]!;
  const inner = numel(spec.inShape.slice(spec.dim + 1));
  const rows = numel(spec.inShape) / length;
  const bindings: Binding[] = [
    { name: 'x', dtype: spec.dtype, access: 'read' },
    { name: 'y', dtype: spec.dtype, access: 'read_write' },
  ];
  const [x, y] = bindings as [Binding, Binding];
  // Index of the row's first element, and of its element r.
  const rowBase = inner === 1 ? `row * ${u32(length)}` : `(row / ${u32(inner)}) * ${u32(length * inner)} + row % ${u32(inner)}`;
  const at = (r: string) => (inner === 1 ? `base + ${r}` : `base + ${r} * ${u32(inner)}`);
  const combine = (acc: string, v: string) => (spec.fn === 'sum' ? `${acc} + ${v}` : `max(${acc}, ${v})`);
  const common = { variant, bindings, x, y, rows, rowBase, at, combine };
  return length > SERIAL_MAX ? workgroupPerRow(common, spec.fn, length) : invocationPerRow(common, spec.fn, length);
}

interface Parts {
  readonly variant: Variant;
  readonly bindings: readonly Binding[];
  readonly x: Binding;
  readonly y: Binding;
  readonly rows: number;
  readonly rowBase: string;
  readonly at: (r: string) => string;
  readonly combine: (acc: string, v: string) => string;
}

function invocationPerRow(p: Parts, fn: ReduceSpec['fn'], length: number): KernelSource {
  const g = grid(ceilDiv(p.rows, SERIAL_WORKGROUP));
  // max starts from element 0 (there is no -inf literal in WGSL); sum from 0.
  const [init, first] = fn === 'max' ? [load(p.variant, p.x, p.at('0u')), '1u'] : ['0.0', '0u'];
  const wgsl = `${kernelHeader(p.variant, p.bindings)}

@compute @workgroup_size(${SERIAL_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = (${flatWorkgroup(g)}) * ${u32(SERIAL_WORKGROUP)} + lid;
  if (row >= ${u32(p.rows)}) { return; }
  let base = ${p.rowBase};
  var acc: f32 = ${init};
  for (var r = ${first}; r < ${u32(length)}; r++) {
    acc = ${p.combine('acc', load(p.variant, p.x, p.at('r')))};
  }
  ${store(p.variant, p.y, 'row', 'acc')}
}
`;
  return { wgsl, bindings: p.bindings.map((b) => b.access), workgroups: g };
}

function workgroupPerRow(p: Parts, fn: ReduceSpec['fn'], length: number): KernelSource {
  const size = Math.min(MAX_WORKGROUP, nextPowerOfTwo(length));
  const g = grid(p.rows);
  // max starts from an element of the row (clamped: repeating one is harmless for max).
  const init = fn === 'max' ? load(p.variant, p.x, p.at(`min(lid, ${u32(length - 1)})`)) : '0.0';
  const wgsl = `${kernelHeader(p.variant, p.bindings)}

var<workgroup> partial: array<f32, ${size}>;

@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Uniform per workgroup, so the early return keeps the barriers below in uniform control flow.
  let row = ${flatWorkgroup(g)};
  if (row >= ${u32(p.rows)}) { return; }
  let base = ${p.rowBase};
  var acc: f32 = ${init};
  for (var r = lid; r < ${u32(length)}; r += ${u32(size)}) {
    acc = ${p.combine('acc', load(p.variant, p.x, p.at('r')))};
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${u32(size / 2)}; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = ${p.combine('partial[lid]', 'partial[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { ${store(p.variant, p.y, 'row', 'partial[0]')} }
}
`;
  return { wgsl, bindings: p.bindings.map((b) => b.access), workgroups: g };
}
