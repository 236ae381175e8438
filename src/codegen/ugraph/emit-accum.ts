/**
 * WGSL for the for-loop accumulators, with exactly block-ops.ts's semantics:
 *   i = 0:  M = m_0;  A = x_0
 *   i > 0:  M' = max(M, m_i);  A = A · exp(M - M') + x_i · exp(m_i - M');  M = M'
 * `first` (it == 0) selects the first-iteration form, so nothing needs initializing and
 * an uninitialized value never leaks in (select drops it, even as NaN). Companions read
 * the old M and compute M' themselves; the running maxes are committed after a barrier,
 * once every companion is done. A `sum` fed by a matmul keeps its register tiles across
 * iterations (no workgroup traffic in the loop) and is flushed to its slot after the loop.
 */
import { numel, type Shape } from '../../ir/shape.js';
import type { AccumSpec } from '../../ugraph/block-ops.js';
import { u32 } from '../wgsl/common.js';
import { coordinates, type Index } from './access.js';
import { forEachElement } from './code.js';
import { component, emitMatmulTiles, kLanesOf, matmulTileCount, matmulTileOutputs } from './emit-matmul.js';
import { emitRowReduction, type EmitContext } from './emit-ops.js';
import { emitRowSumUpdates, registerRowSums } from './emit-row-sums.js';
import { matmulVectorWidth, registerTile } from './plan.js';

/** Register slots of a fused matmul: tile t = lid / kLanes + slot·(invocations / kLanes). */
function slots(ctx: EmitContext, matmul: number): number {
  return Math.ceil(matmulTileCount(ctx.plan, matmul) / (ctx.plan.thread.invocations / kLanesOf(ctx.plan, matmul)));
}

/** The register tile of a fused matmul and its vector width (register rows are vectors of that width). */
function tileOf(ctx: EmitContext, matmul: number): { rows: number; cols: number; width: number } {
  const [m, n] = ctx.plan.block.tensors[matmul]!.shape.slice(-2) as [number, number];
  const tile = registerTile(ctx.plan.thread, m, n);
  return { ...tile, width: matmulVectorWidth(ctx.plan.thread, tile.cols) };
}

/** Register vector g of row i of slot `slot`'s tile. */
const registerVector = (acc: number, slot: number, i: number, g: number) => `acc${acc}_${slot}_${i}_${g}`;

/** The scalar register holding output (i, j) of a fused matmul's tile. */
export function register(ctx: EmitContext, acc: number, matmul: number, slot: number, i: number, j: number): string {
  const { width } = tileOf(ctx, matmul);
  return component(registerVector(acc, slot, i, Math.floor(j / width)), width, j % width);
}

/** Declares the register accumulators of the fused matmuls (before the loop). */
export function declareRegisterAccumulators(ctx: EmitContext): void {
  for (const [acc, matmul] of ctx.plan.fusedMatmul) {
    const { rows, cols, width } = tileOf(ctx, matmul);
    const type = width === 1 ? 'f32' : `vec${width}<f32>`;
    for (let s = 0; s < slots(ctx, matmul); s++) {
      for (let i = 0; i < rows; i++) for (let g = 0; g < cols / width; g++) ctx.code.line(`var ${registerVector(acc, s, i, g)} = ${type}();`);
    }
  }
}

/**
 * Opens each register slot's scope (defining `t`) in turn. With `oneWriter`, where kLanes
 * invocations share each tile (holding the same sums after emitKLaneReduction), only the
 * first of them runs the body.
 */
export function forEachSlot(ctx: EmitContext, matmul: number, body: (slot: number, uniform: boolean) => void, oneWriter = false): void {
  const { code, plan } = ctx;
  const tiles = matmulTileCount(plan, matmul);
  const kLanes = kLanesOf(plan, matmul);
  const groups = plan.thread.invocations / kLanes;
  const group = kLanes === 1 ? 'lid' : `lid / ${u32(kLanes)}`;
  for (let s = 0; s < slots(ctx, matmul); s++) {
    const t = s === 0 ? group : `${group} + ${u32(s * groups)}`;
    const guards = [
      ...((s + 1) * groups <= tiles ? [] : [`t < ${u32(tiles)}`]),
      ...(oneWriter && kLanes > 1 ? [`lid % ${u32(kLanes)} == 0u`] : []),
    ];
    code.block('', () => {
      code.line(`let t = ${t};`);
      if (guards.length === 0) body(s, true);
      else code.block(`if (${guards.join(' && ')})`, () => body(s, false));
    });
  }
}

/**
 * After the loop, in uniform control flow: the kLanes invocations sharing a register tile
 * (thread.kLanes) each hold partial sums over their K steps; a butterfly of
 * subgroupShuffleXor leaves the total in every one of them.
 */
export function emitKLaneReduction(ctx: EmitContext): void {
  for (const [acc, matmul] of ctx.plan.fusedMatmul) {
    const kLanes = kLanesOf(ctx.plan, matmul);
    if (kLanes === 1) continue;
    ctx.subgroups.minSize = Math.max(ctx.subgroups.minSize, kLanes);
    const { rows, cols, width } = tileOf(ctx, matmul);
    ctx.code.comment(`t${acc}: sum the partial tiles of ${kLanes} lanes`);
    for (let s = 0; s < slots(ctx, matmul); s++) {
      for (let i = 0; i < rows; i++) {
        for (let g = 0; g < cols / width; g++) {
          const v = registerVector(acc, s, i, g);
          for (let mask = kLanes / 2; mask >= 1; mask /= 2) ctx.code.line(`${v} += subgroupShuffleXor(${v}, ${u32(mask)});`);
        }
      }
    }
  }
}

/** The weights of online softmax at an index of `shape`: exp(M - M') for the carried value and exp(m - M') for the new term. */
function rescale(ctx: EmitContext, spec: AccumSpec, shape: Shape, index: Index): { carry: string; term: string } | undefined {
  if (spec.rescaleBy === undefined) return undefined;
  const max = ctx.plan.block.tensors[spec.rescaleBy]!.op as AccumSpec;
  const runningMax = ctx.access.value(spec.rescaleBy, shape, index);
  const localMax = ctx.access.value(max.inputs[0]!, shape, index);
  const next = `select(max(${runningMax}, ${localMax}), ${localMax}, first)`;
  return { carry: `exp(${runningMax} - ${next})`, term: `exp(${localMax} - ${next})` };
}

/** `A = select(A · carry, 0, first) + term` as a statement (`zero` of A's type). */
function update(target: string, term: string, carry: string | undefined, zero = '0.0'): string {
  return `${target} = select(${carry === undefined ? target : `${target} * ${carry}`}, ${zero}, first) + ${term};`;
}

/** Folds this iteration into every accumulator except the running maxes (which commit later). */
export function emitAccumulatorUpdates(ctx: EmitContext): void {
  const { plan, access, code } = ctx;
  const first = plan.block.inputs.length;
  const rowSums = new Set(registerRowSums(plan).map((sum) => sum.id));
  emitRowSumUpdates(ctx);
  plan.block.ops.forEach((op, i) => {
    const id = first + i;
    // Inline accumulators (one-iteration sums) are read as their input.
    if (op.op !== 'accum' || op.kind === 'maxRescale' || rowSums.has(id) || plan.storage[id]!.kind === 'inline') return;
    const x = op.inputs[0]!;
    const shape = plan.block.tensors[id]!.shape;
    code.comment(`t${id} = accum ${op.kind}(t${x})${op.rescaleBy === undefined ? '' : ` rescaled by t${op.rescaleBy}`}`);
    const matmul = plan.fusedMatmul.get(id);
    if (matmul !== undefined) {
      forEachSlot(ctx, matmul, (s, uniform) => {
        const scope = { open: (body: () => void) => body(), uniform };
        const rescaleBy = op.rescaleBy;
        if (rescaleBy === undefined) {
          // A plain sum: the K loop adds into the accumulator's registers (no second register tile).
          emitMatmulTiles(ctx, matmul, scope, () => {}, (r, g) => registerVector(id, s, r, g));
          return;
        }
        emitMatmulTiles(ctx, matmul, scope, ({ outputs, vectors, width }) => {
          if (plan.block.tensors[rescaleBy]!.shape.at(-1) === 1) {
            // One max per row: the row's two weights once, applied to its register vectors.
            const cols = outputs.length / vectors.length;
            const zero = width === 1 ? '0.0' : `vec${width}<f32>()`;
            vectors.forEach((row, r) => {
              const weights = rescale(ctx, op, shape, { coords: outputs[r * cols]!.coords })!;
              code.line(`let carry${r} = ${weights.carry};`);
              code.line(`let term${r} = ${weights.term};`);
              row.forEach((value, g) => code.line(update(registerVector(id, s, r, g), `${value} * term${r}`, `carry${r}`, zero)));
            });
            return;
          }
          for (const { coords, value, i: r, j: c } of outputs) {
            const weights = rescale(ctx, op, shape, { coords })!;
            code.line(update(register(ctx, id, matmul, s, r, c), `${value} * ${weights.term}`, weights.carry));
          }
        });
      });
    } else if (op.kind === 'sum') {
      forEachElement(code, numel(shape), plan.thread.invocations, (e) => {
        const index = { flat: e };
        const weights = rescale(ctx, op, shape, index);
        const term = access.value(x, shape, index);
        code.line(update(access.slot(id, shape, index), weights ? `${term} * ${weights.term}` : term, weights?.carry));
      });
    } else {
      const xShape = plan.block.tensors[x]!.shape;
      const last = xShape.length - 1;
      const coordsOf = (row: string, r: string) => coordinates(shape, row).map((c, d) => (d === last ? r : c));
      // A weight per row (one running max per row) multiplies the row's sum once, not each term.
      const perRow = op.rescaleBy === undefined || plan.block.tensors[op.rescaleBy]!.shape.at(-1) === 1;
      emitRowReduction(ctx, {
        rows: numel(shape),
        length: xShape[last]!,
        fn: 'sum',
        element: (row, r) => {
          const coords = coordsOf(row, r);
          const weights = perRow ? undefined : rescale(ctx, op, xShape, { coords });
          const term = access.value(x, xShape, { coords });
          return weights ? `${term} * ${weights.term}` : term;
        },
        ...(perRow ? { vector: (row: string, r: string) => access.vectorValue(x, xShape, { coords: coordsOf(row, r) }) } : {}),
        finish: (row, result) => {
          const weights = rescale(ctx, op, shape, { flat: row });
          code.line(update(access.slot(id, shape, { flat: row }), weights && perRow ? `(${result}) * ${weights.term}` : result, weights?.carry));
        },
      });
    }
  });
}

/** Whether the block graph has running maxes to commit. */
export function hasRunningMax(ctx: EmitContext): boolean {
  return ctx.plan.block.ops.some((op) => op.op === 'accum' && op.kind === 'maxRescale');
}

/** M = max(M, m_i), or m_0 on the first iteration. */
export function emitRunningMaxCommits(ctx: EmitContext): void {
  const { plan, access, code } = ctx;
  const first = plan.block.inputs.length;
  plan.block.ops.forEach((op, i) => {
    const id = first + i;
    if (op.op !== 'accum' || op.kind !== 'maxRescale') return;
    const shape = plan.block.tensors[id]!.shape;
    code.comment(`t${id} = accum maxRescale(t${op.inputs[0]})`);
    forEachElement(code, numel(shape), plan.thread.invocations, (e) => {
      const slot = access.slot(id, shape, { flat: e });
      const local = access.value(op.inputs[0]!, shape, { flat: e });
      code.line(`${slot} = select(max(${slot}, ${local}), ${local}, first);`);
    });
  });
}

/** Writes the register accumulators to their workgroup slots (after the loop). */
export function emitRegisterFlush(ctx: EmitContext): void {
  for (const [acc, matmul] of ctx.plan.fusedMatmul) {
    if (ctx.plan.storage[acc]!.kind === 'registers') continue;
    const shape = ctx.plan.block.tensors[acc]!.shape;
    ctx.code.comment(`t${acc}: registers -> workgroup memory`);
    forEachSlot(ctx, matmul, (s) => {
      matmulTileOutputs(ctx, matmul).forEach(({ coords, i, j }) => ctx.code.line(`${ctx.access.slot(acc, shape, { coords })} = ${register(ctx, acc, matmul, s, i, j)};`));
    }, true);
  }
}
