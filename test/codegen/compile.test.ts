/**
 * compile() and compileKernelGraph on the GPU: the naive lowering of a program using every
 * primitive, the hand-written μGraphs of the ugraph tests (tiled matmul, RMSNorm+Linear,
 * attention in one kernel and split-KV, partial row sums, gated MLP), block-level concat,
 * and the storage rules shared with the per-operator lowering.
 */
import { describe, expect, it } from 'vitest';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { compile } from '../../src/compile.js';
import { buildProgram } from '../../src/frontend/program.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { useGpu } from '../helpers/gpu.js';
import {
  attentionOneKernel, attentionSplitKV, everyPrimitive, gatedMlp, partialRowSums, rmsnormLinear, tiledMatmul,
} from '../ugraph/graphs.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();

describe('compile()', () => {
  it.each(['f32'] as const)('a program with every primitive matches the reference (%s)', async (variant) => {
    const program = everyPrimitive();
    const { ugraph, compiled, report } = compile(program);
    expect(report.source).toBe('naive-lowering');
    expect(report.customKernels).toBe(0);
    expect(report.kernels).toBe(compiled.dispatches.length);
    await expectGpuMatches(gpu().device, program, compiled, variant, { graph: ugraph, seed: 3 });
  });

  it('an f16 program in both variants, with outputs that alias inputs and each other', async () => {
    const program = buildProgram('aliases', (g) => {
      const x = g.input('x', [4, 6], 'f16');
      const e = g.exp(g.reshape(x, [6, 4]));
      return { input: x, e, again: e, total: g.sum(g.add(e, 1), 0) };
    });
    const { compiled } = compile(program);
    expect(compiled.variants).toEqual(['f16', 'f32']);
    const buffers = compiled.outputs.map((o) => o.buffer);
    expect(new Set(buffers).size).toBe(buffers.length);
    for (const variant of ['f16', 'f32'] as const) await expectGpuMatches(gpu().device, program, compiled, variant);
  });

  it('compiles a given μGraph', () => {
    const { program, graph } = rmsnormLinear();
    const { report } = compile(program, { ugraph: graph });
    expect(report).toMatchObject({ source: 'given', customKernels: 1, kernels: 1 });
  });
});

describe('compileKernelGraph: hand-written μGraphs of the ugraph tests', () => {
  const cases = [
    ['tiled matmul', tiledMatmul],
    ['RMSNorm+Linear', rmsnormLinear],
    ['attention in one kernel', attentionOneKernel],
    ['split-KV attention, 4 splits', () => attentionSplitKV(4)],
    ['partial row sums', partialRowSums],
    ['gated MLP', gatedMlp],
  ] as const;
  it.each(cases)('%s', async (name, make) => {
    const { program, graph } = make();
    await expectGpuMatches(gpu().device, program, compileKernelGraph(graph, name), 'f32', { graph, seed: 5 });
  });

  it('a concat along the K dim of its matmuls is never materialized: the K loop reads part by part', async () => {
    const program = buildProgram('concat_matmul', (g) => {
      const x = g.input('x', [4, 8]);
      const w = g.input('w', [8, 6]);
      const b = g.input('b', [2, 6]);
      return { y: g.add(g.matmul(x, w), g.matmul(g.exp(g.matmul(x, g.input('a', [8, 2]))), b)) };
    });
    const g = new KernelGraphBuilder();
    const [x, w, b, a] = [g.input('x', [4, 8]), g.input('w', [8, 6]), g.input('b', [2, 6]), g.input('a', [8, 2])];
    const [y] = g.customKernel({ grid: [2], thread: { invocations: 16, registerTile: [2, 3] } }, (k) => {
      const xt = k.input(x);
      const wt = k.input(w, { imap: { x: 1 } });
      const bt = k.input(b, { imap: { x: 1 } });
      const at = k.input(a);
      const joinedX = k.concat([xt, k.exp(k.matmul(xt, at))], -1);
      const joinedW = k.concat([wt, bt], 0);
      k.output(k.accumSum(k.matmul(joinedX, joinedW)), { omap: { x: 1 } });
    });
    g.output('y', y!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'concat_matmul');
    const wgsl = compiled.kernels[0]!.wgsl.f32;
    expect(wgsl).toContain('// K 0..8: t0 · t1');
    expect(wgsl).toContain('// K 8..10: t5 · t2');
    expect(wgsl).not.toContain('= concat');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph });
  });

  it('K-split operands cut at different points, and one operand not split', async () => {
    const program = buildProgram('split_points', (g) => {
      const [x1, x2] = [g.input('x1', [4, 5]), g.input('x2', [4, 3])];
      const [w1, w2] = [g.input('w1', [4, 8]), g.input('w2', [4, 8])];
      const v = g.input('v', [8, 8]);
      const x = g.concat([x1, x2], 1);
      return { y: g.add(g.matmul(x, g.concat([w1, w2], 0)), g.matmul(x, v)) };
    });
    const g = new KernelGraphBuilder();
    const [x1, x2, w1, w2, v] = [g.input('x1', [4, 5]), g.input('x2', [4, 3]), g.input('w1', [4, 8]), g.input('w2', [4, 8]), g.input('v', [8, 8])];
    const [y] = g.customKernel({ grid: [2], thread: { invocations: 4, registerTile: [4, 2] } }, (k) => {
      const [x1t, x2t] = [k.input(x1), k.input(x2)];
      const [w1t, w2t, vt] = [k.input(w1, { imap: { x: 1 } }), k.input(w2, { imap: { x: 1 } }), k.input(v, { imap: { x: 1 } })];
      const x = k.concat([x1t, x2t], 1);
      k.output(k.add(k.accumSum(k.matmul(x, k.concat([w1t, w2t], 0))), k.accumSum(k.matmul(x, vt))), { omap: { x: 1 } });
    });
    g.output('y', y!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'split_points');
    const wgsl = compiled.kernels[0]!.wgsl.f32;
    for (const segment of ['// K 0..4: t0 · t2', '// K 4..5: t0 · t3', '// K 5..8: t1 · t3', '// K 0..5: t0 · t4', '// K 5..8: t1 · t4']) {
      expect(wgsl).toContain(segment);
    }
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 3 });
  });

  it('a concat with another reader is materialized: operands placed in place or copied', async () => {
    const program = buildProgram('concat_rows', (g) => {
      const x = g.input('x', [4, 8]);
      const w = g.input('w', [8, 6]);
      return { y: g.concat([g.matmul(x, w), g.exp(g.matmul(x, w))], 0) };
    });
    const g = new KernelGraphBuilder();
    const [x, w] = [g.input('x', [4, 8]), g.input('w', [8, 6])];
    const [y] = g.customKernel({ grid: [2], thread: { invocations: 8, registerTile: [2, 3] } }, (k) => {
      const xw = k.matmul(k.input(x), k.input(w, { imap: { x: 1 } }));
      // exp(x·w) is an inline expression: the concat copies it; x·w is placed in place.
      k.output(k.accumSum(k.concat([xw, k.exp(xw)], 0)), { omap: { x: 1 } });
    });
    g.output('y', y!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'concat_rows');
    expect(compiled.kernels[0]!.wgsl.f32).toContain('= concat');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph });
  });

  it('row sums accumulate in registers across the loop: rows that do not divide the invocations, lanes combined once', async () => {
    const program = buildProgram('row_sums', (g) => {
      const x = g.input('x', [3, 40]);
      return { y: g.sum(g.mul(x, x), 1, { keepdim: true }) };
    });
    const g = new KernelGraphBuilder();
    const x = g.input('x', [3, 40]);
    const [y] = g.customKernel({ grid: 1, forloopRange: 4, thread: { invocations: 8 } }, (k) => {
      k.output(k.accumSumLastDim(k.square(k.input(x, { fmap: 1 }))));
    });
    g.output('y', y!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'row_sums');
    const wgsl = compiled.kernels[0]!.wgsl.f32;
    expect(wgsl).toContain('accum sumLastDim(t1), in registers');
    // 8 invocations over 3 rows: 2 lanes per row, one tree level after the loop.
    expect(wgsl).toContain('let row = lid / 2u;');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 7 });
  });
});
