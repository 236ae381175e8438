/**
 * `sumLastDim` accumulators (without online-softmax rescaling) summed in registers: each
 * invocation keeps a running partial sum of its row's elements (lanes of a row take strided
 * elements) across all iterations, and the lanes of a row are combined once, after the
 * loop. Summing a row tile in every iteration instead costs a tree of workgroup barriers
 * per iteration and accumulator; on a SIMD-lane adapter (lavapipe) each barrier is a
 * switch of every invocation's context, which dominated the row statistics of RMSNorm.
 * Exact in real arithmetic: Σ_i Σ_j x_i[j] regrouped per lane.
 */
import { numel } from '../../ir/shape.js';
import type { AccumSpec } from '../../ugraph/block-ops.js';
import { u32 } from '../wgsl/common.js';
import { coordinates } from './access.js';
import { type EmitContext, floorPowerOfTwo } from './emit-ops.js';
import type { KernelPlan } from './plan.js';

interface RowSum {
  readonly id: number;
  readonly spec: AccumSpec;
  readonly rows: number;
  /** Invocations per row, a power of two (1 when the kernel has no reduction scratch). */
  readonly lanes: number;
}

/** The accumulators summed in registers: unrescaled sumLastDim with at most one row per invocation. */
export function registerRowSums(plan: KernelPlan): RowSum[] {
  const first = plan.block.inputs.length;
  return plan.block.ops.flatMap((op, i) => {
    const id = first + i;
    if (op.op !== 'accum' || op.kind !== 'sumLastDim' || op.rescaleBy !== undefined) return [];
    const rows = numel(plan.block.tensors[id]!.shape);
    const length = plan.block.tensors[op.inputs[0]!]!.shape.at(-1)!;
    if (rows > plan.thread.invocations) return [];
    const lanes = plan.scratchBase === undefined ? 1 : Math.min(floorPowerOfTwo(plan.thread.invocations / rows), floorPowerOfTwo(length));
    return [{ id, spec: op, rows, lanes }];
  });
}

const partial = (id: number) => `rowsum${id}`;

export function declareRowSums(ctx: EmitContext): void {
  for (const { id } of registerRowSums(ctx.plan)) ctx.code.line(`var ${partial(id)} = 0.0;`);
}

/** Adds this iteration's elements of row `lid / lanes` (strided by lane) to the invocation's partial sum. */
export function emitRowSumUpdate(ctx: EmitContext, sum: RowSum): void {
  const { plan, access, code } = ctx;
  const x = sum.spec.inputs[0]!;
  const xShape = plan.block.tensors[x]!.shape;
  const last = xShape.length - 1;
  const rowShape = plan.block.tensors[sum.id]!.shape;
  code.comment(`t${sum.id} = accum sumLastDim(t${x}), in registers`);
  code.block('', () => {
    code.line(`let row = lid / ${u32(sum.lanes)};`);
    const guard = sum.rows * sum.lanes === plan.thread.invocations ? undefined : `if (row < ${u32(sum.rows)})`;
    const body = () => code.block(`for (var r = lid % ${u32(sum.lanes)}; r < ${u32(xShape[last]!)}; r += ${u32(sum.lanes)})`, () => {
      const coords = coordinates(rowShape, 'row').map((c, d) => (d === last ? 'r' : c));
      code.line(`${partial(sum.id)} += ${access.value(x, xShape, { coords })};`);
    });
    if (guard === undefined) body();
    else code.block(guard, body);
  });
}

/** After the loop: combines the lanes of each row (a tree in scratch memory) into the accumulator's slot. */
export function emitRowSumFlush(ctx: EmitContext): void {
  const { plan, access, code } = ctx;
  for (const sum of registerRowSums(plan)) {
    const shape = plan.block.tensors[sum.id]!.shape;
    code.comment(`t${sum.id}: row sums in registers -> workgroup memory`);
    const write = (value: string) => code.block(`if (lid % ${u32(sum.lanes)} == 0u && lid / ${u32(sum.lanes)} < ${u32(sum.rows)})`, () => {
      code.line(`${access.slot(sum.id, shape, { flat: `lid / ${u32(sum.lanes)}` })} = ${value};`);
    });
    if (sum.lanes === 1) {
      write(partial(sum.id));
      code.barrier();
      continue;
    }
    const at = (i: string) => `wg[${u32(plan.scratchBase!)} + ${i}]`;
    code.line(`${at('lid')} = ${partial(sum.id)};`);
    code.barrier();
    for (let stride = sum.lanes / 2; stride >= 1; stride /= 2) {
      code.block(`if (lid % ${u32(sum.lanes)} < ${u32(stride)})`, () => code.line(`${at('lid')} += ${at(`lid + ${u32(stride)}`)};`));
      code.barrier();
    }
    write(at('lid'));
    // Before the epilogue reads the slot, or the next row sum reuses the scratch.
    code.barrier();
  }
}
