/**
 * WGSL for the block operators that materialize a tile in workgroup memory: elementwise
 * results, reductions (one invocation per row, or several lanes per row with a tree in
 * scratch memory when rows are few and long), concat (copies of the operands not already
 * placed inside it) and register-tiled matmuls. Also the row reduction and matmul tile
 * skeletons that the accumulators reuse. Emitters write no trailing barrier: the kernel
 * assembler places barriers between dependent steps.
 */
import { numel, type Shape } from '../../ir/shape.js';
import type { BlockOpSpec } from '../../ugraph/block-ops.js';
import { u32 } from '../wgsl/common.js';
import { coordinates, offset, opExpression, type TensorAccess, VECTOR_UNARY } from './access.js';
import { Code, forEachElement, type WorkgroupArray } from './code.js';
import { emitMatmulTiles, matmulTileCount } from './emit-matmul.js';
import type { KernelPlan } from './plan.js';

export interface EmitContext {
  readonly plan: KernelPlan;
  readonly access: TensorAccess;
  readonly code: Code;
  readonly workgroup: WorkgroupArray;
  /**
   * Subgroup use of the emitted code: the smallest subgroup size it assumes (0 when it
   * calls no subgroup builtin; the kernel then enables none) and whether it reads `sgid`.
   */
  readonly subgroups: { minSize: number; laneId: boolean };
}

/**
 * The scope that hands out a matmul's register tiles: `open` emits it, defining `t`;
 * `uniform` when every invocation runs its body (no guard, no lid-bounded loop), as
 * subgroup builtins need.
 */
export interface TileScope {
  readonly open: (body: () => void) => void;
  readonly uniform: boolean;
}

/** Writes block tensor `id` (a non-accumulator op) into its workgroup slot. */
export function emitOp(ctx: EmitContext, id: number): void {
  const { plan, access, code } = ctx;
  const op = plan.block.tensors[id]!.op!;
  const shape = plan.block.tensors[id]!.shape;
  code.comment(`t${id} = ${op.op === 'unary' || op.op === 'binary' ? op.fn : op.op}`);
  switch (op.op) {
    case 'unary':
    case 'binary':
    case 'scale':
    case 'constant':
      if (emitVectorElementwise(ctx, id)) return;
      forEachElement(code, numel(shape), plan.thread.invocations, (e) => {
        const index = { flat: e };
        code.line(`${access.slot(id, shape, index)} = ${opExpression(op, (x) => access.value(x, shape, index), id)};`);
      });
      return;
    case 'reduce': {
      const x = op.inputs[0]!;
      const xShape = plan.block.tensors[x]!.shape;
      const kept = xShape.map((s, d) => (d === op.dim ? 1 : s));
      emitRowReduction(ctx, {
        rows: numel(shape),
        length: xShape[op.dim]!,
        fn: op.fn,
        element: (row, r) => access.value(x, xShape, { coords: withCoord(coordinates(kept, row), op.dim, r) }),
        ...(op.dim === xShape.length - 1 ? { vector: (row, r) => access.vectorValue(x, xShape, { coords: withCoord(coordinates(kept, row), op.dim, r) }) } : {}),
        finish: (row, result) => code.line(`${access.slot(id, shape, { flat: row })} = ${result};`),
      });
      return;
    }
    case 'concat':
      emitConcatCopies(ctx, id, op);
      return;
    case 'matmul':
      emitMatmulTiles(ctx, id, tileScope(ctx, matmulTileCount(plan, id)), ({ outputs, vectors, width }) => {
        // Register row vectors of 4 are stored whole when the slot is vec4-aligned (then every one is).
        const cols = outputs.length / vectors.length;
        const vectorSlot = (i: number, g: number) => (width === 4 ? access.workgroupVector(id, shape, { coords: outputs[i * cols + g * width]!.coords }) : undefined);
        if (vectorSlot(0, 0) !== undefined) {
          vectors.forEach((row, i) => row.forEach((vector, g) => code.line(`${vectorSlot(i, g)!} = ${vector};`)));
          return;
        }
        for (const { coords, value } of outputs) code.line(`${access.slot(id, shape, { coords })} = ${value};`);
      });
      return;
    case 'accum':
      throw new Error(`internal: accumulator t${id} is emitted by emit-accum.ts`);
  }
}

/**
 * An elementwise op four elements at a time, when the workgroup array holds vectors anyway,
 * its slot takes vec4 stores and every operand reads as vec4 (access.vectorValue): a
 * quarter of the per-element work, whose loads and stores lavapipe runs lane by lane.
 * False (nothing emitted) otherwise.
 */
function emitVectorElementwise(ctx: EmitContext, id: number): boolean {
  const { plan, access, code } = ctx;
  const shape = plan.block.tensors[id]!.shape;
  const op = plan.block.tensors[id]!.op!;
  if (op.op === 'constant' || (op.op === 'unary' && !VECTOR_UNARY.has(op.fn)) || shape.length === 0 || shape.at(-1)! % 4 !== 0) return false;
  // Element 4e of the row-major iteration (flat offsets simplify where the slot is contiguous).
  const at = (e: string) => ({ flat: `${e} * 4u` });
  const probe = at('e');
  const operands = op.inputs.map((x) => access.vectorValue(x, shape, probe));
  if (access.workgroupVector(id, shape, probe, true) === undefined || operands.some((x) => x === undefined)) return false;
  forEachElement(code, numel(shape) / 4, plan.thread.invocations, (e) => {
    const index = at(e);
    const value = opExpression(op, (x) => access.vectorValue(x, shape, index)!, id);
    code.line(`${access.workgroupVector(id, shape, index, true)!} = ${value};`);
  });
  return true;
}

/** Tile t = lid when there is one tile per invocation, else a loop striding over the tiles. */
function tileScope({ code, plan }: EmitContext, tiles: number): TileScope {
  const { invocations } = plan.thread;
  if (tiles === invocations) {
    return {
      open: (body) => code.block('', () => {
        code.line('let t = lid;');
        body();
      }),
      uniform: true,
    };
  }
  return { open: (body) => code.block(`for (var t = lid; t < ${u32(tiles)}; t += ${u32(invocations)})`, body), uniform: false };
}

function withCoord(coords: readonly string[], dim: number, value: string): string[] {
  return coords.map((c, d) => (d === dim ? value : c));
}

/** Copies the concat operands that do not already live inside the concat's slot. */
function emitConcatCopies(ctx: EmitContext, id: number, op: Extract<BlockOpSpec, { op: 'concat' }>): void {
  const { plan, access, code } = ctx;
  const storage = plan.storage[id]!;
  if (storage.kind !== 'workgroup') throw new Error(`internal: concat t${id} must have a workgroup slot`);
  let start = 0;
  for (const part of op.inputs) {
    const partShape = plan.block.tensors[part]!.shape;
    if (!plan.placedInConcat.has(part)) {
      const base = storage.base + start * storage.strides[op.dim]!;
      forEachElement(code, numel(partShape), plan.thread.invocations, (e) => {
        code.line(`${ctx.workgroup.element(offset(base, partShape, storage.strides, { flat: e }))} = ${access.value(part, partShape, { flat: e })};`);
      });
    }
    start += partShape[op.dim]!;
  }
}

export interface RowReduction {
  readonly rows: number;
  readonly length: number;
  readonly fn: 'sum' | 'max';
  /** The f32 value of element `r` of row `row` (both u32 expressions). */
  readonly element: (row: string, r: string) => string;
  /** The vec4<f32> of elements r..r + 3 of row `row` (r a multiple of 4), where they read as one vector. */
  readonly vector?: (row: string, r: string) => string | undefined;
  /** Emits what to do with a row's result (an f32 expression). */
  readonly finish: (row: string, result: string) => void;
}

/**
 * Reduces `rows` rows of `length` elements. With few rows and scratch memory, P lanes
 * (a power of two) share each row: strided partial results, then a tree over the lanes
 * with a barrier per level; otherwise one invocation per row.
 */
export function emitRowReduction(ctx: EmitContext, r: RowReduction): void {
  const { plan, code } = ctx;
  const invocations = plan.thread.invocations;
  const combine = (a: string, b: string) => (r.fn === 'sum' ? `${a} + ${b}` : `max(${a}, ${b})`);
  const lanes = Math.min(floorPowerOfTwo(Math.floor(invocations / r.rows)), floorPowerOfTwo(r.length));
  const scratch = plan.scratchBase;
  if (scratch === undefined || lanes < 2) {
    forEachElement(code, r.rows, invocations, (row) => {
      // Four elements per step where they read as vectors: a quarter of the loads lavapipe runs lane by lane.
      const vector = r.length % 4 === 0 ? r.vector?.(row, '0u') : undefined;
      if (vector !== undefined) {
        code.line(`var acc4 = ${vector};`);
        code.block(`for (var r = 4u; r < ${u32(r.length)}; r += 4u)`, () => code.line(`acc4 = ${combine('acc4', r.vector!(row, 'r')!)};`));
        code.line(`let acc = ${combine(combine('acc4.x', 'acc4.y'), combine('acc4.z', 'acc4.w'))};`);
      } else {
        code.line(`var acc = ${r.element(row, '0u')};`);
        code.block(`for (var r = 1u; r < ${u32(r.length)}; r++)`, () => code.line(`acc = ${combine('acc', r.element(row, 'r'))};`));
      }
      r.finish(row, 'acc');
    });
    return;
  }
  const at = (i: string) => ctx.workgroup.element(`${u32(scratch)} + ${i}`);
  const rowGuard = r.rows * lanes === invocations ? '' : ` && lid / ${u32(lanes)} < ${u32(r.rows)}`;
  code.block('', () => {
    code.line(`let row = lid / ${u32(lanes)};`);
    code.line(`let lane = lid % ${u32(lanes)};`);
    code.line('var acc = 0.0;');
    code.block(`if (row < ${u32(r.rows)})`, () => {
      code.line(`acc = ${r.element('row', 'lane')};`);
      code.block(`for (var r = lane + ${u32(lanes)}; r < ${u32(r.length)}; r += ${u32(lanes)})`, () => code.line(`acc = ${combine('acc', r.element('row', 'r'))};`));
    });
    code.line(`${at('lid')} = acc;`);
  });
  code.barrier();
  for (let stride = lanes / 2; stride >= 1; stride /= 2) {
    code.block(`if (lid % ${u32(lanes)} < ${u32(stride)}${rowGuard})`, () => code.line(`${at('lid')} = ${combine(at('lid'), at(`lid + ${u32(stride)}`))};`));
    code.barrier();
  }
  code.block(`if (lid % ${u32(lanes)} == 0u${rowGuard})`, () => {
    code.line(`let row = lid / ${u32(lanes)};`);
    r.finish('row', at('lid'));
  });
}

export function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

