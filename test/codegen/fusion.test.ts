/**
 * Codegen decisions that trade workgroup memory and barriers for recomputation and wider
 * loads, each checked in the WGSL it produces and on the GPU against the float64 reference:
 * cheap elementwise results with several readers recomputed inline (residency.ts), row sums
 * of one shape updated in one loop and flushed in one tree (emit-row-sums.ts), and matmul A
 * operands read from workgroup memory 4 K steps per vec4 load or shared by subgroup
 * broadcast, and K steps split over the lanes of a register tile (emit-matmul.ts).
 */
import { describe, expect, it } from 'vitest';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import type { Tensor } from '../../src/frontend/tensor.js';
import type { BlockGraphBuilder, BlockTensorRef } from '../../src/ugraph/block-builder.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();
const ROWS = 2;
const WIDTH = 64;
const count = (text: string, needle: string) => text.split(needle).length - 1;

/**
 * Σ p² and Σ p·q per row, p = f(x, a) and q = a·x, as a program and as a μGraph with one
 * workgroup per row (16 invocations), looping over tiles of 16 elements.
 */
function twoRowSums(name: string, f: <R>(ops: { add(a: R, b: R): R; mul(a: R, b: R): R; exp(x: R): R; square(x: R): R }, x: R, a: R) => R) {
  const program = buildProgram(name, (g) => {
    const x = g.input('x', [ROWS, WIDTH]);
    const a = g.input('a', [ROWS, WIDTH]);
    const p = f<Tensor>(g, x, a);
    const q = g.mul(a, x);
    return { pp: g.sum(g.square(p), 1, { keepdim: true }), pq: g.sum(g.mul(p, q), 1, { keepdim: true }) };
  });
  const g = new KernelGraphBuilder();
  const x = g.input('x', [ROWS, WIDTH]);
  const a = g.input('a', [ROWS, WIDTH]);
  const [pp, pq] = g.customKernel({ grid: ROWS, forloopRange: 4, thread: { invocations: 16 } }, (b: BlockGraphBuilder) => {
    const tile = { imap: { x: 0 }, fmap: 1 };
    const [xt, at] = [b.input(x, tile), b.input(a, tile)];
    const p = f<BlockTensorRef>(b, xt, at);
    const q = b.mul(at, xt);
    b.output(b.accumSumLastDim(b.square(p)), { omap: { x: 0 } });
    b.output(b.accumSumLastDim(b.mul(p, q)), { omap: { x: 0 } });
  });
  g.output('pp', pp!);
  g.output('pq', pq!);
  const graph = g.build();
  const compiled = compileKernelGraph(graph, name);
  return { program, graph, compiled, wgsl: compiled.kernels[0]!.wgsl.f32 };
}

describe('elementwise results with several readers, and row sums', () => {
  it('a cheap result read by two row sums is recomputed where read; the sums share one loop and one flush tree', async () => {
    const { program, graph, wgsl, compiled } = twoRowSums('cheap_shared', (o, x, a) => o.add(x, o.mul(a, x)));
    // p = x + a·x is never staged: no elementwise step writes workgroup memory.
    expect(wgsl).not.toMatch(/\/\/ t\d+ = (add|mul)\n/);
    expect(wgsl).toMatch(/t\d+ = accum sumLastDim\(t\d+\), t\d+ = accum sumLastDim\(t\d+\), in registers/);
    // No barrier in or after the loop (it touches no workgroup memory), then one tree over
    // 16 lanes for both sums: after the scratch writes, after each of 4 levels, after the final writes.
    expect(count(wgsl, 'workgroupBarrier();')).toBe(1 + 4 + 1);
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 11 });
  });

  it('an expensive result with several readers is staged once in workgroup memory', async () => {
    // exp(x·a + x)·x + a: 4 operators, plus the 1 of its input's expression: over the limit of 4.
    const { program, graph, wgsl, compiled } = twoRowSums('costly_shared', (o, x, a) => o.add(o.mul(o.exp(o.add(o.mul(x, a), x)), x), a));
    expect(wgsl).toMatch(/\/\/ t\d+ = add\n/);
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 12 });
  });
});

/**
 * Y = X·W, X (m, 32) staged per K tile of 16 and re-read by every column tile of W (32, n);
 * register tiles of `rows` x `registerColumns`, optionally sharing A by subgroup broadcast.
 */
function stagedMatmul(name: string, registerColumns: number, options: { m?: number; n?: number; rows?: number; broadcast?: boolean; kLanes?: number } = {}) {
  const { m = 8, n = 16, rows = 8, broadcast = false, kLanes = 1 } = options;
  const program = buildProgram(name, (g) => ({ y: g.matmul(g.input('x', [m, 32]), g.input('w', [32, n])) }));
  const g = new KernelGraphBuilder({ target: withSubgroups(webgpuDefaults, 8) });
  const x = g.input('x', [m, 32]);
  const w = g.input('w', [32, n]);
  const thread = {
    invocations: kLanes * (m / rows) * (n / registerColumns),
    registerTile: [rows, registerColumns] as [number, number],
    vectorWidth: 4 as const,
    ...(broadcast ? { subgroupBroadcast: true as const } : {}),
    ...(kLanes > 1 ? { kLanes } : {}),
  };
  const [y] = g.customKernel({ grid: 1, forloopRange: 2, thread }, (b) => {
    b.output(b.accumSum(b.matmul(b.input(x, { fmap: 1 }), b.input(w, { fmap: 0 }))));
  });
  g.output('y', y!);
  const graph = g.build();
  const compiled = compileKernelGraph(graph, name);
  return { program, graph, compiled, wgsl: compiled.kernels[0]!.wgsl.f32 };
}

describe('matmul A operands in workgroup memory', () => {
  it('are read 4 K steps per vec4 load when the unrolled K body spans 4 steps', async () => {
    // 8 x 4 register tiles: 8 vec4 FMAs per K step, 4 steps per unrolled body.
    const { program, graph, compiled, wgsl } = stagedMatmul('vector_a', 4);
    expect(wgsl).toContain('var<workgroup> wg: array<vec4<f32>,');
    expect(wgsl).toMatch(/let av7_0 = wg\[[^\]]*\];/);
    expect(wgsl).toContain('let a3 = av3_0.w;');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 13 });
  });

  it('keep a flat array, read element by element, when the body spans fewer steps', async () => {
    // 8 x 8 register tiles: 16 vec4 FMAs per K step, 2 steps per unrolled body.
    const { program, graph, compiled, wgsl } = stagedMatmul('scalar_a', 8);
    expect(wgsl).toContain('var<workgroup> wg: array<f32,');
    expect(wgsl).not.toContain('let av');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 14 });
  });
});

describe('matmul A operands shared by subgroup broadcast', () => {
  it('are read a row per lane, 2 K steps per iteration, and broadcast; the program then requires subgroups', async () => {
    // 8 x 8 register tiles spanning all rows of X, 8 invocations over W's 64 columns.
    const { program, graph, compiled, wgsl } = stagedMatmul('broadcast_a', 8, { n: 64, broadcast: true });
    expect(wgsl).toMatch(/^enable subgroups;/);
    expect(wgsl).toContain('@builtin(subgroup_invocation_id) sgid: u32');
    expect(wgsl).toContain('for (var k0 = 0u; k0 < 16u; k0 += 2u)');
    // One group of 8 rows, a load per K step: lane l reads row l.
    expect(count(wgsl, 'let al')).toBe(2);
    expect(wgsl).toMatch(/let al0_1 = wg\[[^\]]*r0 \+ \(sgid % 8u\)[^\]]*k0 \+ 1u/);
    // 8 rows x 2 vec4 columns x 2 steps, row i taken from lane i.
    expect(count(wgsl, 'subgroupBroadcast(')).toBe(8 * 2 * 2);
    expect(wgsl).toContain('subgroupBroadcast(al0_1, 5u)');
    expect(compiled.requires).toEqual({ features: ['subgroups'], subgroupMinSize: 8 });
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 15 });
  });

  it('are read a K step per lane, 8 steps per iteration, when the rows are fewer than 8', async () => {
    // X (4, 32): 4 x 8 register tiles spanning its rows, 8 invocations over W's 64 columns.
    const { program, graph, compiled, wgsl } = stagedMatmul('broadcast_k', 8, { m: 4, rows: 4, n: 64, broadcast: true });
    expect(wgsl).toContain('for (var k0 = 0u; k0 < 16u; k0 += 8u)');
    // A load per row: lane l reads K step k0 + l.
    expect(count(wgsl, 'let al')).toBe(4);
    expect(wgsl).toMatch(/let al3 = wg\[[^\]]*k0 \+ \(sgid % 8u\)/);
    expect(count(wgsl, 'subgroupBroadcast(')).toBe(4 * 2 * 8);
    expect(wgsl).toContain('subgroupBroadcast(al3, 5u)');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 19 });
  });

  it('fall back to per-invocation reads when the register tile does not span every row', async () => {
    // 4-row tiles: the two halves of the workgroup read different A rows.
    const { program, graph, compiled, wgsl } = stagedMatmul('split_rows', 8, { n: 32, rows: 4, broadcast: true });
    expect(wgsl).not.toContain('subgroup');
    expect(compiled.requires).toBeUndefined();
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 16 });
  });
});

describe('K steps split over the lanes sharing a register tile (kLanes)', () => {
  it('each lane takes every 8th K step; a shuffle butterfly sums the tiles; one lane per tile saves it', async () => {
    // 8 x 8 register tiles, 2 tiles over W's 16 columns, 8 lanes each: 16 invocations.
    const { program, graph, compiled, wgsl } = stagedMatmul('k_lanes', 8, { kLanes: 8 });
    expect(wgsl).toMatch(/^enable subgroups;/);
    expect(wgsl).not.toContain('sgid');
    expect(wgsl).toContain('let t = lid / 8u;');
    expect(count(wgsl, 'for (var k0 = lid % 8u; k0 < 16u; k0 += 8u)')).toBe(1);
    // 8 rows x 2 vec4 per tile, 3 butterfly steps each.
    expect(count(wgsl, 'subgroupShuffleXor(')).toBe(8 * 2 * 3);
    expect(wgsl).toContain('if (lid % 8u == 0u)');
    expect(compiled.requires).toEqual({ features: ['subgroups'], subgroupMinSize: 8 });
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 17 });
  });
});
