/**
 * WGSL expressions for block tensors: the f32 value of tensor `id` at an index of an
 * iteration shape it broadcasts to (numpy rules), whatever its storage: a literal for
 * constants, the operator's expression for inline tensors (recursively), a load from
 * the storage buffer for direct iterator tiles, a read of workgroup memory for workgroup slots.
 * An index is a flat element number of the iteration shape (strided index with merged
 * dims: cheap for elementwise loops) or explicit per-dim coordinates (matmul, reduce).
 */
import { broadcastStrides } from '../../ir/indexing.js';
import type { Shape } from '../../ir/shape.js';
import type { Variant } from '../../runtime/types.js';
import type { BlockOpSpec } from '../../ugraph/block-ops.js';
import { type Binding, f32, load, stridedIndex, u32 } from '../wgsl/common.js';
import { expression } from '../wgsl/elementwise.js';
import type { WorkgroupArray } from './code.js';
import type { KernelPlan } from './plan.js';

export type Index =
  | { readonly flat: string }
  /** One u32 expression per dim of the iteration shape. */
  | { readonly coords: readonly string[] };

export interface TensorAccess {
  /** The f32 value of `id` broadcast to `shape`, at `index`. */
  value(id: number, shape: Shape, index: Index): string;
  /** The workgroup-memory reference of workgroup tensor `id` at `index` of its own shape (or one it broadcasts to). */
  slot(id: number, shape: Shape, index: Index): string;
  /**
   * A vec`width`<f32> of `id` at `coords` and the next width - 1 elements along the last dim:
   * one vector load through the iterator's vector alias when it has one, else `width` scalars.
   */
  vector(id: number, shape: Shape, coords: readonly string[], width: number): string;
  /** A vec4<u32> holding 8 f16 of `id` from `coords` along the last dim, when it has a packed f16 alias; else undefined. */
  packedHalves(id: number, shape: Shape, coords: readonly string[]): string | undefined;
  /**
   * The vec4<f32> reference (read or written) to workgroup tensor `id` at `index` and the next 3 elements along the
   * last dim, when its slot allows one load for any index whose last coordinate is a multiple of 4
   * (aligned base, contiguous last dim, other strides multiples of 4); else undefined. `ifHeld`: see
   * WorkgroupArray.vectorIfHeld.
   */
  workgroupVector(id: number, shape: Shape, index: Index, ifHeld?: boolean): string | undefined;
  /**
   * The vec4<f32> value of `id` broadcast to `shape` at `index` (last coordinate a multiple of 4) and the
   * next 3 elements along the last dim, for vectorized elementwise ops: workgroup slots only
   * when the array already holds vectors, storage tiles through a vec4 alias, scalars splatted where
   * `id` is broadcast along the last dim, inline results from their operands; undefined
   * where some operand cannot be read so (registers, or an op not written for vectors).
   */
  vectorValue(id: number, shape: Shape, index: Index): string | undefined;
}

/** Per iterator: its storage binding and the name of the u32 `let` holding its tile's first element. */
export interface IteratorSource {
  readonly binding: Binding;
  readonly base: string;
  /** Row-major strides of the storage tensor. */
  readonly strides: readonly number[];
  /**
   * A binding of the same buffer as array<vecN<T>>, when the kernel reads this tile in
   * vectors (custom-kernel.ts); `packed`: f16 read as array<vec4<u32>>, 8 halves per element.
   */
  readonly vector?: { readonly name: string; readonly width: number; readonly packed?: boolean };
}

/**
 * `registers` names the register that holds a register-resident accumulator at the element
 * being read (savers reading register tiles, custom-kernel.ts); without it such a read is
 * an internal error.
 */
export function tensorAccess(
  plan: KernelPlan, variant: Variant, iterators: readonly IteratorSource[], workgroup: WorkgroupArray, registers?: (id: number) => string | undefined,
): TensorAccess {
  const { block } = plan;
  const shapeOf = (id: number) => block.tensors[id]!.shape;
  const slot = (id: number, shape: Shape, index: Index): string => {
    const storage = plan.storage[id]!;
    if (storage.kind !== 'workgroup') throw new Error(`internal: t${id} has no workgroup slot (${storage.kind})`);
    return workgroup.element(offset(storage.base, shape, broadcastStrides(shape, shapeOf(id), storage.strides), index));
  };
  const value = (id: number, shape: Shape, index: Index): string => {
    const storage = plan.storage[id]!;
    switch (storage.kind) {
      case 'workgroup':
        return slot(id, shape, index);
      case 'direct': {
        const it = iterators[id]!;
        const at = offset(0, shape, broadcastStrides(shape, shapeOf(id), it.strides), index);
        return load(variant, it.binding, at === '0u' ? it.base : `${it.base} + ${at}`);
      }
      case 'registers': {
        const register = registers?.(id);
        if (register === undefined) throw new Error(`internal: t${id} lives in registers, read only by its accumulator or by savers`);
        return register;
      }
      case 'split':
        throw new Error(`internal: t${id} is a K-split concat, read part by part by its matmuls`);
      case 'inline': {
        const op = block.tensors[id]!.op!;
        // An inline accumulator is a one-iteration sum (residency.ts): its input's value.
        return op.op === 'accum' ? value(op.inputs[0]!, shape, index) : opExpression(op, (x) => value(x, shape, index), id);
      }
    }
  };
  /** The alias element of direct tile `id` holding `coords`, when its alias has `width` elements. */
  const aliasElement = (id: number, shape: Shape, coords: readonly string[], width: number, packed: boolean): string | undefined => {
    const it = iterators[id];
    if (plan.storage[id]!.kind !== 'direct' || it?.vector?.width !== width || (it.vector.packed ?? false) !== packed) return undefined;
    const at = offset(0, shape, broadcastStrides(shape, shapeOf(id), it.strides), { coords });
    return `${it.vector.name}[(${at === '0u' ? it.base : `${it.base} + ${at}`}) / ${u32(width)}]`;
  };
  const vector = (id: number, shape: Shape, coords: readonly string[], width: number): string => {
    const element = aliasElement(id, shape, coords, width, false);
    if (element !== undefined) return `vec${width}<f32>(${element})`;
    const last = coords.length - 1;
    const parts = Array.from({ length: width }, (_, c) =>
      value(id, shape, { coords: coords.map((x, d) => (d === last && c > 0 ? `${x} + ${u32(c)}` : x)) }));
    return `vec${width}<f32>(${parts.join(', ')})`;
  };
  const packedHalves = (id: number, shape: Shape, coords: readonly string[]) => aliasElement(id, shape, coords, 8, true);
  const workgroupVector = (id: number, shape: Shape, index: Index, ifHeld = false): string | undefined => {
    const storage = plan.storage[id]!;
    if (storage.kind !== 'workgroup') return undefined;
    const strides = broadcastStrides(shape, shapeOf(id), storage.strides);
    const aligned = storage.base % 4 === 0 && strides.at(-1) === 1 && strides.slice(0, -1).every((s) => s % 4 === 0);
    if (!aligned) return undefined;
    const at = offset(storage.base, shape, strides, index);
    return ifHeld ? workgroup.vectorIfHeld(at) : workgroup.vector(at);
  };
  const vectorValue = (id: number, shape: Shape, index: Index): string | undefined => {
    const storage = plan.storage[id]!;
    const own = shapeOf(id);
    const broadcastLast = own.length === 0 || own.at(-1) === 1;
    const op = block.tensors[id]!.op;
    if (storage.kind === 'inline' && op?.op === 'accum') return vectorValue(op.inputs[0]!, shape, index);
    if (storage.kind === 'inline' || op?.op === 'constant') {
      if (op?.op === 'unary' && !VECTOR_UNARY.has(op.fn)) return undefined;
      const operands = op!.inputs.map((x) => vectorValue(x, shape, index));
      if (operands.some((x) => x === undefined)) return undefined;
      return op!.op === 'constant' ? `vec4<f32>(${opExpression(op!, () => '', id)})` : opExpression(op!, (x) => operands[op!.inputs.indexOf(x)]!, id);
    }
    if (broadcastLast && (storage.kind === 'workgroup' || storage.kind === 'direct')) return `vec4<f32>(${value(id, shape, index)})`;
    if (storage.kind === 'workgroup') return workgroupVector(id, shape, index, true);
    if (storage.kind === 'direct') {
      // Only through a vec4 alias: four scalar loads save nothing.
      const element = aliasElement(id, shape, 'coords' in index ? index.coords : coordinates(shape, index.flat), 4, false);
      return element === undefined ? undefined : `vec4<f32>(${element})`;
    }
    return undefined;
  };
  return { value, slot, vector, packedHalves, workgroupVector, vectorValue };
}

/** Unary ops whose WGSL (wgsl/elementwise.ts) is written for vectors as well (no scalar literal arguments). */
export const VECTOR_UNARY: ReadonlySet<string> = new Set(['exp', 'square', 'sqrt', 'rsqrt', 'silu']);

/** The f32 expression of elementwise (or constant) op `op` of tensor `id`, given its operands' expressions. */
export function opExpression(op: BlockOpSpec, operand: (id: number) => string, id: number): string {
  switch (op.op) {
    case 'constant':
      return f32(op.value);
    case 'unary':
      return `(${expression({ kind: 'unary', fn: op.fn }, [operand(op.inputs[0]!)])})`;
    case 'binary':
      return `(${expression({ kind: 'binary', fn: op.fn }, op.inputs.map(operand))})`;
    case 'scale':
      return `(${expression({ kind: 'scale', c: op.c }, [operand(op.inputs[0]!)])})`;
    default:
      throw new Error(`internal: t${id} (${op.op}) cannot be an inline expression`);
  }
}

/** `base + Σ coord_d · stride_d` as a u32 expression. */
export function offset(base: number, shape: Shape, strides: readonly number[], index: Index): string {
  const terms: string[] = base === 0 ? [] : [u32(base)];
  if ('flat' in index) {
    const strided = stridedIndex(shape, strides, index.flat);
    if (strided !== '0u') terms.push(strided);
  } else {
    strides.forEach((stride, d) => {
      if (stride === 0 || shape[d] === 1) return;
      const coord = index.coords[d]!;
      if (coord === '0u') return;
      const factor = /^[\w.]+$/.test(coord) ? coord : `(${coord})`;
      terms.push(stride === 1 ? coord : `${factor} * ${u32(stride)}`);
    });
  }
  return terms.length === 0 ? '0u' : terms.join(' + ');
}

/** Coordinates of flat element `flat` of `shape` (row-major); '0u' for dims of size 1. */
export function coordinates(shape: Shape, flat: string): string[] {
  let inner = 1;
  const coords = new Array<string>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 1) coords[d] = '0u';
    else {
      const quotient = inner === 1 ? flat : `(${flat} / ${u32(inner)})`;
      // The outermost dim larger than 1 needs no modulo (flat < the element count).
      coords[d] = shape.slice(0, d).every((s) => s === 1) ? quotient : `(${quotient} % ${u32(size)})`;
    }
    inner *= size;
  }
  return coords;
}
