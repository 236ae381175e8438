/**
 * The μGraph side of a verification: a kernel graph evaluated in the field, with the
 * lanes lanes.ts found needed. Pre-defined kernels run on whole tensors (op-eval.ts),
 * custom kernels run their block graph literally (block-eval.ts); intermediates are
 * dropped after their last use. Its semantics are the μGraph interpreter's
 * (src/ugraph/interpreter.ts) in the field domain (field-domain.ts), only vectorized.
 */
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { runBlockInField, type WorkgroupFilter } from './block-eval.js';
import type { LaneAnalysis } from './lanes.js';
import { allocateTensor, type EvalContext, evaluateOpInto, type FieldOpSpec, type FieldTensor } from './op-eval.js';

/**
 * Every output of `graph` (in output order) from its inputs by position. With
 * `workgroups`, custom kernel `index` runs only the workgroups `workgroups.get(index)`
 * selects (screen.ts); without, everything runs.
 */
export function evaluateKernelGraphInField(
  graph: KernelGraph, analysis: LaneAnalysis, inputs: readonly FieldTensor[], ctx: EvalContext, workgroups?: ReadonlyMap<number, WorkgroupFilter>,
): FieldTensor[] {
  const values: (FieldTensor | undefined)[] = new Array<FieldTensor | undefined>(graph.tensors.length);
  inputs.forEach((t, i) => { values[i] = t; });
  const lastUse = graph.tensors.map(() => -1);
  graph.nodes.forEach((node, index) => { for (const id of node.inputs) lastUse[id] = index; });
  for (const o of graph.outputs) lastUse[o.tensor] = graph.nodes.length;
  graph.nodes.forEach((node, index) => {
    const ids = graph.nodeOutputs[index]!;
    if (ids.every((id) => analysis.need[id] === 0)) return;
    const operands = node.inputs.map((id) => values[id]!);
    const results = ids.map((id) => allocateTensor(graph.tensors[id]!.shape, analysis.need[id]!));
    const where = `kernel ${index} (${node.op})`;
    if (node.op === 'custom') runBlockInField(node.block, analysis.blockNeed.get(index)!, operands, results, ctx, where, workgroups?.get(index));
    else evaluateOpInto(node as FieldOpSpec, operands, results[0]!, ctx, where);
    ids.forEach((id, k) => { values[id] = results[k]; });
    for (const id of node.inputs) if (lastUse[id] === index && id >= graph.inputs.length) values[id] = undefined;
  });
  return graph.outputs.map((o) => values[o.tensor]!);
}
