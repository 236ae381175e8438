/**
 * `sumLastDim` accumulators (without online-softmax rescaling) summed in registers: each
 * invocation keeps a running partial sum of its row's elements (lanes of a row take strided
 * elements) across all iterations, and the lanes of a row are combined once, after the
 * loop. Summing a row tile in every iteration instead costs a tree of workgroup barriers
 * per iteration and accumulator; on a SIMD-lane adapter (lavapipe) each barrier is a
 * switch of every invocation's context, which dominated the row statistics of RMSNorm.
 * Exact in real arithmetic: Σ_i Σ_j x_i[j] regrouped per lane.
 */
import type { AccumSpec } from '../../ugraph/block-ops.js';
import { registerRowSumCandidates } from '../../ugraph/memory.js';
import { SUBGROUP_BROADCAST_LANES } from '../../ugraph/thread-config.js';
import { u32 } from '../wgsl/common.js';
import { coordinates } from './access.js';
import { type EmitContext, floorPowerOfTwo } from './emit-ops.js';
import type { KernelPlan } from './plan.js';

interface RowSum {
  readonly id: number;
  readonly spec: AccumSpec;
  readonly rows: number;
  /** Elements per row (the summed tensor's last dim). */
  readonly length: number;
  /** Invocations per row, a power of two (1 when the kernel has no reduction scratch). */
  readonly lanes: number;
}

/** The accumulators summed in registers: unrescaled sumLastDim with at most one row per invocation. */
export function registerRowSums(plan: KernelPlan): RowSum[] {
  return registerRowSumCandidates(plan.block, plan.thread.invocations).map(({ id, spec, rows, length }) => {
    const lanes = plan.scratchBase === undefined ? 1 : Math.min(floorPowerOfTwo(plan.thread.invocations / rows), floorPowerOfTwo(length));
    return { id, spec, rows, length, lanes };
  });
}

const partial = (id: number) => `rowsum${id}`;

/** The coordinates of element r of row `row` of the tensor that row sum `sum` adds up. */
function elementCoords(plan: KernelPlan, sum: RowSum, row: string, r: string): string[] {
  const last = plan.block.tensors[sum.spec.inputs[0]!]!.shape.length - 1;
  return coordinates(plan.block.tensors[sum.id]!.shape, row).map((c, d) => (d === last ? r : c));
}

/**
 * Whether a group's lanes take four consecutive elements per step, partial sums in vec4
 * registers: where every summed value reads as vec4 (access.vectorValue) and the row splits
 * into whole vec4 steps per lane; a quarter of the loads, which lavapipe runs lane by lane.
 */
function vectorized(ctx: EmitContext, group: readonly RowSum[]): boolean {
  const { lanes, length } = group[0]!;
  return length % (4 * lanes) === 0 && group.every((sum) => {
    const x = sum.spec.inputs[0]!;
    return ctx.access.vectorValue(x, ctx.plan.block.tensors[x]!.shape, { coords: elementCoords(ctx.plan, sum, 'row', 'r') }) !== undefined;
  });
}

export function declareRowSums(ctx: EmitContext): void {
  for (const group of rowSumGroups(ctx.plan)) {
    const zero = vectorized(ctx, group) ? 'vec4<f32>()' : '0.0';
    for (const { id } of group) ctx.code.line(`var ${partial(id)} = ${zero};`);
  }
}

/**
 * Row sums that share their rows, lanes and row length: one loop updates them all (their
 * inputs often share subexpressions, which the shader compiler then loads and computes once)
 * and one tree flushes them all (a barrier per level for the group, not per sum).
 */
function rowSumGroups(plan: KernelPlan): RowSum[][] {
  const groups = new Map<string, RowSum[]>();
  for (const sum of registerRowSums(plan)) {
    const key = `${sum.rows}/${sum.lanes}/${sum.length}`;
    groups.set(key, [...(groups.get(key) ?? []), sum]);
  }
  return [...groups.values()];
}

/** Adds this iteration's elements of row `lid / lanes` (strided by lane) to each invocation's partial sums. */
export function emitRowSumUpdates(ctx: EmitContext): void {
  const { plan, access, code } = ctx;
  for (const group of rowSumGroups(plan)) {
    const { rows, lanes, length } = group[0]!;
    code.comment(`${group.map((sum) => `t${sum.id} = accum sumLastDim(t${sum.spec.inputs[0]})`).join(', ')}, in registers`);
    code.block('', () => {
      code.line(`let row = lid / ${u32(lanes)};`);
      const guard = rows * lanes === plan.thread.invocations ? undefined : `if (row < ${u32(rows)})`;
      const step = vectorized(ctx, group) ? 4 : 1;
      const start = step === 1 ? `lid % ${u32(lanes)}` : `(lid % ${u32(lanes)}) * 4u`;
      const body = () => code.block(`for (var r = ${start}; r < ${u32(length)}; r += ${u32(lanes * step)})`, () => {
        for (const sum of group) {
          const x = sum.spec.inputs[0]!;
          const xShape = plan.block.tensors[x]!.shape;
          const index = { coords: elementCoords(plan, sum, 'row', 'r') };
          code.line(`${partial(sum.id)} += ${step === 1 ? access.value(x, xShape, index) : access.vectorValue(x, xShape, index)!};`);
        }
      });
      if (guard === undefined) body();
      else code.block(guard, body);
    });
  }
}

/** After the loop: combines the lanes of each row (a tree in scratch memory, one per group) into the accumulators' slots. */
export function emitRowSumFlush(ctx: EmitContext): void {
  const { plan, access, code } = ctx;
  for (const group of rowSumGroups(plan)) {
    const { rows, lanes } = group[0]!;
    const total = (id: number) => (vectorized(ctx, group) ? `((${partial(id)}.x + ${partial(id)}.y) + (${partial(id)}.z + ${partial(id)}.w))` : partial(id));
    code.comment(`${group.map((sum) => `t${sum.id}`).join(', ')}: row sums in registers -> workgroup memory`);
    const write = (value: (k: number) => string) => code.block(`if (lid % ${u32(lanes)} == 0u && lid / ${u32(lanes)} < ${u32(rows)})`, () => {
      group.forEach((sum, k) => code.line(`${access.slot(sum.id, plan.block.tensors[sum.id]!.shape, { flat: `lid / ${u32(lanes)}` })} = ${value(k)};`));
    });
    if (lanes === 1) {
      write((k) => total(group[k]!.id));
      code.barrier();
      continue;
    }
    const at = (k: number, i: string) => ctx.workgroup.element(`${u32(plan.scratchBase! + k * plan.thread.invocations)} + ${i}`);
    if (plan.thread.subgroupRowSums) {
      flushBySubgroups(ctx, group, total, at, write);
      continue;
    }
    group.forEach((sum, k) => code.line(`${at(k, 'lid')} = ${total(sum.id)};`));
    code.barrier();
    for (let stride = lanes / 2; stride >= 1; stride /= 2) {
      code.block(`if (lid % ${u32(lanes)} < ${u32(stride)})`, () => {
        group.forEach((_, k) => code.line(`${at(k, 'lid')} += ${at(k, `lid + ${u32(stride)}`)};`));
      });
      code.barrier();
    }
    write((k) => at(k, 'lid'));
    // Before the epilogue reads the slots, or the next group reuses the scratch.
    code.barrier();
  }
}

/**
 * The thread config's subgroupRowSums: a subgroupShuffleXor butterfly leaves each cluster's
 * total (up to SUBGROUP_BROADCAST_LANES consecutive lanes, inside one subgroup since
 * subgroups fill in order) in all of its lanes, with no barrier; where a row spans several
 * clusters, their totals meet in scratch memory once and the row's first lane adds them in
 * order. Called in uniform control flow (after the loop), as subgroup operations require.
 */
function flushBySubgroups(
  ctx: EmitContext, group: readonly RowSum[], total: (id: number) => string,
  at: (k: number, i: string) => string, write: (value: (k: number) => string) => void,
): void {
  const { code } = ctx;
  const { lanes } = group[0]!;
  const cluster = Math.min(lanes, SUBGROUP_BROADCAST_LANES);
  ctx.subgroups.minSize = Math.max(ctx.subgroups.minSize, cluster);
  const lane = (id: number) => `lanesum${id}`;
  for (const { id } of group) code.line(`var ${lane(id)} = ${total(id)};`);
  for (let mask = cluster / 2; mask >= 1; mask /= 2) {
    for (const { id } of group) code.line(`${lane(id)} += subgroupShuffleXor(${lane(id)}, ${u32(mask)});`);
  }
  if (cluster < lanes) {
    code.block(`if (lid % ${u32(cluster)} == 0u)`, () => {
      group.forEach(({ id }, k) => code.line(`${at(k, `lid / ${u32(cluster)}`)} = ${lane(id)};`));
    });
    code.barrier();
    // The writing lane is its row's first (lid % lanes == 0): its clusters' totals start at lid / cluster.
    const clusters = Array.from({ length: lanes / cluster }, (_, j) => j);
    write((k) => clusters.map((j) => at(k, `lid / ${u32(cluster)} + ${u32(j)}`)).reduce((a, b) => `(${a} + ${b})`));
  } else {
    write((k) => lane(group[k]!.id));
  }
  // Before the epilogue reads the slots, or the next group reuses the scratch.
  code.barrier();
}
