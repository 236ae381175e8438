/**
 * Abstract values of every tensor of a μGraph, kernel level and block level, as Mirage
 * defines them: tiling shows only through reduction sizes.
 *   - Graph input i is v<i> (inputs by position, as the program's).
 *   - Pre-defined kernels: as in the program (abstract-ops.ts).
 *   - An input iterator's tile has the value of the tensor it reads (a tile of X is X).
 *   - matmul inside a block: sum[k](a·b) with k the tile's contracted size.
 *   - accum sum: sum[range](x); accum sumLastDim: sum[range·lastdim](x) (with range 1,
 *     plain x: a one-iteration loop only moves the value after the loop).
 *   - accum maxRescale: max(m), and max(max(x)) = max(x): the running max, a tile's max and
 *     a row's max are one stabilizer (sizeless, like every max).
 *   - a rescaled accumulator weighs iteration i by exp(m_i - M): when m and M are the same
 *     stabilizer the weight is exp(0) = 1 and disappears, which is exactly why online
 *     softmax computes softmax: Σ_i exp(s_i - m_i)·exp(m_i - M) = Σ exp(s - M). Otherwise
 *     the weight stays in the term as exp(m + (-1)·M).
 *   - savers concatenate workgroup tiles: the stored tensor has the tile's value (a
 *     piecewise tile repeats along the concatenated dimension).
 */
import type { BlockGraph } from '../ugraph/block-graph.js';
import type { AccumSpec, BlockOpSpec, BlockTensorInfo } from '../ugraph/block-ops.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { commonOpValue, concatOpValue, constantValue, reshapeOpValue, transposeOpValue } from './abstract-ops.js';
import { type AbstractValue, map1, map2, opaque, reduceSum, repeatValue, term } from './abstract-value.js';
import { constant, exp, type Expr, input, max, mul, sub, sum } from './expr.js';

export interface BlockAbstraction {
  /** Index of the custom kernel's node in the kernel graph. */
  readonly node: number;
  /** Every block tensor's value, by block tensor id. */
  readonly tensors: readonly AbstractValue[];
}

export interface UGraphAbstraction {
  /** Every storage tensor's value, by kernel tensor id. */
  readonly tensors: readonly AbstractValue[];
  /** Every custom kernel's block tensors. */
  readonly blocks: readonly BlockAbstraction[];
  /** The graph outputs' values, in output order. */
  readonly outputs: readonly AbstractValue[];
}

export function abstractKernelGraph(graph: KernelGraph): UGraphAbstraction {
  const tensors: AbstractValue[] = graph.inputs.map((_, i) => term(input(i)));
  const blocks: BlockAbstraction[] = [];
  graph.nodes.forEach((node, index) => {
    const inputs = node.inputs.map((id) => tensors[id]!);
    const shapes = node.inputs.map((id) => graph.tensors[id]!.shape);
    switch (node.op) {
      case 'custom': {
        const block = abstractBlockGraph(node.block, inputs);
        blocks.push({ node: index, tensors: block.tensors });
        tensors.push(...block.outputs);
        return;
      }
      case 'constant': tensors.push(constantValue(node.value)); return;
      case 'reshape': tensors.push(reshapeOpValue(inputs[0]!, shapes[0]!, node.shape)); return;
      case 'transpose': tensors.push(transposeOpValue(inputs[0]!, node.perm)); return;
      case 'concat': tensors.push(concatOpValue(inputs, shapes, node.dim)); return;
      default: tensors.push(commonOpValue(node, inputs, shapes));
    }
  });
  return { tensors, blocks, outputs: graph.outputs.map((o) => tensors[o.tensor]!) };
}

/** Values of a block graph's tensors and of what its savers store, given its inputs' values. */
export function abstractBlockGraph(block: BlockGraph, inputs: readonly AbstractValue[]): { tensors: AbstractValue[]; outputs: AbstractValue[] } {
  const tensors: AbstractValue[] = block.inputs.map((iterator, k) => tileValue(inputs[k]!, block.inputShapes[k]!.length, iterator.imap, iterator.fmap));
  for (const op of block.ops) tensors.push(blockOpValue(op, block.forloopRange, block.tensors, tensors));
  const outputs = block.outputs.map((saver) => {
    let value = tensors[saver.tensor]!;
    const rank = block.tensors[saver.tensor]!.shape.length;
    saver.omap.forEach((dim, axis) => {
      if (dim !== null) value = repeatValue(value, rank - 1 - dim, block.grid[axis]!);
    });
    return value;
  });
  return { tensors, outputs };
}

/** A tile has its tensor's value, unless the grid or the loop cuts across a concatenation. */
export function tileValue(v: AbstractValue, rank: number, imap: readonly (number | null)[], fmap: number | null): AbstractValue {
  if (v.kind !== 'pieces') return v;
  const dim = rank - 1 - v.axis;
  if (imap.includes(dim) || fmap === dim) return opaque('a tile cut across a concatenation differs between workgroups or iterations');
  return v;
}

const ONE = constant(1);

/**
 * The value of one block op, given the loop's range and the shapes (`infos`) and values of the
 * tensors before it: what abstractBlockGraph computes op by op, and what the generator
 * computes for each operator it tries.
 */
export function blockOpValue(
  op: BlockOpSpec, forloopRange: number, infos: readonly BlockTensorInfo[], tensors: readonly AbstractValue[],
): AbstractValue {
  const values = op.inputs.map((id) => tensors[id]!);
  const shapes = op.inputs.map((id) => infos[id]!.shape);
  switch (op.op) {
    case 'constant': return constantValue(op.value);
    case 'concat': return concatOpValue(values, shapes, op.dim);
    case 'accum': return accumValue(op, forloopRange, infos, tensors);
    default: return commonOpValue(op, values, shapes);
  }
}

function accumValue(op: AccumSpec, range: number, infos: readonly BlockTensorInfo[], tensors: readonly AbstractValue[]): AbstractValue {
  const x = tensors[op.inputs[0]!]!;
  if (op.kind === 'maxRescale') return map1(x, max);
  let weighted = x;
  if (op.rescaleBy !== undefined) {
    const maxOp = infos[op.rescaleBy]!.op as AccumSpec;
    const local = tensors[maxOp.inputs[0]!]!;
    const running = tensors[op.rescaleBy]!;
    // exp(m - M) = 1 when the local max m is the running max's stabilizer itself (see the header).
    const weight = map2(local, running, (m: Expr, big: Expr) => (m === big ? ONE : exp(sub(m, big))));
    weighted = map2(x, weight, (e, w) => (w === ONE ? e : mul(e, w)));
  }
  const looped = map1(weighted, (e) => sum(range, e));
  if (op.kind === 'sum') return looped;
  const shape = infos[op.inputs[0]!]!.shape;
  return reduceSum(looped, 0, shape[shape.length - 1]!, true);
}
