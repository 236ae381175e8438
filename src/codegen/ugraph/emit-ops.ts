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
import { coordinates, offset, opExpression, type TensorAccess } from './access.js';
import { Code, forEachElement, type WorkgroupArray } from './code.js';
import { type KernelPlan, largestDivisorAtMost, matmulColumnChunk, matmulVectorWidth, registerTile } from './plan.js';

export interface EmitContext {
  readonly plan: KernelPlan;
  readonly access: TensorAccess;
  readonly code: Code;
  readonly workgroup: WorkgroupArray;
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
        finish: (row, result) => code.line(`${access.slot(id, shape, { flat: row })} = ${result};`),
      });
      return;
    }
    case 'concat':
      emitConcatCopies(ctx, id, op);
      return;
    case 'matmul':
      emitMatmulTiles(ctx, id, (body) => code.block(`for (var t = lid; t < ${u32(matmulTileCount(plan, id))}; t += ${u32(plan.thread.invocations)})`, body), ({ outputs, vectors, width }) => {
        // Register row vectors of 4 are stored whole when the slot is vec4-aligned (then every one is).
        const cols = outputs.length / vectors.length;
        const vectorSlot = (i: number, g: number) => (width === 4 ? access.workgroupVector(id, shape, outputs[i * cols + g * width]!.coords) : undefined);
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
      code.line(`var acc = ${r.element(row, '0u')};`);
      code.block(`for (var r = 1u; r < ${u32(r.length)}; r++)`, () => code.line(`acc = ${combine('acc', r.element(row, 'r'))};`));
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

export function matmulTileCount(plan: KernelPlan, id: number): number {
  const shape = plan.block.tensors[id]!.shape;
  const [m, n] = shape.slice(-2) as [number, number];
  const { rows, cols } = registerTile(plan.thread, m, n);
  return numel(shape.slice(0, -2)) * (m / rows) * (n / cols);
}

/**
 * Emits `r0` and `c0`, the first row and column of register tile `t` (a u32 in scope),
 * and returns the coordinates of the tile's outputs (row-major within the tile). Rows are
 * contiguous; columns come in chunks (matmulColumnChunk: the vector width, or two vec4)
 * interleaved across the tiles of a row (chunk g of tile c starts at column
 * (c + g·tilesN)·chunk): neighbouring invocations read neighbouring chunks of B (coalesced
 * on a GPU), and each chunk is contiguous, so an f16 B is read 8 halves per load.
 */
export function matmulTileOutputs(ctx: EmitContext, id: number): { coords: string[]; i: number; j: number }[] {
  const { plan, code } = ctx;
  const shape = plan.block.tensors[id]!.shape;
  const batchShape = shape.slice(0, -2);
  const [m, n] = shape.slice(-2) as [number, number];
  const { rows, cols } = registerTile(plan.thread, m, n);
  const chunk = matmulColumnChunk(plan.thread, cols);
  const [tilesM, tilesN] = [m / rows, n / cols];
  const batch = numel(batchShape) === 1 ? batchShape.map(() => '0u') : coordinates(batchShape, `(t / ${u32(tilesM * tilesN)})`);
  code.line(`let r0 = ${tileStart(tilesM === 1 ? '' : tilesN === 1 ? 't' : `(t / ${u32(tilesN)})`, tilesM, numel(batchShape), rows)};`);
  code.line(`let c0 = ${tileStart(tilesN === 1 ? '' : 't', tilesN, tilesM * numel(batchShape), chunk)};`);
  const column = (j: number) => Math.floor(j / chunk) * tilesN * chunk + (j % chunk);
  const outputs: { coords: string[]; i: number; j: number }[] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) outputs.push({ coords: [...batch, plus('r0', i), plus('c0', column(j))], i, j });
  return outputs;
}

/** (index % count) * size, leaving out what is trivially 0 or 1 (`index` is '' when count is 1). */
function tileStart(index: string, count: number, outer: number, size: number): string {
  if (index === '') return '0u';
  const wrapped = outer === 1 ? index : `(${index} % ${u32(count)})`;
  return size === 1 ? wrapped : `${wrapped} * ${u32(size)}`;
}

function plus(base: string, i: number): string {
  return i === 0 ? base : `${base} + ${u32(i)}`;
}

/**
 * FMAs (scalar or vector) per unrolled matmul K-loop body: lavapipe runs unrolled FMA chains
 * ~2x faster than rolled ones, best at about 32 per body (4 chains x 8); 128 is slower again.
 */
const FMAS_PER_BODY = 32;

/** One finished register tile of a matmul: scalar outputs, and the same values as row vectors. */
export interface MatmulTile {
  readonly outputs: { coords: string[]; value: string; i: number; j: number }[];
  /** Vector width of the register tile's columns (1: scalar); `vectors[i][g]` covers columns g·width.. of row i. */
  readonly width: number;
  readonly vectors: string[][];
}

/**
 * A register-tiled matmul: register tile `t` (a u32 expression in scope inside `loop`)
 * covers rows r0.. and columns c0.. of one batch; the K loop (unrolled by K_UNROLL) keeps
 * rows x cols f32 accumulators in registers, as vec4<f32> row vectors when the thread
 * config's vector width allows (B is then read in vectors: one load per row vector).
 * `loop` opens the scope that defines `t`; `use` emits what to do with the finished tile.
 */
export function emitMatmulTiles(ctx: EmitContext, id: number, loop: (body: () => void) => void, use: (tile: MatmulTile) => void): void {
  const { plan, access, code } = ctx;
  const op = plan.block.tensors[id]!.op!;
  const [a, b] = op.inputs as [number, number];
  const shape = plan.block.tensors[id]!.shape;
  const batchShape = shape.slice(0, -2);
  const [m, n] = shape.slice(-2) as [number, number];
  const k = plan.block.tensors[a]!.shape.at(-1)!;
  const { rows, cols } = registerTile(plan.thread, m, n);
  const width = matmulVectorWidth(plan.thread, cols);
  const type = width === 1 ? 'f32' : `vec${width}<f32>`;
  const name = (i: number, g: number) => `mm${i}_${g}`;
  const fmasPerStep = rows * (cols / width);
  loop(() => {
    const outputs = matmulTileOutputs(ctx, id);
    const batch = outputs[0]!.coords.slice(0, -2);
    const rowOf = (i: number) => outputs[i * cols]!.coords.at(-2)!;
    const colOf = (j: number) => outputs[j]!.coords.at(-1)!;
    const groups = cols / width;
    for (let i = 0; i < rows; i++) for (let g = 0; g < groups; g++) code.line(`var ${name(i, g)} = ${type}();`);
    for (const segment of kSegments(plan, a, b, k)) {
      const length = segment.end - segment.start;
      // Each part is indexed at its own shape (kk + offset along its K dim).
      const aShape: Shape = [...batchShape, m, segment.a.length];
      const bShape: Shape = [...batchShape, segment.b.length, n];
      const at = (offset: number, kk = 'kk') => (offset === 0 ? kk : `${kk} + ${u32(offset)}`);
      const aCoords = (i: number, kk?: string) => [...batch, rowOf(i), at(segment.a.offset, kk)];
      const unroll = largestDivisorAtMost(length, Math.max(1, Math.floor(FMAS_PER_BODY / fmasPerStep)));
      // A rows read 4 K steps per load from workgroup memory when aligned and the body spans
      // them. Not forced: unrolling further spilled registers of wide tiles (gated_mlp ~1.2x
      // slower), and reading half a vec4 per 2 steps (picked by K's parity) was slower still.
      const vectorA = unroll % 4 === 0 && segment.a.offset % 4 === 0 && access.workgroupVector(segment.a.id, aShape, aCoords(0)) !== undefined;
      if (segment.start > 0 || segment.end < k) code.comment(`K ${segment.start}..${segment.end}: t${segment.a.id} · t${segment.b.id}`);
      code.block(`for (var k0 = 0u; k0 < ${u32(length)}; k0 += ${u32(unroll)})`, () => {
        for (let q = 0; vectorA && q < unroll / 4; q++) {
          for (let i = 0; i < rows; i++) code.line(`let av${i}_${q} = ${access.workgroupVector(segment.a.id, aShape, aCoords(i, q === 0 ? 'k0' : `k0 + ${u32(4 * q)}`))};`);
        }
        for (let u = 0; u < unroll; u++) {
          code.block('', () => {
            code.line(`let kk = ${u === 0 ? 'k0' : `k0 + ${u32(u)}`};`);
            for (let i = 0; i < rows; i++) {
              const a = vectorA ? `av${i}_${Math.floor(u / 4)}.${'xyzw'[u % 4]}` : access.value(segment.a.id, aShape, { coords: aCoords(i) });
              code.line(`let a${i} = ${a};`);
            }
            const bCoords = (g: number) => [...batch, at(segment.b.offset), colOf(g * width)];
            for (const line of bOperandLoads(access, segment.b.id, bShape, bCoords, groups, width)) code.line(line);
            for (let i = 0; i < rows; i++) {
              for (let g = 0; g < groups; g++) code.line(`${name(i, g)} = fma(${width === 1 ? `a${i}` : `${type}(a${i})`}, b${g}, ${name(i, g)});`);
            }
          });
        }
      });
    }
    const vectors = Array.from({ length: rows }, (_, i) => Array.from({ length: groups }, (_, g) => name(i, g)));
    use({ outputs: outputs.map((o) => ({ ...o, value: component(name(o.i, Math.floor(o.j / width)), width, o.j % width) })), width, vectors });
  });
}

/**
 * `let b<g> = ...` for the B vectors of one K step: where two vec4 groups are contiguous
 * columns of an f16 operand with a packed alias (matmulColumnChunk), one load of 8 halves
 * unpacked into both; else one vector (or scalar) read per group.
 */
function bOperandLoads(
  access: TensorAccess, id: number, shape: Shape, coords: (g: number) => string[], groups: number, width: number,
): string[] {
  const lines: string[] = [];
  for (let g = 0; g < groups; g++) {
    const packed = width === 4 && g % 2 === 0 && g + 1 < groups ? access.packedHalves(id, shape, coords(g)) : undefined;
    if (packed === undefined) {
      lines.push(`let b${g} = ${width === 1 ? access.value(id, shape, { coords: coords(g) }) : access.vector(id, shape, coords(g), width)};`);
      continue;
    }
    lines.push(`let bw${g} = ${packed};`,
      `let b${g} = vec4<f32>(unpack2x16float(bw${g}.x), unpack2x16float(bw${g}.y));`,
      `let b${g + 1} = vec4<f32>(unpack2x16float(bw${g}.z), unpack2x16float(bw${g}.w));`);
    g++;
  }
  return lines;
}

/** A stretch of a matmul's K range read from one part of each operand, from `offset` in that part. */
interface KSegment {
  readonly start: number;
  readonly end: number;
  /** The part read, where the segment starts in it, and the part's extent along K. */
  readonly a: { readonly id: number; readonly offset: number; readonly length: number };
  readonly b: { readonly id: number; readonly offset: number; readonly length: number };
}

/**
 * The K range of a matmul of `a` and `b` cut at every boundary between the parts of a
 * K-split concat operand (plan storage 'split'), so that each segment reads one tensor
 * per operand; one segment when neither operand is split.
 */
function kSegments(plan: KernelPlan, a: number, b: number, k: number): KSegment[] {
  const partsOf = (id: number, kDim: (rank: number) => number) => {
    const op = plan.block.tensors[id]!.op;
    if (plan.storage[id]!.kind !== 'split' || op?.op !== 'concat') return [{ id, start: 0, end: k }];
    let start = 0;
    return op.inputs.map((part) => {
      const shape = plan.block.tensors[part]!.shape;
      const end = start + shape[kDim(shape.length)]!;
      const range = { id: part, start, end };
      start = end;
      return range;
    });
  };
  const aParts = partsOf(a, (rank) => rank - 1);
  const bParts = partsOf(b, (rank) => rank - 2);
  const cuts = [...new Set([...aParts, ...bParts].map((p) => p.end))].sort((x, y) => x - y);
  let start = 0;
  return cuts.map((end) => {
    const aPart = aParts.find((p) => p.start <= start && start < p.end)!;
    const bPart = bParts.find((p) => p.start <= start && start < p.end)!;
    const read = (part: { id: number; start: number; end: number }) => ({ id: part.id, offset: start - part.start, length: part.end - part.start });
    const segment = { start, end, a: read(aPart), b: read(bPart) };
    start = end;
    return segment;
  });
}

/** Component `c` of a vector variable (the variable itself when width is 1). */
export function component(vector: string, width: number, c: number): string {
  return width === 1 ? vector : `${vector}.${'xyzw'[c]}`;
}
