/**
 * The workgroup-memory rule: how many bytes of var<workgroup> storage a block graph
 * needs. The search rejects candidates over the target's limit with it, and codegen's
 * allocation must never exceed it, so it is a simple, sound upper bound:
 *
 *   bytes = 4 · ( Σ accumulators + max( Σ loop-body tensors, Σ epilogue tensors ) )
 *
 * - every element counts 4 bytes: tiles are held at f32, the accumulation precision,
 *   also in the f16 variant (an f16 layout may use less; the rule does not assume it);
 * - accumulators live across the whole loop, so they always count;
 * - loop-body tensors (input tiles and body results) are dead once the loop ends, so the
 *   epilogue reuses their space: the two regions overlap, the larger one counts;
 * - within a region every tensor counts, with no lifetime sharing or register
 *   residency assumed (codegen may do better, never worse);
 * - constants are rank-0 immediates and count nothing.
 */
import { numel } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';

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

export function workgroupMemory(block: BlockGraph): WorkgroupMemory {
  let accumulators = 0;
  let loopBody = 0;
  let epilogue = 0;
  for (const tensor of block.tensors) {
    const bytes = numel(tensor.shape) * WORKGROUP_BYTES_PER_ELEMENT;
    if (tensor.phase === 'pre') loopBody += bytes;
    else if (tensor.op?.op === 'accum') accumulators += bytes;
    else if (tensor.phase === 'post') epilogue += bytes;
  }
  return Object.freeze({ accumulators, loopBody, epilogue, total: accumulators + Math.max(loopBody, epilogue) });
}
