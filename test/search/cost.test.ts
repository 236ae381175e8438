/**
 * The analytical cost (src/search/cost.ts): on the six benchmarks at full shapes the hand
 * μGraph scores below the per-operator lowering; the estimate is deterministic; doubling a
 * dimension never lowers it; and its parts count what the file comment says they count.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { compile } from '../../src/compile.js';
import {
  BARRIER_US, blockBarriers, estimateCost, FLOPS_PER_US, LAUNCH_US, LOAD_FLOPS, loopWritesWorkgroup, NOMINAL_CORES, STORAGE_BYTES_PER_US,
} from '../../src/search/cost.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';

const TARGET = withSubgroups(webgpuDefaults, 8);

/** Each fixture's sizes to double (tile fields unchanged), from the full shape at b = 1 or from a smaller base where doubling would pass the storage binding limit. */
const DOUBLED: Record<string, readonly (readonly [string, number?])[]> = {
  gqa: [['kv'], ['batch']],
  qknorm: [['kv'], ['queries']],
  rmsnorm: [['dIn', 2048], ['dOut', 3072], ['rows']],
  lora: [['dOut'], ['rows']],
  gated_mlp: [['dIn'], ['dOut']],
  ntrans: [['width'], ['rows']],
};

describe.each(UGRAPH_FIXTURES.map((f) => [f.benchmark, f] as const))('%s', (benchmark, fixture) => {
  it.each([1, 8])('b = %i: the hand μGraph scores below the per-operator lowering', (b) => {
    const { program, graph } = fixture.full(b);
    const hand = estimateCost(graph, TARGET);
    const naive = estimateCost(kernelGraphFromProgram(program, TARGET), TARGET);
    expect(hand.score, `${hand.explain}\nvs naive ${naive.explain}`).toBeLessThan(naive.score);
    expect(hand.launches).toBeLessThan(naive.launches);
  });

  it('is deterministic (the same graph, and the graph through JSON)', () => {
    const { graph } = fixture.full(1);
    const first = estimateCost(graph, TARGET);
    expect(estimateCost(graph, TARGET)).toEqual(first);
    expect(estimateCost(KernelGraph.fromJSON(JSON.stringify(graph.toJSON())), TARGET)).toEqual(first);
    expect(estimateCost(fixture.full(1).graph, TARGET)).toEqual(first);
  });

  it.each(DOUBLED[benchmark]!.map(([field, from]) => [field, from] as const))('doubling %s does not lower the cost (hand μGraph and per-operator lowering)', (field, from) => {
    const full = fixture.fullShape(1) as Record<string, number>;
    const shape = from === undefined ? full : { ...full, [field]: from };
    const base = fixture.build('base', shape);
    const doubled = fixture.build('doubled', { ...shape, [field]: 2 * shape[field]! });
    expect(estimateCost(doubled.graph, TARGET).score).toBeGreaterThanOrEqual(estimateCost(base.graph, TARGET).score);
    const naive = (p: typeof base.program) => estimateCost(kernelGraphFromProgram(p, TARGET), TARGET);
    expect(naive(doubled.program).score).toBeGreaterThanOrEqual(naive(base.program).score);
    for (const key of ['bytesRead', 'flops'] as const) {
      expect(estimateCost(doubled.graph, TARGET)[key]).toBeGreaterThanOrEqual(estimateCost(base.graph, TARGET)[key]);
    }
  });

  it('counts launches as the compiled program dispatches them', () => {
    for (const { program, graph } of [fixture.full(1), fixture.small()]) {
      expect(estimateCost(graph, TARGET).launches).toBe(compile(program, { ugraph: graph }).compiled.dispatches.length);
      const naive = kernelGraphFromProgram(program, TARGET);
      expect(estimateCost(naive, TARGET).launches).toBe(compile(program, { ugraph: naive }).compiled.dispatches.length);
    }
  });
});

describe('the parts', () => {
  /** O = X·W with X (16, 64), W (64, 128): 4 column blocks, 4 iterations of 16. */
  function tiledMatmul(thread: object) {
    const g = new KernelGraphBuilder();
    const x = g.input('x', [16, 64], 'f16');
    const w = g.input('w', [64, 128], 'f16');
    const [o] = g.customKernel({ grid: 4, forloopRange: 4, thread }, (b) => {
      b.output(b.accumSum(b.matmul(b.input(x, { fmap: 1 }), b.input(w, { imap: { x: 1 }, fmap: 0 }))), { omap: { x: 1 }, dtype: 'f32' });
    });
    g.output('o', o!);
    return g.build();
  }

  it('bytes count each workgroup\'s tiles (X re-read by every column block), FLOPs 2·m·n·k, one launch', () => {
    const cost = estimateCost(tiledMatmul({ invocations: 8, registerTile: [16, 4], vectorWidth: 4, streamOperands: true }), webgpuDefaults);
    expect(cost.bytesRead).toBe(4 * 16 * 64 * 2 + 64 * 128 * 2);
    expect(cost.bytesWritten).toBe(16 * 128 * 4);
    expect(cost.flops).toBe(2 * 16 * 128 * 64);
    expect(cost.launches).toBe(1);
    expect(cost.barriers).toBe(0);
    // Per K step each 16 x 4 register tile (8 invocations, 8 per workgroup) loads 16 A elements and 4 halves of B in one vector load.
    expect(cost.loads).toBe(4 * 8 * 64 * (16 + 1));
    // 4 workgroups of the nominal device's NOMINAL_CORES, each filling a SIMD register.
    const utilization = 4 / NOMINAL_CORES;
    const throughput = ((cost.bytesRead + cost.bytesWritten) / STORAGE_BYTES_PER_US + (cost.flops + LOAD_FLOPS * cost.loads) / FLOPS_PER_US) / utilization;
    expect(cost.score).toBeCloseTo(LAUNCH_US + throughput, 9);
    expect(cost.explain).toMatch(/^\d+\.\d µs: 1 launches, .* MB read, .* MB written, .* GFLOP, .* M loads, 0 barriers$/);
  });

  it('staged operands put barriers in the loop, and cost more than streamed ones', () => {
    const staged = tiledMatmul({ invocations: 8, registerTile: [16, 4], vectorWidth: 4 });
    const streamed = tiledMatmul({ invocations: 8, registerTile: [16, 4], vectorWidth: 4, streamOperands: true });
    const [stagedNode, streamedNode] = [staged, streamed].map((g) => g.customKernels[0]!.node);
    expect(loopWritesWorkgroup(stagedNode!.block, stagedNode!.thread)).toBe(true);
    expect(loopWritesWorkgroup(streamedNode!.block, streamedNode!.thread)).toBe(false);
    expect(blockBarriers(stagedNode!.block, stagedNode!.thread).perIteration).toBe(2);
    const [a, b] = [estimateCost(staged, webgpuDefaults), estimateCost(streamed, webgpuDefaults)];
    expect(a.barriers).toBe(4 * 4 * 2);
    expect(a.score - b.score).toBeCloseTo(a.kernels[0]!.barriersPerWorkgroup * BARRIER_US, 9);
  });

  it('pre-defined kernels: reshapes and folded constants launch nothing, a concat one launch per operand, an output that is an input a copy', () => {
    const program = buildProgram('parts', (g) => {
      const x = g.input('x', [4, 8], 'f32');
      const y = g.input('y', [4, 8], 'f32');
      return { s: g.scale(g.reshape(g.concat([x, y], 0), [4, 16]), 2), x };
    });
    const graph = kernelGraphFromProgram(program);
    const cost = estimateCost(graph, webgpuDefaults);
    expect(cost.kernels.map((k) => k.kind)).toEqual(['concat', 'concat', 'scale', 'copy']);
    expect(cost.launches).toBe(compile(program).compiled.dispatches.length);
  });
});
