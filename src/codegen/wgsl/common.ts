/**
 * Helpers shared by the WGSL generators of the pre-defined kernels (elementwise, matmul,
 * reduce, layout): storage types per variant, binding declarations, f16/f32 loads and
 * stores, literals, strided index expressions and the workgroup grid. Every generator
 * bakes static shapes into its WGSL as constants, so these helpers produce text, not code
 * that runs on the GPU.
 */
import { broadcastStrides as broadcastStridesOf } from '../../ir/indexing.js';
import { stridesOf } from '../../ir/shape.js';
import { storageType } from '../../runtime/loader.js';
import type { DeviceRequirements, ElementType, Variant } from '../../runtime/types.js';

export { storageType };

/** WebGPU's default `maxComputeWorkgroupsPerDimension`. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

export type Access = 'read' | 'read_write';

/** What every generator returns for one variant. */
export interface KernelSource {
  readonly wgsl: string;
  /** Access of each binding of @group(0), in binding order. */
  readonly bindings: readonly Access[];
  readonly workgroups: readonly [number, number, number];
  /** What the kernel needs of the device beyond its variant (e.g. subgroups); absent when nothing. */
  readonly requires?: DeviceRequirements;
}

/** One storage binding of a kernel: a name in the WGSL and the dtype the program declares. */
export interface Binding {
  readonly name: string;
  readonly dtype: ElementType;
  readonly access: Access;
  /** The WGSL array element when it is not the storage type itself (vectors of it; packed halves). */
  readonly element?: string;
}

/** `enable f16;` (when a binding stores f16) and the binding declarations, in binding order. */
export function kernelHeader(variant: Variant, bindings: readonly Binding[]): string {
  const needsF16 = bindings.some((b) => storageType(variant, b.dtype) === 'f16');
  const lines = bindings.map((b, i) => {
    const access = b.access === 'read' ? 'read' : 'read_write';
    return `@group(0) @binding(${i}) var<storage, ${access}> ${b.name}: array<${b.element ?? storageType(variant, b.dtype)}>;`;
  });
  return [...(needsF16 ? ['enable f16;', ''] : []), ...lines].join('\n');
}

/** An f32 expression reading element `index` of a binding (arithmetic is always in f32). */
export function load(variant: Variant, b: Binding, index: string): string {
  return storageType(variant, b.dtype) === 'f16' ? `f32(${b.name}[${index}])` : `${b.name}[${index}]`;
}

/** A statement writing the f32 expression `value` to element `index`, converting to the storage type. */
export function store(variant: Variant, b: Binding, index: string, value: string): string {
  const v = storageType(variant, b.dtype) === 'f16' ? `f16(${value})` : value;
  return `${b.name}[${index}] = ${v};`;
}

export function u32(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`not a u32: ${n}`);
  return `${n}u`;
}

/** A finite number as an f32 WGSL expression (the literal is abstract; f32() rounds it). */
export function f32(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite constant: ${value}`);
  const text = String(value);
  return `f32(${/[.eE]/.test(text) ? text : `${text}.0`})`;
}

/**
 * The WGSL expression of a strided index: element `i` (a u32 expression) of a row-major
 * iteration over `shape`, mapped through `strides` (one per dim; 0 for a broadcast dim).
 * Adjacent dims that are contiguous in both spaces are merged first, so a plain copy is `i`
 * and a [n,1] broadcast costs one division, not one per dim.
 */
export function stridedIndex(shape: readonly number[], strides: readonly number[], i: string): string {
  const dims: Array<{ size: number; stride: number }> = [];
  shape.forEach((size, d) => {
    if (size === 1) return;
    const stride = strides[d]!;
    const last = dims[dims.length - 1];
    if (last && last.stride === stride * size) dims[dims.length - 1] = { size: last.size * size, stride };
    else dims.push({ size, stride });
  });
  const terms: string[] = [];
  let inner = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    const { size, stride } = dims[d]!;
    if (stride !== 0) {
      let coord = inner === 1 ? i : `(${i} / ${u32(inner)})`;
      if (d > 0) coord = `(${coord} % ${u32(size)})`;
      terms.push(stride === 1 ? coord : `${coord} * ${u32(stride)}`);
    }
    inner *= size;
  }
  return terms.length === 0 ? '0u' : terms.reverse().join(' + ');
}

/** Strides of `inShape` seen from an iteration over `outShape` under broadcasting, scaled by `unit`. */
export function broadcastStrides(outShape: readonly number[], inShape: readonly number[], unit = 1): number[] {
  return broadcastStridesOf(outShape, inShape, stridesOf(inShape).map((s) => s * unit));
}

/**
 * A 1-D range of workgroups as a grid: x up to 65535, y as many rows as needed. Shaders
 * flatten it back with `flatWorkgroup` and bounds-check, since x·y may overshoot.
 */
export function grid(workgroups: number): readonly [number, number, number] {
  const count = Math.max(1, workgroups);
  const x = Math.min(count, MAX_WORKGROUPS_PER_DIM);
  const y = Math.ceil(count / x);
  if (y > MAX_WORKGROUPS_PER_DIM) throw new Error(`${count} workgroups exceed a 65535 x 65535 grid`);
  return [x, y, 1];
}

/** The flat workgroup index (u32 expression) of a `grid`, from the builtin `wid`. */
export function flatWorkgroup(g: readonly [number, number, number]): string {
  return g[1] === 1 ? 'wid.x' : `wid.y * ${u32(g[0])} + wid.x`;
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
