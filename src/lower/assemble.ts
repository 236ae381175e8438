/**
 * Turns a list of kernel launches ("steps") into a CompiledProgram: the buffer plan (one
 * buffer per stored value, intermediates reused once their last reader has run), kernel
 * deduplication (identical WGSL and bindings share one pipeline) and the frozen result.
 * Shared by the per-operator lowering (per-op.ts) and the μGraph compiler
 * (codegen/ugraph), which differ only in how they produce steps.
 */
import type { KernelSource } from '../codegen/wgsl/common.js';
import type {
  CompiledBuffer, CompiledDispatch, CompiledKernel, CompiledProgram, CompiledTensor, DeviceRequirements, ElementType, Variant,
} from '../runtime/types.js';

/** Anything that owns storage; compared by identity. */
export interface StoredValue {
  readonly shape: readonly number[];
  readonly dtype: ElementType;
}

/** One dispatch: its kernel source per variant, the values bound (reads, then writes, in binding order). */
export interface Step<V extends StoredValue> {
  readonly name: string;
  readonly source: (variant: Variant) => KernelSource;
  readonly reads: readonly V[];
  readonly writes: readonly V[];
}

export interface ProgramParts<V extends StoredValue> {
  readonly name: string;
  readonly variants: readonly Variant[];
  readonly inputs: readonly { readonly name: string; readonly value: V }[];
  readonly outputs: readonly { readonly name: string; readonly value: V }[];
  readonly steps: readonly Step<V>[];
}

export function assembleProgram<V extends StoredValue>(parts: ProgramParts<V>): CompiledProgram {
  const pinned = new Set<V>([...parts.inputs, ...parts.outputs].map((x) => x.value));
  const plan = planBuffers(parts.inputs.map((x) => x.value), parts.steps, pinned);
  const kernels: CompiledKernel[] = [];
  const kernelIndex = new Map<string, number>();
  const requirements: DeviceRequirements[] = [];
  const dispatches = parts.steps.map((step): CompiledDispatch => {
    const sources = parts.variants.map((v) => step.source(v));
    for (const source of sources) if (source.requires) requirements.push(source.requires);
    const first = sources[0]!;
    const wgsl = Object.fromEntries(parts.variants.map((v, i) => [v, sources[i]!.wgsl])) as CompiledKernel['wgsl'];
    const key = JSON.stringify([wgsl, first.bindings]);
    let kernel = kernelIndex.get(key);
    if (kernel === undefined) {
      kernel = kernels.length;
      kernelIndex.set(key, kernel);
      kernels.push({ name: step.name, wgsl, bindings: first.bindings });
    }
    return { kernel, buffers: [...step.reads, ...step.writes].map((v) => plan.bufferOf.get(v)!), workgroups: first.workgroups };
  });
  const tensor = ({ name, value }: { name: string; value: V }): CompiledTensor =>
    ({ name, shape: [...value.shape], dtype: value.dtype, buffer: plan.bufferOf.get(value)! });
  return deepFreeze({
    schema: 1,
    name: parts.name,
    variants: parts.variants,
    inputs: parts.inputs.map(tensor),
    outputs: parts.outputs.map(tensor),
    buffers: plan.buffers,
    kernels,
    dispatches,
    ...requirementsOf(requirements),
  });
}

/** The union of the kernels' device requirements: every feature, the largest subgroup size; nothing when none. */
function requirementsOf(all: readonly DeviceRequirements[]): { requires?: DeviceRequirements } {
  if (all.length === 0) return {};
  const features = [...new Set(all.flatMap((r) => r.features))].sort();
  const sizes = all.flatMap((r) => (r.subgroupMinSize === undefined ? [] : [r.subgroupMinSize]));
  return { requires: { features, ...(sizes.length > 0 ? { subgroupMinSize: Math.max(...sizes) } : {}) } };
}

interface BufferPlan<V> {
  readonly buffers: CompiledBuffer[];
  readonly bufferOf: ReadonlyMap<V, number>;
}

/**
 * Greedy allocation in dispatch order. A value is live from its first write to its last
 * read or write; a released buffer goes to a pool per dtype and is reused best-fit
 * (growing it if none is large enough). A step's outputs never share a buffer with its
 * own operands, since those are still live at the step.
 */
function planBuffers<V extends StoredValue>(inputs: readonly V[], steps: readonly Step<V>[], pinned: ReadonlySet<V>): BufferPlan<V> {
  const lastUse = new Map<V, number>();
  steps.forEach((step, s) => [...step.reads, ...step.writes].forEach((v) => lastUse.set(v, s)));
  const sizes: Array<{ elements: number; dtype: ElementType }> = [];
  const bufferOf = new Map<V, number>();
  const fresh = (v: V) => {
    bufferOf.set(v, sizes.length);
    sizes.push({ elements: elementsOf(v), dtype: v.dtype });
  };
  inputs.forEach(fresh);
  const live = new Set<V>();
  const pool: number[] = [];
  steps.forEach((step, s) => {
    for (const v of live) {
      if (lastUse.get(v)! < s) {
        live.delete(v);
        pool.push(bufferOf.get(v)!);
      }
    }
    for (const v of step.writes) {
      if (bufferOf.has(v)) continue;
      if (pinned.has(v)) {
        fresh(v);
        continue;
      }
      live.add(v);
      const reused = bestFit(pool, sizes, v);
      if (reused === undefined) {
        fresh(v);
        continue;
      }
      pool.splice(pool.indexOf(reused), 1);
      bufferOf.set(v, reused);
      sizes[reused] = { elements: Math.max(sizes[reused]!.elements, elementsOf(v)), dtype: v.dtype };
    }
  });
  return { buffers: sizes, bufferOf };
}

/** The smallest pooled buffer of the right dtype that fits, else the largest one (to grow). */
function bestFit(pool: readonly number[], sizes: ReadonlyArray<{ elements: number; dtype: ElementType }>, v: StoredValue): number | undefined {
  const candidates = pool.filter((b) => sizes[b]!.dtype === v.dtype).sort((a, b) => sizes[a]!.elements - sizes[b]!.elements);
  return candidates.find((b) => sizes[b]!.elements >= elementsOf(v)) ?? candidates[candidates.length - 1];
}

function elementsOf(v: StoredValue): number {
  return v.shape.reduce((p, d) => p * d, 1);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
