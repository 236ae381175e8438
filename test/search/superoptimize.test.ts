/**
 * The search, end to end, on the small twins of the benchmarks: superoptimize() finds by
 * itself a verified μGraph with the fused structure of the hand-written one, from the
 * program alone (no hand μGraph is passed in or consulted). Structure is asserted on the
 * μGraph found; correctness by the verifier's verdict, which the test re-derives with an
 * independent verify() call. Timing is not asserted (benchmarks measure speed).
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { verify } from '../../src/equivalence/verify.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { superoptimize } from '../../src/search/superoptimize.js';

const program = (benchmark: string) => UGRAPH_FIXTURES.find((f) => f.benchmark === benchmark)!.small().program;

/** The ops of custom kernel k, as `name` strings (`matmul`, `accum sum`, `silu`, ...). */
function opsOf(graph: KernelGraph, k = 0): string[] {
  return graph.customKernels[k]!.node.block.ops.map((op) => (op.op === 'accum' ? `accum ${op.kind}` : op.op === 'unary' || op.op === 'binary' ? op.fn : op.op));
}

async function search(benchmark: string, timeMs = 60_000) {
  const p = program(benchmark);
  // Generous budgets: the search stops early when it has its answer, and a loaded CI machine runs slower.
  const result = await superoptimize(p, { limits: { timeMs } });
  expect(result.source, JSON.stringify(result.report)).toBe('search');
  expect(result.verification?.verdict).toBe('equivalent');
  expect((await verify(p, result.ugraph)).verdict).toBe('equivalent');
  return result;
}

/** The μGraphs that passed screening (the chosen one among them, re-tiled). */
const forms = (result: Awaited<ReturnType<typeof search>>) => [result.ugraph, ...result.candidates.map((c) => c.ugraph)];

/** Operators in the epilogue (after the accumulators) of custom kernel k. */
function epilogueOf(graph: KernelGraph, k = 0): string[] {
  const { block } = graph.customKernels[k]!.node;
  return block.ops.flatMap((op, i) => (block.tensors[block.inputs.length + i]!.phase === 'post' && op.op !== 'accum'
    ? [op.op === 'unary' || op.op === 'binary' ? op.fn : op.op] : []));
}

// At these small shapes a whole row fits one tile, so the one-iteration forms (everything in
// the loop body) compete with the looped ones; the looped, fused forms must be among the
// screened candidates, and what is chosen must be one fused kernel.
describe('superoptimize finds the fused μGraphs by itself', () => {
  it('rmsnorm: one kernel; with a loop over K, Σx² and X·W accumulate side by side and the normalization follows the matmul', async () => {
    const result = await search('rmsnorm');
    expect(result.ugraph.nodes).toHaveLength(1);
    const looped = forms(result).find((g) => g.nodes.length === 1 && g.customKernels[0]!.node.block.forloopRange > 1);
    expect(looped, 'no looped one-kernel form').toBeDefined();
    expect(epilogueOf(looped!)).toEqual(expect.arrayContaining(['rsqrt', 'mul']));
    expect(result.report.explored).toBeGreaterThan(0);
    expect(result.report.phases.map((p) => p.phase)).toEqual(['target', 'generate', 'select', 'verify']);
  }, 120_000);

  it('gated_mlp: both matmuls in one kernel; looped, silu and the product in the epilogue', async () => {
    const result = await search('gated_mlp');
    expect(result.ugraph.nodes).toHaveLength(1);
    expect(result.ugraph.customKernels[0]!.node.block.ops.filter((op) => op.op === 'matmul')).toHaveLength(2);
    expect(forms(result).some((g) => epilogueOf(g).sort().join() === 'mul,silu')).toBe(true);
  }, 120_000);

  it('lora: one kernel; the candidates include (X‖XA)·(W‖B) with the concatenation never in storage', async () => {
    const result = await search('lora');
    expect(result.ugraph.nodes).toHaveLength(1);
    const concatForm = forms(result).find((g) => opsOf(g).filter((o) => o === 'concat').length === 2);
    expect(concatForm, 'no candidate with the LoRA concatenation').toBeDefined();
    expect(concatForm!.nodes.every((n) => n.op === 'custom')).toBe(true);
  }, 120_000);

  it('gqa: one kernel; looped over KV, online softmax (a running max rescales both sums)', async () => {
    const result = await search('gqa');
    expect(result.ugraph.nodes).toHaveLength(1);
    const online = forms(result).find((g) => g.customKernels[0]!.node.block.ops.some((op) => op.op === 'accum' && op.kind === 'maxRescale'));
    expect(online, 'no online-softmax candidate').toBeDefined();
    const rescaled = online!.customKernels[0]!.node.block.ops.filter((op) => op.op === 'accum' && op.rescaleBy !== undefined);
    expect(rescaled).toHaveLength(2);
  }, 120_000);

  it('ntrans: fused per row (row statistics, then elementwise), no pre-defined kernels', async () => {
    const { ugraph } = await search('ntrans');
    expect(ugraph.nodes.every((n) => n.op === 'custom')).toBe(true);
    expect(ugraph.nodes.length).toBeLessThanOrEqual(3);
  }, 120_000);
});

describe('superoptimize: determinism, limits and the fallback', () => {
  it('gives the same μGraph twice', async () => {
    const p = program('gated_mlp');
    const [a, b] = [await superoptimize(p), await superoptimize(p)];
    expect(a.ugraph.hash).toBe(b.ugraph.hash);
    expect(a.candidates.map((c) => c.ugraph.hash)).toEqual(b.candidates.map((c) => c.ugraph.hash));
  }, 120_000);

  it('stops at its time limit and says so', async () => {
    const result = await superoptimize(program('ntrans'), { limits: { timeMs: 1 } });
    expect(result.report.stopReason).toBe('time-limit');
  }, 60_000);

  it('falls back to the per-operator lowering, and says why, when nothing verifies (exp of an exp)', async () => {
    const p = buildProgram('nested_exp', (g) => ({ y: g.exp(g.exp(g.input('x', [4, 8], 'f32'))) }));
    const result = await superoptimize(p, { limits: { timeMs: 10_000 } });
    expect(result.source).toBe('per-op-fallback');
    expect(result.verification).toBeUndefined();
    expect(result.report.pick).toMatch(/per-operator lowering/);
  }, 60_000);

  it('reports progress', async () => {
    const phases = new Set<string>();
    await superoptimize(program('rmsnorm'), { onProgress: (p) => phases.add(p.phase) });
    expect([...phases]).toEqual(expect.arrayContaining(['target', 'select', 'verify']));
  }, 60_000);
});

describe('superoptimize on programs whose one-kernel forms do not fit the target', () => {
  // A new user's two-layer MLP with both biases, and a row normalization then a matmul plus a
  // residual: their fused one-kernel forms need 72 KB and 33 KB of workgroup memory (over
  // webgpu-defaults' 16 KB). Those must not end the search before the two-kernel forms that fit.
  const mlp = () => buildProgram('mlp_two_biases', (g) => {
    const x = g.input('x', [16, 64], 'f32');
    const h = g.gelu(g.add(g.matmul(x, g.input('w1', [64, 128], 'f32')), g.input('b1', [128], 'f32')));
    return { y: g.add(g.matmul(h, g.input('w2', [128, 32], 'f32')), g.input('b2', [32], 'f32')) };
  });
  const residual = () => buildProgram('rownorm_residual', (g) => {
    const x = g.input('x', [32, 64], 'f32');
    const e = g.exp(x);
    return { y: g.add(x, g.matmul(g.div(e, g.sum(e, -1, { keepdim: true })), g.input('w', [64, 64], 'f32'))) };
  });

  for (const [name, build] of [['mlp with two biases', mlp], ['row normalization, matmul, residual', residual]] as const) {
    it(`${name}: searched into fused kernels that fit, verified; the report names the first form over the limits`, async () => {
      const p = build();
      const result = await superoptimize(p);
      expect(result.source).toBe('search');
      expect(result.ugraph.customKernels.length).toBeGreaterThanOrEqual(1);
      expect(result.ugraph.nodes.length).toBeLessThan(p.nodes.filter((n) => n.op !== 'input' && n.op !== 'const').length);
      expect(result.report.overTarget).toBeGreaterThan(0);
      expect(result.report.overTargetExample).toMatch(/bytes of workgroup memory .* over the limit of 16384/);
      expect((await verify(p, result.ugraph)).verdict).toBe('equivalent');
    }, 120_000);
  }
});
