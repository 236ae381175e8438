/**
 * μGraph -> CompiledProgram. Pre-defined kernels reuse the per-operator WGSL generators
 * (codegen/wgsl); each custom kernel becomes one compute shader (custom-kernel.ts). The
 * buffer plan and kernel deduplication are the per-operator lowering's (lower/assemble.ts),
 * with the same storage rules: reshape aliases its operand, a scalar constant read only
 * by binary kernels is folded in as a literal, and every output owns its buffer (an
 * output that is an input, or that shares storage with an earlier output, gets a copy).
 */
import type { ElementType, CompiledProgram, Variant } from '../../runtime/types.js';
import { assembleProgram, type Step } from '../../lower/assemble.js';
import type { KernelGraph } from '../../ugraph/kernel-graph.js';
import type { KernelNode } from '../../ugraph/kernel-ops.js';
import { elementwiseKernel, type ElementwiseFn, type ElementwiseOperand } from '../wgsl/elementwise.js';
import { concatSliceKernel, transposeKernel } from '../wgsl/layout.js';
import { matmulKernel } from '../wgsl/matmul.js';
import { reduceKernel } from '../wgsl/reduce.js';
import { customKernelSource, vectorAliases } from './custom-kernel.js';

/** The storage of one kernel-graph tensor (by id), or an output's private copy. */
interface Value {
  readonly shape: readonly number[];
  readonly dtype: ElementType;
  readonly tensor: number;
  readonly copy?: string;
}

export function compileKernelGraph(graph: KernelGraph, name: string): CompiledProgram {
  const values = graph.tensors.map((t, id): Value => ({ shape: t.shape, dtype: t.dtype, tensor: id }));
  const producer = (id: number) => {
    const node = graph.tensors[id]!.node;
    return node === undefined ? undefined : graph.nodes[node];
  };
  /** The value holding tensor `id`'s data: reshapes alias their operand. */
  const storageOf = (id: number): Value => {
    let current = id;
    for (let node = producer(current); node?.op === 'reshape'; node = producer(current)) current = node.inputs[0]!;
    return values[current]!;
  };
  const claimed = new Set<Value>();
  const outputValues = graph.outputs.map((o) => {
    const root = storageOf(o.tensor);
    const isInput = graph.tensors[root.tensor]!.node === undefined;
    const value: Value = isInput || claimed.has(root) ? { ...values[o.tensor]!, copy: o.name } : root;
    claimed.add(value);
    return value;
  });
  const literals = foldableConstants(graph, new Set(outputValues.map((v) => v.tensor)));
  const steps: Step<Value>[] = graph.nodes.flatMap((node, index) =>
    nodeSteps(graph, node, index, { values, storageOf, literals }));
  graph.outputs.forEach((o, i) => {
    const value = outputValues[i]!;
    if (value.copy !== undefined) steps.push(copyStep(`copy ${o.name}`, storageOf(o.tensor), value));
  });
  const variants: readonly Variant[] = graph.tensors.some((t) => t.dtype === 'f16') ? ['f16', 'f32'] : ['f32'];
  return assembleProgram({
    name,
    variants,
    inputs: graph.inputs.map((input, id) => ({ name: input.name, value: values[id]! })),
    outputs: graph.outputs.map((o, i) => ({ name: o.name, value: outputValues[i]! })),
    steps,
  });
}

/** Constant nodes read only by binary kernels (and not outputs) need no buffer: they become WGSL literals. */
export function foldableConstants(graph: KernelGraph, outputs: ReadonlySet<number>): ReadonlySet<number> {
  const needsBuffer = new Set<number>(outputs);
  graph.nodes.forEach((node) => {
    if (node.op !== 'binary') node.inputs.forEach((id) => needsBuffer.add(id));
  });
  const folded = new Set<number>();
  graph.nodes.forEach((node, index) => {
    const id = graph.nodeOutputs[index]![0]!;
    if (node.op === 'constant' && !needsBuffer.has(id)) folded.add(id);
  });
  return folded;
}

interface Context {
  readonly values: readonly Value[];
  readonly storageOf: (id: number) => Value;
  readonly literals: ReadonlySet<number>;
}

function nodeSteps(graph: KernelGraph, node: KernelNode, index: number, ctx: Context): Step<Value>[] {
  const outIds = graph.nodeOutputs[index]!;
  const out = ctx.values[outIds[0]!]!;
  const name = `${graph.describeNode(index)} #${index}`;
  const shapeOf = (id: number) => graph.tensors[id]!.shape;
  const step = (reads: readonly number[], source: Step<Value>['source']): Step<Value> =>
    ({ name, reads: reads.map(ctx.storageOf), writes: [out], source });
  const elementwise = (fn: ElementwiseFn): Step<Value> => {
    const operands = node.inputs.map((id): ElementwiseOperand => {
      const producer = graph.tensors[id]!.node;
      const constant = producer === undefined ? undefined : graph.nodes[producer];
      return ctx.literals.has(id) && constant?.op === 'constant'
        ? { kind: 'literal', value: constant.value }
        : { kind: 'tensor', shape: shapeOf(id), dtype: graph.tensors[id]!.dtype };
    });
    const reads = node.inputs.filter((id) => !ctx.literals.has(id));
    return step(reads, (v) => elementwiseKernel({ fn, operands, out }, v));
  };
  const [a, b] = node.inputs as [number, number];
  switch (node.op) {
    case 'reshape':
      return [];
    case 'constant':
      if (ctx.literals.has(outIds[0]!)) return [];
      return [step([], (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'literal', value: node.value }], out }, v))];
    case 'unary':
      return [elementwise({ kind: 'unary', fn: node.fn })];
    case 'binary':
      return [elementwise({ kind: 'binary', fn: node.fn })];
    case 'scale':
      return [elementwise({ kind: 'scale', c: node.c })];
    case 'reduce':
      return [step([a], (v) => reduceKernel({ fn: node.fn, inShape: shapeOf(a), dim: node.dim, dtype: out.dtype }, v))];
    case 'matmul':
      return [step([a, b], (v) => matmulKernel({ aShape: shapeOf(a), bShape: shapeOf(b), dtype: out.dtype }, v))];
    case 'transpose':
      return [step([a], (v) => transposeKernel({ inShape: shapeOf(a), perm: node.perm, dtype: out.dtype }, v))];
    case 'concat': {
      const offsets = node.inputs.map((_, i) => node.inputs.slice(0, i).reduce((s, id) => s + shapeOf(id)[node.dim]!, 0));
      return node.inputs.map((part, i) => ({
        name: `${name} (operand ${i})`,
        reads: [ctx.storageOf(part)],
        writes: [out],
        source: (v: Variant) => concatSliceKernel({ inShape: shapeOf(part), outShape: out.shape, dim: node.dim, offset: offsets[i]!, dtype: out.dtype }, v),
      }));
    }
    case 'custom': {
      const inputs = node.inputs.map((id) => ({ shape: shapeOf(id), dtype: graph.tensors[id]!.dtype }));
      const aliased = vectorAliases(node, inputs).map(({ input }) => node.inputs[input]!);
      return [{
        name: `custom #${index}`,
        reads: [...node.inputs, ...aliased].map(ctx.storageOf),
        writes: outIds.map((id) => ctx.values[id]!),
        source: (v: Variant) => customKernelSource(node, inputs, v),
      }];
    }
  }
}

function copyStep(name: string, from: Value, to: Value): Step<Value> {
  const out = { shape: to.shape, dtype: to.dtype };
  return {
    name,
    reads: [from],
    writes: [to],
    source: (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'tensor', ...out }], out }, v),
  };
}
