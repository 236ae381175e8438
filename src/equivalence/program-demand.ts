/**
 * The program side of screening (screen.ts), evaluated only where sampled output elements
 * need it: each node on a product set of indices (one sorted list per dimension), found
 * from the outputs back by the rules demand.ts applies to pre-defined kernels: an
 * elementwise operator needs the same indices of its operands (0 along a broadcast
 * dimension), a matmul whole rows of A and whole columns of B, a reduction its whole
 * reduced dimension, a transpose the permuted indices; reshape and concat everything (they
 * are computed whole). A node is computed on its set as an operator on smaller tensors,
 * its operands cut (gathered) from theirs: every demanded element is computed by the same
 * operations from the same operand elements as in a whole evaluation, so it is the same
 * residue. Inputs are drawn only where demanded (the streams are counter-based).
 *
 * A zero denominator is found only where it is computed: a draw whose program divides by
 * zero only outside the sampled elements' dependencies is compared all the same, which
 * changes nothing about the sampled elements.
 */
import { numel, type Shape, stridesOf } from '../ir/shape.js';
import { type Demand, forEachDemandedRun, type IndexSet, unionDemand } from './demand.js';
import { LANE_P, LANE_Q } from './field.js';
import { deriveKey, fillRandom } from './keyed-hash.js';
import type { LaneAnalysis } from './lanes.js';
import { allocateTensor, type EvalContext, evaluateOpInto, type FieldTensor } from './op-eval.js';
import { type FieldProgram, type FieldProgramNode, withoutSoftmaxMaxima } from './program-eval.js';

/** Sorted indices per dimension: a product set of a tensor's elements. */
export type IndexLists = readonly (readonly number[])[];

/** An output computed on a product set: element (i_0, ..., i_r) at the positions of the i_d in `lists`. */
export interface SampledOutput {
  readonly lists: IndexLists;
  readonly tensor: FieldTensor;
}

/** The p-lane residue of `output` at a multi-index of its product set. */
export function sampledValue(output: SampledOutput, index: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < index.length; d++) flat = flat * output.lists[d]!.length + output.lists[d]!.indexOf(index[d]!);
  return output.tensor.p![flat]!;
}

/**
 * Every output of `program` on the product set `wanted[o]` (at least), from the inputs of
 * the draw `seed` (the streams drawInputs draws), in the lanes `analysis` needs.
 */
export function evaluateProgramAt(
  original: FieldProgram, originalAnalysis: LaneAnalysis, wanted: readonly Demand[], seed: number, ctx: EvalContext,
): SampledOutput[] {
  const { program, analysis } = withoutSoftmaxMaxima(original, originalAnalysis);
  const nodes = program.nodes;
  const demand: Demand[] = nodes.map(() => undefined);
  program.outputs.forEach((o, i) => { demand[o.node] = unionDemand(demand[o.node], wanted[i]); });
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (demand[i] === undefined || analysis.need[i] === 0) continue;
    if (node.spec.op === 'reshape' || node.spec.op === 'concat') demand[i] = node.shape.map(() => undefined);
    node.inputs.forEach((o, k) => { demand[o] = unionDemand(demand[o], operandDemand(node, demand[i]!, nodes[o]!.shape, k)); });
  }
  const lists = nodes.map((node, i) => (demand[i] === undefined ? undefined : listsOf(node.shape, demand[i]!)));
  const values: (FieldTensor | undefined)[] = new Array<FieldTensor | undefined>(nodes.length);
  nodes.forEach((node, i) => {
    const own = lists[i];
    if (own === undefined || analysis.need[i] === 0) return;
    const shape = own.map((l) => l.length);
    if (node.spec.op === 'input') {
      values[i] = drawAt(program.inputs[node.spec.index]!.shape, own, analysis.need[i]!, seed, node.spec.index);
      return;
    }
    const operands = node.inputs.map((o, k) => {
      const need = listsOf(nodes[o]!.shape, operandDemand(node, own.map((l) => new Set(l)), nodes[o]!.shape, k)!);
      return gather(values[o]!, lists[o]!, need);
    });
    const out = allocateTensor(shape, analysis.need[i]!);
    evaluateOpInto(node.spec, operands, out, ctx, `program node ${i} (${node.spec.op})`);
    values[i] = out;
  });
  return program.outputs.map((o) => ({ lists: lists[o.node]!, tensor: values[o.node]! }));
}

/** What operand k (of shape `own`) of `node` must provide for the node's elements `out` (demand.ts's rules). */
function operandDemand(node: FieldProgramNode, out: readonly IndexSet[], own: Shape, k: number): Demand {
  const spec = node.spec;
  const outShape = node.shape;
  switch (spec.op) {
    case 'matmul': {
      const batch = broadcastDemand(out.slice(0, -2), outShape.slice(0, -2), own.slice(0, -2));
      return k === 0 ? [...batch, out.at(-2), undefined] : [...batch, undefined, out.at(-1)];
    }
    case 'unary':
    case 'binary':
    case 'scale':
      return broadcastDemand(out, outShape, own);
    case 'reduce': {
      const dim = spec.dim < 0 ? spec.dim + own.length : spec.dim;
      return own.map((_, d) => (d === dim ? undefined : out[spec.keepdim || d < dim ? d : d - 1]));
    }
    case 'transpose': {
      const demand: IndexSet[] = new Array<IndexSet>(own.length);
      spec.perm.forEach((from, i) => { demand[from] = out[i]; });
      return demand;
    }
    default: // reshape, concat: everything
      return own.map(() => undefined);
  }
}

/** The demand on an operand of shape `own` broadcast to `outShape` (aligned from the right). */
function broadcastDemand(out: readonly IndexSet[], outShape: Shape, own: Shape): IndexSet[] {
  const lead = outShape.length - own.length;
  return own.map((size, d) => (size === 1 && outShape[lead + d] !== 1 ? new Set([0]) : out[lead + d]));
}

function listsOf(shape: Shape, demand: readonly IndexSet[]): number[][] {
  return shape.map((size, d) => (demand[d] === undefined ? Array.from({ length: size }, (_, i) => i) : [...demand[d]!].sort((a, b) => a - b)));
}

/** Input `index` of the draw `seed` on the product set `lists` (drawInputs' streams, element by element). */
function drawAt(shape: Shape, lists: IndexLists, lanes: number, seed: number, index: number): FieldTensor {
  const t = allocateTensor(lists.map((l) => l.length), lanes);
  const [pKey, qKey] = [deriveKey(seed, index, LANE_P), deriveKey(seed, index, LANE_Q)];
  let at = 0;
  forEachDemandedRun(shape, lists.map((l) => new Set(l)), (from, length) => {
    if (t.p) fillRandom(t.p.subarray(at, at + length), pKey, false, from);
    if (t.q) fillRandom(t.q.subarray(at, at + length), qKey, true, from);
    at += length;
  });
  return t;
}

/** The elements `to` (a product set within `from`) of a tensor computed on the product set `from`. */
function gather(t: FieldTensor, from: IndexLists, to: IndexLists): FieldTensor {
  if (to.every((l, d) => l.length === from[d]!.length)) return t;
  const shape = to.map((l) => l.length);
  const strides = stridesOf(from.map((l) => l.length));
  // Flat offsets in t of the wanted elements, dimension by dimension.
  let offsets = [0];
  to.forEach((l, d) => {
    const position = new Map(from[d]!.map((i, at) => [i, at]));
    const positions = l.map((i) => position.get(i)! * strides[d]!);
    offsets = offsets.flatMap((o) => positions.map((p) => o + p));
  });
  const pick = (x: Float64Array | undefined) => (x === undefined ? undefined : Float64Array.from(offsets, (o) => x[o]!));
  const out = { shape, p: pick(t.p), q: pick(t.q) };
  if (numel(shape) !== offsets.length) throw new Error('program demand: gathered a wrong number of elements');
  return out;
}
