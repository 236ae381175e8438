/**
 * Register-tiled matmuls inside custom kernels: each invocation owns register tiles of
 * rows x cols outputs (vec4 row vectors where the thread config allows) and runs the K
 * loop over its A and B operands. A is read from workgroup memory (or storage), the same
 * element by every invocation whose tile has that row; with the thread config's
 * subgroupBroadcast, A rows that every invocation reads are instead read once per subgroup,
 * each lane reading a different row (or K step), and handed to all lanes by
 * subgroupBroadcast. Measured on lavapipe, whose shared-memory reads in loops run one lane
 * at a time: gqa's split-KV kernel ~1.5x faster (74.7 -> 50.5 ms median at b = 1).
 * With kLanes, the lanes sharing a register tile split its K steps (emit-accum.ts sums
 * their partial tiles): rmsnorm b = 1 ~2.5x faster, its W reads spread over 8 rows at once.
 */
import { numel, type Shape } from '../../ir/shape.js';
import { SUBGROUP_BROADCAST_LANES } from '../../ugraph/thread-config.js';
import { u32 } from '../wgsl/common.js';
import { coordinates, type TensorAccess } from './access.js';
import type { EmitContext, TileScope } from './emit-ops.js';
import { type KernelPlan, largestDivisorAtMost, matmulColumnChunk, matmulVectorWidth, registerTile } from './plan.js';

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
 * A register-tiled matmul: register tile `t` (defined by `scope`) covers rows r0.. and
 * columns c0.. of one batch; the K loop (unrolled) keeps rows x cols f32 accumulators in
 * registers, as vec4<f32> row vectors when the thread config's vector width allows (B is
 * then read in vectors: one load per row vector). `use` emits what to do with the finished
 * tile. With `into`, the K loop accumulates straight into those (declared) registers.
 */
export function emitMatmulTiles(
  ctx: EmitContext, id: number, scope: TileScope, use: (tile: MatmulTile) => void, into?: (i: number, g: number) => string,
): void {
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
  const name = into ?? ((i: number, g: number) => `mm${i}_${g}`);
  const fmasPerStep = rows * (cols / width);
  const kLanes = kLanesOf(plan, id);
  // Subgroup broadcast needs uniform control flow and A rows that every invocation reads alike.
  const broadcastA = plan.thread.subgroupBroadcast === true && kLanes === 1 && scope.uniform && rows === m && numel(batchShape) === 1;
  scope.open(() => {
    const outputs = matmulTileOutputs(ctx, id);
    const batch = outputs[0]!.coords.slice(0, -2);
    const rowOf = (i: number) => outputs[i * cols]!.coords.at(-2)!;
    const colOf = (j: number) => outputs[j]!.coords.at(-1)!;
    const groups = cols / width;
    if (into === undefined) for (let i = 0; i < rows; i++) for (let g = 0; g < groups; g++) code.line(`var ${name(i, g)} = ${type}();`);
    for (const segment of kSegments(plan, a, b, k)) {
      const length = segment.end - segment.start;
      // Each part is indexed at its own shape (kk + offset along its K dim).
      const aShape: Shape = [...batchShape, m, segment.a.length];
      const bShape: Shape = [...batchShape, segment.b.length, n];
      const at = (offset: number, kk = 'kk') => (offset === 0 ? kk : `${kk} + ${u32(offset)}`);
      const aCoords = (i: number, kk?: string) => [...batch, rowOf(i), at(segment.a.offset, kk)];
      if (segment.start > 0 || segment.end < k) code.comment(`K ${segment.start}..${segment.end}: t${segment.a.id} · t${segment.b.id}`);
      const bCoords = (kk: string) => (g: number) => [...batch, at(segment.b.offset, kk), colOf(g * width)];
      const fma = (a: string, b: string, acc: string) => `fma(${width === 1 ? a : `${type}(${a})`}, ${b}, ${acc})`;
      const layout = broadcastA ? broadcastLayout(rows, length) : undefined;
      if (layout !== undefined) {
        const aLoad = (row: string, kk: string) => access.value(segment.a.id, aShape, { coords: [...batch, row, at(segment.a.offset, kk)] });
        emitBroadcastKLoop(ctx, { ...layout, length, rows, groups, width, name, fma, rowOf, aLoad, bLoads: (kk, suffix) => bOperandLoads(access, segment.b.id, bShape, bCoords(kk), groups, width, suffix) });
        continue;
      }
      // One K step at `kk` (in scope): A rows, B vectors, FMAs into the register tile.
      const step = (a: (i: number) => string) => {
        for (let i = 0; i < rows; i++) code.line(`let a${i} = ${a(i)};`);
        for (const line of bOperandLoads(access, segment.b.id, bShape, bCoords('kk'), groups, width)) code.line(line);
        for (let i = 0; i < rows; i++) {
          for (let g = 0; g < groups; g++) code.line(`${name(i, g)} = ${fma(`a${i}`, `b${g}`, name(i, g))};`);
        }
      };
      const aAt = (i: number) => access.value(segment.a.id, aShape, { coords: aCoords(i) });
      if (kLanes > 1) {
        // Lane l of each group of kLanes takes steps l, l + kLanes, ...: its B reads fall on kLanes rows at once.
        code.block(`for (var k0 = lid % ${u32(kLanes)}; k0 < ${u32(length)}; k0 += ${u32(kLanes)})`, () => {
          code.line('let kk = k0;');
          step(aAt);
        });
        continue;
      }
      const unroll = largestDivisorAtMost(length, Math.max(1, Math.floor(FMAS_PER_BODY / fmasPerStep)));
      // A rows read 4 K steps per load from workgroup memory when aligned and the body spans
      // them. Not forced: unrolling further spilled registers of wide tiles (gated_mlp ~1.2x
      // slower), and reading half a vec4 per 2 steps (picked by K's parity) was slower still.
      const vectorA = unroll % 4 === 0 && segment.a.offset % 4 === 0 && access.workgroupVector(segment.a.id, aShape, { coords: aCoords(0) }) !== undefined;
      code.block(`for (var k0 = 0u; k0 < ${u32(length)}; k0 += ${u32(unroll)})`, () => {
        for (let q = 0; vectorA && q < unroll / 4; q++) {
          for (let i = 0; i < rows; i++) code.line(`let av${i}_${q} = ${access.workgroupVector(segment.a.id, aShape, { coords: aCoords(i, q === 0 ? 'k0' : `k0 + ${u32(4 * q)}`) })};`);
        }
        for (let u = 0; u < unroll; u++) {
          code.block('', () => {
            code.line(`let kk = ${u === 0 ? 'k0' : `k0 + ${u32(u)}`};`);
            step((i) => (vectorA ? `av${i}_${Math.floor(u / 4)}.${'xyzw'[u % 4]}` : aAt(i)));
          });
        }
      });
    }
    const vectors = Array.from({ length: rows }, (_, i) => Array.from({ length: groups }, (_, g) => name(i, g)));
    use({ outputs: outputs.map((o) => ({ ...o, value: component(name(o.i, Math.floor(o.j / width)), width, o.j % width) })), width, vectors });
  });
}

/**
 * Invocations sharing each register tile of `matmul`: the thread config's kLanes for a
 * matmul accumulated in registers (their partial tiles are summed after the loop,
 * emit-accum.ts), else 1.
 */
export function kLanesOf(plan: KernelPlan, matmul: number): number {
  return [...plan.fusedMatmul.values()].includes(matmul) ? plan.thread.kLanes ?? 1 : 1;
}

/**
 * `let b<g> = ...` for the B vectors of one K step: where two vec4 groups are contiguous
 * columns of an f16 operand with a packed alias (matmulColumnChunk), one load of 8 halves
 * unpacked into both; else one vector (or scalar) read per group.
 */
function bOperandLoads(
  access: TensorAccess, id: number, shape: Shape, coords: (g: number) => string[], groups: number, width: number, suffix = '',
): string[] {
  const lines: string[] = [];
  for (let g = 0; g < groups; g++) {
    const [b, next, word] = [`b${g}${suffix}`, `b${g + 1}${suffix}`, `bw${g}${suffix}`];
    const packed = width === 4 && g % 2 === 0 && g + 1 < groups ? access.packedHalves(id, shape, coords(g)) : undefined;
    if (packed === undefined) {
      lines.push(`let ${b} = ${width === 1 ? access.value(id, shape, { coords: coords(g) }) : access.vector(id, shape, coords(g), width)};`);
      continue;
    }
    lines.push(`let ${word} = ${packed};`,
      `let ${b} = vec4<f32>(unpack2x16float(${word}.x), unpack2x16float(${word}.y));`,
      `let ${next} = vec4<f32>(unpack2x16float(${word}.z), unpack2x16float(${word}.w));`);
    g++;
  }
  return lines;
}

/**
 * K steps per iteration when broadcast A rows lie across lanes: every step's B vectors are
 * live at once, and past a few they spill. Kernel time on lavapipe, 2 steps against 4 (the
 * two builds' programs alternated in one process, f16 / f32): gated_mlp b1 0.58x / 0.58x,
 * b8 0.81x / 0.86x, lora b8 0.58x / 0.82x, gqa b1 1.02x / 0.77x, rmsnorm b8 0.93x / 1.10x;
 * 8 steps ran gated_mlp b1 f32 3.0x slower than 2, and 1 step 0.85-1.32x of 2.
 */
const ROW_BROADCAST_STEPS = 2;

/**
 * How the lanes of a subgroup share the reads of A: across rows, where the tile's rows come
 * in whole groups of SUBGROUP_BROADCAST_LANES, ROW_BROADCAST_STEPS K steps per iteration;
 * else across K, SUBGROUP_BROADCAST_LANES steps per iteration; undefined where the K range
 * does not divide into iterations.
 */
function broadcastLayout(rows: number, length: number): { acrossRows: boolean; steps: number } | undefined {
  if (rows % SUBGROUP_BROADCAST_LANES === 0 && length % ROW_BROADCAST_STEPS === 0) return { acrossRows: true, steps: ROW_BROADCAST_STEPS };
  return length % SUBGROUP_BROADCAST_LANES === 0 ? { acrossRows: false, steps: SUBGROUP_BROADCAST_LANES } : undefined;
}

interface BroadcastKLoop {
  readonly acrossRows: boolean;
  /** K steps per iteration. */
  readonly steps: number;
  readonly length: number;
  readonly rows: number;
  readonly groups: number;
  readonly width: number;
  readonly name: (i: number, g: number) => string;
  readonly fma: (a: string, b: string, acc: string) => string;
  /** The row coordinate of register-tile row i. */
  readonly rowOf: (i: number) => string;
  /** A at row `row` and K index `kk` (both expressions). */
  readonly aLoad: (row: string, kk: string) => string;
  /** `let b<g><suffix> = ...` for the B vectors at K index `kk`. */
  readonly bLoads: (kk: string, suffix: string) => string[];
}

/**
 * The K loop with A shared by subgroup broadcast: lane l of each subgroup reads one A
 * element per load, and every lane takes the values it needs from the lane that read them
 * (subgroupBroadcast); each accumulator takes an iteration's steps as one FMA chain (one
 * loop-carried write per accumulator and iteration, which lavapipe masks). Where the tile's
 * rows come in whole groups of SUBGROUP_BROADCAST_LANES, the lanes read rows
 * (A[group·8 + l, k] for each of ROW_BROADCAST_STEPS steps); else they read K steps
 * (A[row, k0 + l] for every row, 8 steps per iteration). Both read rows / 8 elements per
 * lane and step, but across rows the iteration is shorter (fewer B vectors live): against
 * K across lanes, kernel time 0.79-0.90x for gqa and qknorm, 0.68x for rmsnorm b8 (with 4
 * steps per iteration).
 */
function emitBroadcastKLoop(ctx: EmitContext, loop: BroadcastKLoop): void {
  const { code } = ctx;
  const lanes = SUBGROUP_BROADCAST_LANES;
  ctx.subgroups.minSize = Math.max(ctx.subgroups.minSize, lanes);
  ctx.subgroups.laneId = true;
  const lane = `(sgid % ${u32(lanes)})`;
  const { acrossRows, steps } = loop;
  const kAt = (u: number) => (u === 0 ? 'k0' : `k0 + ${u32(u)}`);
  // Row i at step u: which register holds it, and which lane read it.
  const source = acrossRows
    ? (i: number, u: number) => ({ register: `al${Math.floor(i / lanes)}_${u}`, lane: i % lanes })
    : (i: number, u: number) => ({ register: `al${i}`, lane: u });
  code.block(`for (var k0 = 0u; k0 < ${u32(loop.length)}; k0 += ${u32(steps)})`, () => {
    if (acrossRows) {
      for (let r = 0; r < loop.rows; r += lanes) {
        const row = `${loop.rowOf(r)} + ${lane}`;
        for (let u = 0; u < steps; u++) code.line(`let al${r / lanes}_${u} = ${loop.aLoad(row, kAt(u))};`);
      }
    } else {
      for (let i = 0; i < loop.rows; i++) code.line(`let al${i} = ${loop.aLoad(loop.rowOf(i), `k0 + ${lane}`)};`);
    }
    for (let u = 0; u < steps; u++) for (const line of loop.bLoads(kAt(u), `_${u}`)) code.line(line);
    for (let i = 0; i < loop.rows; i++) {
      for (let g = 0; g < loop.groups; g++) {
        let chain = loop.name(i, g);
        for (let u = 0; u < steps; u++) {
          const { register, lane: from } = source(i, u);
          chain = loop.fma(`subgroupBroadcast(${register}, ${u32(from)})`, `b${g}_${u}`, chain);
        }
        code.line(`${loop.name(i, g)} = ${chain};`);
      }
    }
  });
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
