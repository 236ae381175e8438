/**
 * The μGraph interpreter: runs a kernel graph in any number domain. Pre-defined kernels
 * run as plain loops over whole tensors; custom kernels run their block graph literally,
 * workgroup by workgroup and iteration by iteration (block-interpreter.ts), so a wrong
 * imap, fmap, omap, phase or accumulator shows up as a wrong result. `evaluateKernelGraph`
 * is the float64 entry point, comparable with the reference interpreter.
 */
import { formatShape, numel } from '../ir/shape.js';
import { runBlockGraph } from './block-interpreter.js';
import { type NumberDomain, float64Domain } from './domain.js';
import { evaluateCommonOp } from './eval-common.js';
import type { KernelGraph } from './kernel-graph.js';
import type { KernelNode } from './kernel-ops.js';
import { concat, transpose, type TensorValue } from './tensor-math.js';

/** Evaluates every output of `graph` in domain `d`. Inputs are row-major, keyed by input name. */
export function runKernelGraph<T>(graph: KernelGraph, d: NumberDomain<T>, inputs: Readonly<Record<string, ArrayLike<T>>>): Record<string, T[]> {
  const values: TensorValue<T>[] = graph.inputs.map((spec) => ({ shape: spec.shape, data: Array.from(inputData(graph, spec.name, inputs)) }));
  graph.nodes.forEach((node, index) => {
    const operands = node.inputs.map((id) => values[id]!);
    const ids = graph.nodeOutputs[index]!;
    const results = evaluateNode(d, node, operands, ids.map((id) => graph.tensors[id]!.shape));
    results.forEach((value, k) => { values[ids[k]!] = value; });
  });
  const outputs: Record<string, T[]> = {};
  for (const { name, tensor } of graph.outputs) outputs[name] = values[tensor]!.data.slice();
  return outputs;
}

/** `runKernelGraph` in float64, returning Float64Arrays like `evaluateReference`. */
export function evaluateKernelGraph(graph: KernelGraph, inputs: Readonly<Record<string, ArrayLike<number>>>): Record<string, Float64Array> {
  const outputs = runKernelGraph(graph, float64Domain, inputs);
  return Object.fromEntries(Object.entries(outputs).map(([name, data]) => [name, Float64Array.from(data)]));
}

function inputData<T>(graph: KernelGraph, name: string, inputs: Readonly<Record<string, ArrayLike<T>>>): ArrayLike<T> {
  const spec = graph.inputs.find((x) => x.name === name)!;
  const data = inputs[name];
  if (data === undefined) throw new Error(`μGraph interpreter: missing input "${name}" (shape ${formatShape(spec.shape)})`);
  if (data.length !== numel(spec.shape)) {
    throw new Error(`μGraph interpreter: input "${name}" has ${data.length} elements; shape ${formatShape(spec.shape)} needs ${numel(spec.shape)}`);
  }
  return data;
}

function evaluateNode<T>(d: NumberDomain<T>, node: KernelNode, operands: readonly TensorValue<T>[], shapes: readonly (readonly number[])[]): TensorValue<T>[] {
  const shape = shapes[0]!;
  switch (node.op) {
    case 'custom': return runBlockGraph(d, node.block, operands);
    case 'constant': return [{ shape, data: [d.fromConstant(node.value)] }];
    case 'reshape': return [{ shape, data: operands[0]!.data.slice() }];
    case 'transpose': return [transpose(operands[0]!, node.perm, shape)];
    case 'concat': return [concat(operands, node.dim, shape)];
    default: return [evaluateCommonOp(d, node, operands, shape)];
  }
}
