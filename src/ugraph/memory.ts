/**
 * The workgroup-memory rule: how many bytes of var<workgroup> storage a block graph
 * needs. The search rejects candidates over the target's limit with it, and codegen's
 * allocation must never exceed it, so it is a simple, sound upper bound:
 *
 *   bytes = 4 · ( Σ accumulators + max( Σ loop-body tensors, Σ epilogue tensors ) )
 *
 * - every element counts 4 bytes: tiles are held at f32, the accumulation precision,
 *   also in the f16 variant (an f16 layout may use less; the rule does not assume it);
 *   each tensor's slot is rounded up to whole vec4s (codegen aligns slots for vector reads);
 * - accumulators live across the whole loop, so they always count;
 * - loop-body tensors (input tiles and body results) are dead once the loop ends, so the
 *   epilogue reuses their space: the two regions overlap, the larger one counts;
 * - within a region every tensor counts, with no lifetime sharing or register
 *   residency assumed (codegen may do better, never worse);
 * - constants are rank-0 immediates and count nothing.
 *
 * Given the kernel's thread config, the rule counts what codegen actually places in
 * workgroup memory (residency.ts, which codegen's plan uses too): tensors kept inline,
 * in registers or streamed from storage count nothing, and a block with row reductions
 * counts scratch in each region: one f32 per invocation, times the number of sums over the
 * last dim that codegen may keep in registers and flush together (emit-row-sums.ts).
 * Without it, every tensor counts.
 */
import { numel } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';
import type { AccumSpec } from './block-ops.js';
import { blockResidency } from './residency.js';
import type { ThreadConfig } from './thread-config.js';

export const WORKGROUP_BYTES_PER_ELEMENT = 4;

export interface WorkgroupMemory {
  /** Bytes of for-loop accumulators. */
  readonly accumulators: number;
  /** Bytes of input tiles and loop-body results. */
  readonly loopBody: number;
  /** Bytes of epilogue results (accumulators excluded). */
  readonly epilogue: number;
  /** accumulators + max(loopBody, epilogue). */
  readonly total: number;
}

export function workgroupMemory(block: BlockGraph, thread?: ThreadConfig): WorkgroupMemory {
  const residency = thread && blockResidency(block, thread).residency;
  const scratch = thread ? reductionScratch(block, thread.invocations) * WORKGROUP_BYTES_PER_ELEMENT : 0;
  let accumulators = 0;
  let loopBody = scratch;
  let epilogue = scratch;
  for (const [id, tensor] of block.tensors.entries()) {
    if (residency && residency[id] !== 'workgroup') continue;
    const bytes = slotElements(tensor.shape) * WORKGROUP_BYTES_PER_ELEMENT;
    if (tensor.phase === 'pre') loopBody += bytes;
    else if (tensor.op?.op === 'accum') accumulators += bytes;
    else if (tensor.phase === 'post') epilogue += bytes;
  }
  return Object.freeze({ accumulators, loopBody, epilogue, total: accumulators + Math.max(loopBody, epilogue) });
}

const roundUpToVector = (elements: number) => Math.ceil(elements / 4) * 4;

/** f32s of a tensor's slot: its elements, rounded up to whole vec4s. */
export function slotElements(shape: readonly number[]): number {
  return roundUpToVector(numel(shape));
}

/**
 * f32s of scratch for reductions along a row (reduce ops, sum-over-last-dim accumulators):
 * one per invocation, for each register row sum flushed together (at least one).
 */
export function reductionScratch(block: BlockGraph, invocations: number): number {
  const rowReduction = block.ops.some((op) => op.op === 'reduce' || (op.op === 'accum' && op.kind === 'sumLastDim'));
  return rowReduction ? roundUpToVector(invocations * Math.max(1, registerRowSumCandidates(block, invocations).length)) : 0;
}

/** Unrescaled sum-over-last-dim accumulators with at most one row per invocation: codegen may sum them in registers. */
export function registerRowSumCandidates(block: BlockGraph, invocations: number): { id: number; spec: AccumSpec; rows: number; length: number }[] {
  const first = block.inputs.length;
  return block.ops.flatMap((op, i) => {
    const id = first + i;
    if (op.op !== 'accum' || op.kind !== 'sumLastDim' || op.rescaleBy !== undefined) return [];
    const rows = numel(block.tensors[id]!.shape);
    return rows > invocations ? [] : [{ id, spec: op, rows, length: block.tensors[op.inputs[0]!]!.shape.at(-1)! }];
  });
}
