/**
 * Kernel plans: how a custom kernel divides its work, derived from dimension labels
 * (labels.ts) rather than enumerated map by map. A plan picks up to three labels for the
 * grid axes and at most one for the for-loop; every input iterator then splits the dims
 * carrying those labels (imap, fmap), and a saver concatenates workgroups along the dim
 * of its tile that carries the axis's label (omap). Enumerating imaps per input instead
 * would multiply the candidates by (rank + 1)^(axes · inputs) while adding only
 * inconsistent tilings that the verifier rejects.
 *
 * Sizes: the generator searches structures at one instance of sizes per plan (the tile
 * rules below); sizing.ts later re-tiles the chosen structures and picks sizes by the
 * cost estimate. Grid axes split only labels of the program's outputs (a workgroup's
 * results are concatenated, never reduced: splitting a contracted label needs a second,
 * combining kernel, which the generator does not build yet).
 */
import { type Grid } from '../ugraph/grid.js';
import type { KernelPlan, StorageTensor } from './block-search.js';
import { isSplitLabel, UNIT } from './labels.js';

/** Largest tile along a grid-split label in the search instance. */
export const SEARCH_GRID_TILE = 32;
/** Largest tile a loop iteration walks in the search instance. */
export const SEARCH_LOOP_TILE = 32;

export interface PlanContext {
  /** Full size of each label. */
  readonly sizes: readonly number[];
  /** Labels of the program's outputs: the grid splits only these. */
  readonly parallel: ReadonlySet<number>;
  /** Labels reduced in the program: the loop walks these first. */
  readonly reduced: ReadonlySet<number>;
  /** Labels of the outputs' leading (batch) dims: a grid axis over one takes one entry per workgroup. */
  readonly batch: ReadonlySet<number>;
}

/** Plans for a kernel reading `inputs`, most promising first. */
export function kernelPlans(inputs: readonly StorageTensor[], ctx: PlanContext): KernelPlan[] {
  const present = [...new Set(inputs.flatMap((t) => t.labels.filter((l) => l !== UNIT)))].sort((a, b) => a - b);
  const gridable = present.filter((l) => ctx.parallel.has(l) && ctx.sizes[l]! > 1);
  const plans: { plan: KernelPlan; rank: number }[] = [];
  for (const gridLabels of subsets(gridable, 3)) {
    const loops: (number | null)[] = [null, ...present.filter((l) => !gridLabels.includes(l))];
    for (const loopLabel of loops) {
      const plan = makePlan(inputs, gridLabels, loopLabel, ctx, SEARCH_GRID_TILE, SEARCH_LOOP_TILE);
      if (!plan) continue;
      // Reduced loops first (the matmul's K), then wider grids, then no loop.
      const rank = (loopLabel === null ? 2 : ctx.reduced.has(loopLabel) || isSplitLabel(loopLabel) ? 0 : 1) * 10 - gridLabels.length;
      plans.push({ plan, rank });
    }
  }
  // Split plans (split-KV): the grid also divides a reduced label the loop walks, each
  // workgroup reducing one part; a combine kernel merges the parts (generator.ts).
  for (const reduced of present.filter((l) => ctx.reduced.has(l) && !ctx.parallel.has(l))) {
    const parts = splitParts(ctx.sizes[reduced]!, SEARCH_LOOP_TILE);
    if (parts === undefined) continue;
    for (const gridLabels of subsets(gridable, 2)) {
      const plan = splitPlan(inputs, gridLabels, reduced, parts, ctx);
      if (plan) plans.push({ plan, rank: 30 - gridLabels.length });
    }
  }
  return plans.sort((a, b) => a.rank - b.rank).map((p) => p.plan);
}

/**
 * Parts a split plan divides a reduced label of this size into, in the search instance:
 * about eight loop tiles per part, at least two parts, and at least two iterations per
 * part (otherwise the loop, and with it the online rescaling, has nothing to do).
 */
export function splitParts(size: number, loopTile: number): number | undefined {
  let parts = 2;
  while (size % (parts * 2) === 0 && size / (parts * 2) >= loopTile * 8) parts *= 2;
  return size % parts === 0 && size / parts >= 2 * loopTile && (size / parts) % loopTile === 0 ? parts : undefined;
}

/** A split plan: grid over `gridLabels` and `parts` parts of `reduced`, the loop walking each part. */
function splitPlan(inputs: readonly StorageTensor[], gridLabels: readonly number[], reduced: number, parts: number, ctx: PlanContext): KernelPlan | undefined {
  const gridSizes = gridLabels.map((l) => ctx.sizes[l]! / (ctx.batch.has(l) ? 1 : largestDivisorAtMost(ctx.sizes[l]!, SEARCH_GRID_TILE)));
  if (gridSizes.some((g) => g === 1)) return undefined;
  const forloopRange = ctx.sizes[reduced]! / parts / SEARCH_LOOP_TILE;
  const plan = planWith(inputs, [...gridLabels, reduced], [...gridSizes, parts], reduced, forloopRange);
  return plan && Object.freeze({ ...plan, splitAxis: gridLabels.length });
}

/** The plan for given labels and tile limits; undefined when a label would not really be split. */
export function makePlan(
  inputs: readonly StorageTensor[], gridLabels: readonly number[], loopLabel: number | null, ctx: PlanContext, gridTile: number, loopTile: number,
): KernelPlan | undefined {
  const gridSizes = gridLabels.map((l) => ctx.sizes[l]! / (ctx.batch.has(l) ? 1 : largestDivisorAtMost(ctx.sizes[l]!, gridTile)));
  if (gridSizes.some((g) => g === 1)) return undefined;
  // A loop over a split dim walks its parts, one per iteration (a combine kernel).
  const forloopRange = loopLabel === null ? 1
    : isSplitLabel(loopLabel) ? (inputs.find((t) => t.split && t.labels[t.split.dim] === loopLabel)?.split?.parts ?? 1)
    : ctx.sizes[loopLabel]! / largestDivisorAtMost(ctx.sizes[loopLabel]!, loopTile);
  if (loopLabel !== null && forloopRange === 1) return undefined;
  // The grid never splits the inner label of a split dim: its parts sit side by side there.
  if (inputs.some((t) => t.split && gridLabels.includes(t.split.inner))) return undefined;
  return planWith(inputs, gridLabels, gridSizes, loopLabel, forloopRange);
}

/** A plan with explicit grid sizes and loop range. */
export function planWith(
  inputs: readonly StorageTensor[], gridLabels: readonly number[], gridSizes: readonly number[], loopLabel: number | null, forloopRange: number,
): KernelPlan | undefined {
  const grid = [1, 1, 1];
  gridSizes.forEach((g, axis) => { grid[axis] = g; });
  const iterators = inputs.map((t) => {
    const imap = [0, 1, 2].map((axis) => {
      const label = gridLabels[axis];
      if (label === undefined || grid[axis] === 1) return null;
      const dim = t.labels.indexOf(label);
      return dim < 0 ? null : dim;
    });
    const fmap = loopLabel === null || forloopRange === 1 ? null : t.labels.indexOf(loopLabel);
    return { imap, fmap: fmap === null || fmap < 0 ? null : fmap };
  });
  // Every dim split must divide; a loop over a label no input carries is no loop.
  if (inputs.some((t, k) => iterators[k]!.imap.some((d, axis) => d !== null && t.shape[d]! % grid[axis]! !== 0))) return undefined;
  if (forloopRange > 1 && iterators.every((it) => it.fmap === null)) return undefined;
  return Object.freeze({
    inputs,
    grid: Object.freeze(grid) as unknown as Grid,
    gridLabels: Object.freeze([0, 1, 2].map((axis) => (grid[axis]! > 1 ? gridLabels[axis]! : null))),
    loopLabel: forloopRange > 1 ? loopLabel : null,
    splitAxis: null,
    forloopRange,
    iterators: Object.freeze(iterators),
  });
}

/**
 * The plan's grid and loop with every tile `factor` times smaller where it divides (batch
 * axes already take one entry): the same block graph on smaller tiles, which fits a
 * target's workgroup memory when the search instance does not. undefined when no tile
 * shrinks.
 */
export function shrunkTiles(plan: KernelPlan, ctx: PlanContext, factor: number): { grid: Grid; forloopRange: number } | undefined {
  let changed = false;
  const grid = plan.grid.map((g, axis) => {
    const label = plan.gridLabels[axis];
    // The split axis stays: its parts are the combine kernel's loop.
    if (label === null || label === undefined || ctx.batch.has(label) || axis === plan.splitAxis) return g;
    const tile = ctx.sizes[label]! / g;
    if (tile % factor !== 0 || tile === factor) return g;
    changed = true;
    return g * factor;
  });
  let forloopRange = plan.forloopRange;
  if (plan.loopLabel !== null && !isSplitLabel(plan.loopLabel)) {
    const parts = plan.splitAxis === null ? 1 : plan.grid[plan.splitAxis]!;
    const tile = ctx.sizes[plan.loopLabel]! / parts / forloopRange;
    if (tile % factor === 0 && tile > factor) { forloopRange *= factor; changed = true; }
  }
  return changed ? { grid: Object.freeze(grid) as unknown as Grid, forloopRange } : undefined;
}

export function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d >= 1; d--) if (n % d === 0) return d;
  return 1;
}

/** Subsets of `items` of size `max` down to 0, larger first, each in item order. */
function subsets<T>(items: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  const walk = (start: number, chosen: T[]) => {
    out.push([...chosen]);
    if (chosen.length === max) return;
    for (let i = start; i < items.length; i++) walk(i + 1, [...chosen, items[i]!]);
  };
  walk(0, []);
  return out.sort((a, b) => b.length - a.length);
}
