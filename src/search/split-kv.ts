/**
 * Split reductions (split-KV, as FlashDecoding): a split kernel's grid also divides a reduced
 * label R into parts (kernel-plans.ts, splitPlan), each workgroup reducing one part (its own
 * running max and rescaled sums, for attention); its results are saved side by side along
 * the last dim, a dim labelled splitLabel(R). The combine kernel that must follow reads those
 * parts and loops over them, one part per iteration, merging them with the same accumulators
 * (a running max over the parts' maxes, sums rescaled by exp(m_i - max)); its block graph is
 * searched like any other (generator.ts).
 */
import type { AbstractValue } from './abstract-value.js';
import type { KernelPlan, StorageTensor } from './block-search.js';
import { splitLabel } from './labels.js';

/**
 * Operators a combine kernel may use beyond one accumulator per part: its epilogue (the
 * division of softmax, say). Its budget is its own, not the deepening round's: the split
 * kernel before it was charged, and the merge is small.
 */
export const COMBINE_EPILOGUE_OPS = 2;

export function combineBudget(parts: number): number {
  return parts + COMBINE_EPILOGUE_OPS;
}

/** The storage tensor a split kernel's saver writes: its tile's value, parts side by side along the last dim. */
export function savedParts(id: number, shape: readonly number[], labels: readonly number[], value: AbstractValue, plan: KernelPlan): StorageTensor {
  const reduced = plan.gridLabels[plan.splitAxis!]!;
  const dim = labels.length - 1;
  return {
    id, shape, dtype: 'f32', value,
    labels: labels.map((l, d) => (d === dim ? splitLabel(reduced) : l)),
    split: { dim, inner: labels[dim]!, parts: plan.grid[plan.splitAxis!]! },
  };
}
