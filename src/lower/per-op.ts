/**
 * The per-operator lowering: the correct-but-unfused baseline that `load()` uses without
 * the build plugin, and the reference point the search has to beat. Composites are
 * expanded, then every primitive becomes one kernel (concat: one per operand), except
 * - input: a buffer the caller fills;
 * - const: a rank-0 scalar folded into its consumer's WGSL as a literal;
 * - reshape: an alias of its operand's buffer (row-major data does not move).
 * Buffers: one per materialized tensor; an intermediate's buffer is reused once its last
 * reader has run (liveness over dispatch order); input and output buffers are never
 * reused, and an output that is an input or shares its storage with an earlier output gets
 * a copy kernel, so every output owns its buffer.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';
import type { KernelSource } from '../codegen/wgsl/common.js';
import { elementwiseKernel, type ElementwiseFn, type ElementwiseOperand } from '../codegen/wgsl/elementwise.js';
import { concatSliceKernel, transposeKernel } from '../codegen/wgsl/layout.js';
import { matmulKernel } from '../codegen/wgsl/matmul.js';
import { reduceKernel } from '../codegen/wgsl/reduce.js';
import type {
  CompiledBuffer, CompiledDispatch, CompiledKernel, CompiledProgram, CompiledTensor, ElementType, Variant,
} from '../runtime/types.js';

/** Something that owns storage: a materialized node, or the copy made for an output. */
type Value = Tensor | { readonly copyOf: string; readonly shape: readonly number[]; readonly dtype: ElementType };

interface Step {
  readonly name: string;
  readonly source: (variant: Variant) => KernelSource;
  readonly reads: readonly Value[];
  readonly writes: Value;
}

export function lowerPerOperator(program: Program): CompiledProgram {
  const expanded = expandComposites(program);
  const variants: readonly Variant[] = expanded.nodes.some((n) => n.dtype === 'f16') ? ['f16', 'f32'] : ['f32'];
  const outputValues = assignOutputValues(expanded);
  const literalConsts = foldableConsts(expanded, outputValues);
  const steps = [
    ...expanded.nodes.flatMap((node) => nodeSteps(node, literalConsts)),
    ...expanded.outputs.flatMap((o, i) => {
      const value = outputValues[i]!;
      return value === storageOf(o.tensor) ? [] : [copyStep(o.tensor, value)];
    }),
  ];
  const pinned = new Set<Value>([...expanded.inputs, ...outputValues]);
  const plan = planBuffers(expanded.inputs, steps, pinned);
  const kernels: CompiledKernel[] = [];
  const kernelIndex = new Map<string, number>();
  const dispatches = steps.map((step): CompiledDispatch => {
    const sources = variants.map((v) => step.source(v));
    const first = sources[0]!;
    const wgsl = Object.fromEntries(variants.map((v, i) => [v, sources[i]!.wgsl])) as CompiledKernel['wgsl'];
    const key = JSON.stringify([wgsl, first.bindings]);
    let kernel = kernelIndex.get(key);
    if (kernel === undefined) {
      kernel = kernels.length;
      kernelIndex.set(key, kernel);
      kernels.push({ name: step.name, wgsl, bindings: first.bindings });
    }
    return { kernel, buffers: [...step.reads, step.writes].map((v) => plan.bufferOf.get(v)!), workgroups: first.workgroups };
  });
  const tensor = (name: string, t: Tensor, value: Value): CompiledTensor =>
    ({ name, shape: [...t.shape], dtype: t.dtype, buffer: plan.bufferOf.get(value)! });
  return deepFreeze({
    schema: 1,
    name: program.name,
    variants,
    inputs: expanded.inputs.map((t) => tensor(t.attrs.name as string, t, t)),
    outputs: expanded.outputs.map((o, i) => tensor(o.name, o.tensor, outputValues[i]!)),
    buffers: plan.buffers,
    kernels,
    dispatches,
  });
}

/** The node whose buffer holds `t`'s data: reshapes alias their operand. */
function storageOf(t: Tensor): Tensor {
  let node = t;
  while (node.op === 'reshape') node = node.inputs[0]!;
  return node;
}

/** Each output's value: its own storage, unless that is an input or already an earlier output's. */
function assignOutputValues(program: Program): Value[] {
  const claimed = new Set<Value>();
  return program.outputs.map((o) => {
    const root = storageOf(o.tensor);
    const value: Value = root.op === 'input' || claimed.has(root) ? { copyOf: o.name, shape: o.tensor.shape, dtype: o.tensor.dtype } : root;
    claimed.add(value);
    return value;
  });
}

/** Constants read only by binary operators become literals; any other use gets a buffer (a fill kernel). */
function foldableConsts(program: Program, outputValues: readonly Value[]): ReadonlySet<Tensor> {
  const needsBuffer = new Set<Tensor>(outputValues.filter((v): v is Tensor => 'op' in v));
  for (const node of program.nodes) {
    if (node.op !== 'binary') node.inputs.forEach((x) => needsBuffer.add(storageOf(x)));
  }
  return new Set(program.nodes.filter((n) => n.op === 'const' && !needsBuffer.has(n)));
}

function nodeSteps(node: Tensor, literals: ReadonlySet<Tensor>): Step[] {
  const name = node.describe();
  const dtype = node.dtype;
  const tensorOperand = (x: Tensor): ElementwiseOperand => ({ kind: 'tensor', shape: x.shape, dtype: x.dtype });
  const elementwise = (fn: ElementwiseFn, operands: readonly Tensor[]): Step => {
    const specOperands = operands.map((x): ElementwiseOperand =>
      literals.has(x) ? { kind: 'literal', value: x.attrs.value as number } : tensorOperand(x));
    const reads = operands.filter((x) => !literals.has(x)).map(storageOf);
    return { name, reads, writes: node, source: (v) => elementwiseKernel({ fn, operands: specOperands, out: node }, v) };
  };
  const [x, y] = node.inputs as [Tensor, Tensor];
  switch (node.op) {
    case 'input':
    case 'reshape':
      return [];
    case 'const':
      if (literals.has(node)) return [];
      return [{ name, reads: [], writes: node, source: (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'literal', value: node.attrs.value as number }], out: node }, v) }];
    case 'unary':
      return [elementwise({ kind: 'unary', fn: (node.attrs as OpAttrs['unary']).fn }, [x])];
    case 'binary':
      return [elementwise({ kind: 'binary', fn: (node.attrs as OpAttrs['binary']).fn }, [x, y])];
    case 'scale':
      return [elementwise({ kind: 'scale', c: (node.attrs as OpAttrs['scale']).c }, [x])];
    case 'reduce': {
      const { fn, dim } = node.attrs as OpAttrs['reduce'];
      if (fn === 'mean') throw new Error('internal: mean should have been expanded');
      return [{ name, reads: [storageOf(x)], writes: node, source: (v) => reduceKernel({ fn, inShape: x.shape, dim, dtype }, v) }];
    }
    case 'matmul':
      return [{ name, reads: [storageOf(x), storageOf(y)], writes: node, source: (v) => matmulKernel({ aShape: x.shape, bShape: y.shape, dtype }, v) }];
    case 'transpose': {
      const { perm } = node.attrs as OpAttrs['transpose'];
      return [{ name, reads: [storageOf(x)], writes: node, source: (v) => transposeKernel({ inShape: x.shape, perm, dtype }, v) }];
    }
    case 'concat': {
      const { dim } = node.attrs as OpAttrs['concat'];
      const offsets = node.inputs.map((_, i) => node.inputs.slice(0, i).reduce((s, t) => s + t.shape[dim]!, 0));
      return node.inputs.map((part, i) => ({
        name: `${name} (operand ${i})`,
        reads: [storageOf(part)],
        writes: node,
        source: (v: Variant) => concatSliceKernel({ inShape: part.shape, outShape: node.shape, dim, offset: offsets[i]!, dtype }, v),
      }));
    }
    case 'rmsNorm':
    case 'softmax':
      throw new Error(`internal: composite ${node.op} should have been expanded`);
  }
}

function copyStep(t: Tensor, value: Value): Step {
  const out = { shape: t.shape, dtype: t.dtype };
  return {
    name: `copy ${t.describe()}`,
    reads: [storageOf(t)],
    writes: value,
    source: (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'tensor', ...out }], out }, v),
  };
}

interface BufferPlan {
  readonly buffers: CompiledBuffer[];
  readonly bufferOf: ReadonlyMap<Value, number>;
}

/**
 * Greedy allocation in dispatch order. A value is live from its first write to its last
 * read or write; a released buffer goes to a pool per dtype and is reused best-fit
 * (growing it if none is large enough). A step's output never shares a buffer with its
 * own operands, since those are still live at the step.
 */
function planBuffers(inputs: readonly Tensor[], steps: readonly Step[], pinned: ReadonlySet<Value>): BufferPlan {
  const lastUse = new Map<Value, number>();
  steps.forEach((step, s) => [...step.reads, step.writes].forEach((v) => lastUse.set(v, s)));
  const sizes: Array<{ elements: number; dtype: ElementType }> = [];
  const bufferOf = new Map<Value, number>();
  const fresh = (v: Value) => {
    bufferOf.set(v, sizes.length);
    sizes.push({ elements: elementsOf(v), dtype: v.dtype });
  };
  inputs.forEach(fresh);
  const live = new Set<Value>();
  const pool: number[] = [];
  steps.forEach((step, s) => {
    for (const v of live) {
      if (lastUse.get(v)! < s) {
        live.delete(v);
        pool.push(bufferOf.get(v)!);
      }
    }
    const v = step.writes;
    if (bufferOf.has(v)) return;
    if (pinned.has(v)) return fresh(v);
    live.add(v);
    const reused = bestFit(pool, sizes, v);
    if (reused === undefined) return fresh(v);
    pool.splice(pool.indexOf(reused), 1);
    bufferOf.set(v, reused);
    sizes[reused] = { elements: Math.max(sizes[reused]!.elements, elementsOf(v)), dtype: v.dtype };
  });
  return { buffers: sizes, bufferOf };
}

/** The smallest pooled buffer of the right dtype that fits, else the largest one (to grow). */
function bestFit(pool: readonly number[], sizes: ReadonlyArray<{ elements: number; dtype: ElementType }>, v: Value): number | undefined {
  const candidates = pool.filter((b) => sizes[b]!.dtype === v.dtype).sort((a, b) => sizes[a]!.elements - sizes[b]!.elements);
  return candidates.find((b) => sizes[b]!.elements >= elementsOf(v)) ?? candidates[candidates.length - 1];
}

function elementsOf(v: Value): number {
  return v.shape.reduce((p, d) => p * d, 1);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
