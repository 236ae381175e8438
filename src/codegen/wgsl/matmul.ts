/**
 * Batched matmul C[b] = A[b] · B[b] (batch dims broadcast; a broadcast operand's batch
 * offset is a strided index with stride 0). Two schedules, both accumulating in f32:
 * - tiled: 64x64 output tile per workgroup of 16x16 invocations, each owning a 4x4 register
 *   tile (rows ty+16i, cols tx+16j: conflict-free workgroup reads, coalesced stores); K is
 *   walked in steps of 16 through two 4 KiB workgroup tiles;
 * - skinny (M <= 8, GEMV-like): 64 invocations own 4 columns each (256 per workgroup, column
 *   lid + 64j, so each load of a B row is contiguous across invocations: coalesced on a GPU,
 *   one vector load on a SIMD CPU adapter) for all M rows, with A staged in 64-wide K chunks.
 * Bounds checks are emitted only where M, N or K is not a multiple of the tile.
 */
import { numel } from '../../ir/shape.js';
import type { ElementType, Variant } from '../../runtime/types.js';
import {
  type Binding, broadcastStrides, ceilDiv, flatWorkgroup, grid, kernelHeader, type KernelSource, load, store,
  stridedIndex, u32,
} from './common.js';

export interface MatmulSpec {
  readonly aShape: readonly number[];
  readonly bShape: readonly number[];
  readonly dtype: ElementType;
}

/** Largest M handled by the skinny schedule. */
export const SKINNY_MAX_M = 8;

interface Problem {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batches: number;
  /** Statements defining aOff, bOff, cOff from `batch`. */
  readonly offsets: string;
  readonly bindings: readonly [Binding, Binding, Binding];
}

/** Bindings: A, B, C. */
export function matmulKernel(spec: MatmulSpec, variant: Variant): KernelSource {
  const [m, k] = spec.aShape.slice(-2) as [number, number];
  const n = spec.bShape[spec.bShape.length - 1]!;
  const aBatch = spec.aShape.slice(0, -2);
  const bBatch = spec.bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batch = Array.from({ length: rank }, (_, d) =>
    Math.max(aBatch[d - rank + aBatch.length] ?? 1, bBatch[d - rank + bBatch.length] ?? 1));
  const offsets = [
    `let aOff = ${stridedIndex(batch, broadcastStrides(batch, aBatch, m * k), 'batch')};`,
    `let bOff = ${stridedIndex(batch, broadcastStrides(batch, bBatch, k * n), 'batch')};`,
    `let cOff = batch * ${u32(m * n)};`,
  ].map((s) => `  ${s}`).join('\n');
  const bindings = [
    { name: 'a', dtype: spec.dtype, access: 'read' },
    { name: 'b', dtype: spec.dtype, access: 'read' },
    { name: 'c', dtype: spec.dtype, access: 'read_write' },
  ] as const;
  const problem: Problem = { m, n, k, batches: numel(batch), offsets, bindings };
  return m <= SKINNY_MAX_M ? skinny(problem, variant) : tiled(problem, variant);
}

const TILE = 64;
const TK = 16;
const SIDE = 16;
const REG = TILE / SIDE;

function tiled(p: Problem, variant: Variant): KernelSource {
  const [a, b, c] = p.bindings;
  const tilesM = ceilDiv(p.m, TILE);
  const tilesN = ceilDiv(p.n, TILE);
  const total = tilesM * tilesN * p.batches;
  const g = grid(total);
  const regs = [...Array(REG).keys()];
  const guard = (cond: string[], body: string) => (cond.length === 0 ? body : `if (${cond.join(' && ')}) { ${body} }`);
  // Each invocation stages TILE*TK/256 = 4 elements of each tile per K step.
  const staging = regs.map((j) => {
    const aCond = [...(p.m % TILE ? ['m0 + ar < M'] : []), ...(p.k % TK ? ['k0 + ak < K'] : [])];
    const bCond = [...(p.k % TK ? ['k0 + bk < K'] : []), ...(p.n % TILE ? ['n0 + bc < N'] : [])];
    return `    {
      let e = lid + ${u32(256 * j)};
      let ar = e / ${u32(TK)}; let ak = e % ${u32(TK)};
      var av = 0.0;
      ${guard(aCond, `av = ${load(variant, a, 'aOff + (m0 + ar) * K + k0 + ak')};`)}
      tileA[ak * ${u32(TILE)} + ar] = av;
      let bk = e / ${u32(TILE)}; let bc = e % ${u32(TILE)};
      var bv = 0.0;
      ${guard(bCond, `bv = ${load(variant, b, 'bOff + (k0 + bk) * N + n0 + bc')};`)}
      tileB[bk * ${u32(TILE)} + bc] = bv;
    }`;
  });
  const pairs = regs.flatMap((i) => regs.map((j) => [i, j] as const));
  const stores = pairs.map(([i, j]) => {
    const cond = [...(p.m % TILE ? [`row${i} < M`] : []), ...(p.n % TILE ? [`col${j} < N`] : [])];
    return `  ${guard(cond, store(variant, c, `cOff + row${i} * N + col${j}`, `acc${i}${j}`))}`;
  });
  const wgsl = `${kernelHeader(variant, p.bindings)}

const M = ${u32(p.m)};
const N = ${u32(p.n)};
const K = ${u32(p.k)};
var<workgroup> tileA: array<f32, ${TILE * TK}>; // [k][row]
var<workgroup> tileB: array<f32, ${TILE * TK}>; // [k][col]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let flat = ${flatWorkgroup(g)};
  if (flat >= ${u32(total)}) { return; } // uniform: barriers below stay in uniform control flow
  let n0 = (flat % ${u32(tilesN)}) * ${u32(TILE)};
  let m0 = ((flat / ${u32(tilesN)}) % ${u32(tilesM)}) * ${u32(TILE)};
  let batch = flat / ${u32(tilesM * tilesN)};
${p.offsets}
  let tx = lid % ${u32(SIDE)};
  let ty = lid / ${u32(SIDE)};
${pairs.map(([i, j]) => `  var acc${i}${j} = 0.0;`).join('\n')}
  for (var k0 = 0u; k0 < K; k0 += ${u32(TK)}) {
${staging.join('\n')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${u32(TK)}; kk++) {
${regs.map((i) => `      let a${i} = tileA[kk * ${u32(TILE)} + ty + ${u32(SIDE * i)}];`).join('\n')}
${regs.map((j) => `      let b${j} = tileB[kk * ${u32(TILE)} + tx + ${u32(SIDE * j)}];`).join('\n')}
${pairs.map(([i, j]) => `      acc${i}${j} = fma(a${i}, b${j}, acc${i}${j});`).join('\n')}
    }
    workgroupBarrier();
  }
${regs.map((i) => `  let row${i} = m0 + ty + ${u32(SIDE * i)};`).join('\n')}
${regs.map((j) => `  let col${j} = n0 + tx + ${u32(SIDE * j)};`).join('\n')}
${stores.join('\n')}
}
`;
  return { wgsl, bindings: p.bindings.map((x) => x.access), workgroups: g };
}

const SKINNY_THREADS = 64;
const COLS = 4;
const KCHUNK = 64;

function skinny(p: Problem, variant: Variant): KernelSource {
  const [a, b, c] = p.bindings;
  const width = SKINNY_THREADS * COLS;
  const tilesN = ceilDiv(p.n, width);
  const total = tilesN * p.batches;
  const g = grid(total);
  const rows = [...Array(p.m).keys()];
  const cols = [...Array(COLS).keys()];
  const raggedN = p.n % width !== 0;
  // Out-of-range columns read a clamped (valid) column and are not stored: no branch in the K loop.
  const col = (j: number) => `n0 + ${u32(j * SKINNY_THREADS)}`;
  const colIndex = (j: number) => (raggedN ? `min(${col(j)}, N - 1u)` : col(j));
  const kGuard = p.k % KCHUNK !== 0;
  const wgsl = `${kernelHeader(variant, p.bindings)}

const N = ${u32(p.n)};
const K = ${u32(p.k)};
var<workgroup> chunkA: array<f32, ${p.m * KCHUNK}>; // [row][k]

@compute @workgroup_size(${SKINNY_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let flat = ${flatWorkgroup(g)};
  if (flat >= ${u32(total)}) { return; } // uniform: barriers below stay in uniform control flow
  let n0 = (flat % ${u32(tilesN)}) * ${u32(width)} + lid;
  let batch = flat / ${u32(tilesN)};
${p.offsets}
${cols.map((j) => `  let c${j} = ${colIndex(j)};`).join('\n')}
${rows.flatMap((i) => cols.map((j) => `  var acc${i}${j} = 0.0;`)).join('\n')}
  for (var k0 = 0u; k0 < K; k0 += ${u32(KCHUNK)}) {
    for (var e = lid; e < ${u32(p.m * KCHUNK)}; e += ${u32(SKINNY_THREADS)}) {
      let r = e / ${u32(KCHUNK)};
      let kk = e % ${u32(KCHUNK)};
      ${kGuard
    ? `var v = 0.0;\n      if (k0 + kk < K) { v = ${load(variant, a, 'aOff + r * K + k0 + kk')}; }\n      chunkA[e] = v;`
    : `chunkA[e] = ${load(variant, a, 'aOff + r * K + k0 + kk')};`}
    }
    workgroupBarrier();
    let kEnd = ${kGuard ? `min(${u32(KCHUNK)}, K - k0)` : u32(KCHUNK)};
    for (var kk = 0u; kk < kEnd; kk++) {
      let bRow = bOff + (k0 + kk) * N;
${cols.map((j) => `      let b${j} = ${load(variant, b, `bRow + c${j}`)};`).join('\n')}
${rows.map((i) => `      let a${i} = chunkA[${u32(i * KCHUNK)} + kk];`).join('\n')}
${rows.flatMap((i) => cols.map((j) => `      acc${i}${j} = fma(a${i}, b${j}, acc${i}${j});`)).join('\n')}
    }
    workgroupBarrier();
  }
${rows.flatMap((i) => cols.map((j) => {
    const s = store(variant, c, `cOff + ${u32(i)} * N + ${col(j)}`, `acc${i}${j}`);
    return raggedN ? `  if (${col(j)} < N) { ${s} }` : `  ${s}`;
  })).join('\n')}
}
`;
  return { wgsl, bindings: p.bindings.map((x) => x.access), workgroups: g };
}
