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

  it('block-level concat along both dims, operands placed in place or copied', async () => {
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
      // exp(x·a) is an inline expression: the concat copies it; the other operands are placed in place.
      const joinedX = k.concat([xt, k.exp(k.matmul(xt, at))], -1);
      const joinedW = k.concat([wt, bt], 0);
      k.output(k.accumSum(k.matmul(joinedX, joinedW)), { omap: { x: 1 } });
    });
    g.output('y', y!);
    const graph = g.build();
    await expectGpuMatches(gpu().device, program, compileKernelGraph(graph, 'concat_matmul'), 'f32', { graph });
  });
});
