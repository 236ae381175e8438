/**
 * Stitching (docs/search.md §6.5): the μGraphs of a program's parts as one kernel graph.
 * Each part's μGraph reads its subprogram's inputs by position and writes its outputs by
 * position; stitching maps those onto the whole graph's storage tensors (program inputs,
 * and the tensors earlier parts wrote) and appends the part's kernels in part order, so a
 * part's kernels are contiguous and its storage tensors are named by one map. The reverse,
 * `sliceGraph`, takes back the kernels between given storage tensors as a graph of their
 * own: what verifyParts checks part by part.
 */
import type { Program } from '../frontend/program.js';
import type { Tensor } from '../frontend/tensor.js';
import { KernelGraph, type KernelNodeJSON } from '../ugraph/kernel-graph.js';
import type { Subprogram } from './subprogram.js';

export interface StitchedGraph {
  readonly graph: KernelGraph;
  /** The whole graph's tensor id of every storage tensor (program inputs, part inputs and outputs), by tensor of the expanded program. */
  readonly storage: ReadonlyMap<Tensor, number>;
}

/** `parts` (in an order where every part's inputs are written before it) as one kernel graph computing `expanded`. */
export function stitchParts(expanded: Program, parts: readonly { readonly sub: Subprogram; readonly ugraph: KernelGraph }[]): StitchedGraph {
  const storage = new Map<Tensor, number>();
  expanded.inputs.forEach((t, i) => storage.set(t, i));
  const nodes: KernelNodeJSON[] = [];
  let next = expanded.inputs.length;
  for (const { sub, ugraph } of parts) {
    // Part tensor id -> whole tensor id: inputs first, then every kernel's outputs in order (kernel-graph.ts).
    const whole: number[] = sub.inputs.map((t) => {
      const id = storage.get(t);
      if (id === undefined) throw new Error(`stitch: ${sub.program.name} reads a tensor no earlier part writes`);
      return id;
    });
    ugraph.toJSON().nodes.forEach((node, k) => {
      nodes.push({ ...node, inputs: node.inputs.map((id) => whole[id]!) } as KernelNodeJSON);
      for (const id of ugraph.nodeOutputs[k]!) whole[id] = next++;
    });
    ugraph.outputs.forEach((o, j) => storage.set(sub.outputs[j]!, whole[o.tensor]!));
  }
  const graph = new KernelGraph({
    inputs: expanded.inputSpecs,
    nodes,
    outputs: expanded.outputs.map((o) => ({ name: o.name, tensor: storage.get(o.tensor)! })),
  });
  return { graph, storage };
}

/**
 * The kernels of `graph` that compute `outputs` from `inputs` (tensor ids), as a graph
 * whose inputs and outputs are those tensors, in the order given; throws when they need
 * a tensor outside `inputs` that no kernel computes.
 */
export function sliceGraph(graph: KernelGraph, inputs: readonly number[], outputs: readonly number[]): KernelGraph {
  const given = new Set(inputs);
  const needed = new Set<number>();
  const stack = outputs.filter((id) => !given.has(id)).map((id) => producerOf(graph, id));
  while (stack.length > 0) {
    const index = stack.pop()!;
    if (needed.has(index)) continue;
    needed.add(index);
    for (const id of graph.nodes[index]!.inputs) if (!given.has(id)) stack.push(producerOf(graph, id));
  }
  const local = new Map<number, number>(inputs.map((id, i) => [id, i]));
  const json = graph.toJSON().nodes;
  const nodes: KernelNodeJSON[] = [];
  let next = inputs.length;
  for (const index of [...needed].sort((a, b) => a - b)) {
    nodes.push({ ...json[index]!, inputs: json[index]!.inputs.map((id) => local.get(id)!) } as KernelNodeJSON);
    for (const id of graph.nodeOutputs[index]!) local.set(id, next++);
  }
  return new KernelGraph({
    inputs: inputs.map((id, i) => ({ name: `s${i}`, shape: graph.tensors[id]!.shape, dtype: graph.tensors[id]!.dtype })),
    nodes,
    outputs: outputs.map((id, j) => ({ name: `y${j}`, tensor: local.get(id)! })),
  });
}

function producerOf(graph: KernelGraph, id: number): number {
  const node = graph.tensors[id]?.node;
  if (node === undefined) throw new Error(`sliceGraph: tensor ${id} is a graph input outside the slice's inputs`);
  return node;
}
