/**
 * Streamed tiles and savers read and written four elements at a time, and one-iteration
 * sums read as their inputs (custom-kernel.ts, emit-row-sums.ts, residency.ts): each
 * decision checked in the WGSL it produces and on the GPU against the float64 reference,
 * in both variants.
 */
import { describe, expect, it } from 'vitest';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import type { Tensor } from '../../src/frontend/tensor.js';
import type { BlockTensorRef } from '../../src/ugraph/block-builder.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();
const ROWS = 4;

/**
 * O = (x + a·x)·2 per row of `width` elements, one workgroup per half row: the sum of a
 * one-iteration loop carries the result to the saver.
 */
function residualScale(name: string, width: number) {
  const program = buildProgram(name, (g) => {
    const x = g.input('x', [ROWS, width], 'f16');
    const a = g.input('a', [ROWS, width], 'f16');
    return { o: g.scale(g.add(x, g.mul(a, x)), 2) };
  });
  const g = new KernelGraphBuilder();
  const x = g.input('x', [ROWS, width], 'f16');
  const a = g.input('a', [ROWS, width], 'f16');
  const [o] = g.customKernel({ grid: [ROWS, 2], thread: { invocations: 8 } }, (b) => {
    const tile = { imap: { x: 0, y: 1 } };
    const [xt, at] = [b.input(x, tile), b.input(a, tile)];
    b.output(b.accumSum(b.scale(b.add(xt, b.mul(at, xt)), 2)), { omap: { x: 0, y: 1 }, dtype: 'f16' });
  });
  g.output('o', o!);
  const graph = g.build();
  const compiled = compileKernelGraph(graph, name);
  return { program, graph, compiled, kernel: compiled.kernels[0]! };
}

describe('one-iteration sums and vector savers', () => {
  it('a one-iteration sum is its input: no loop, no workgroup slot; aligned tiles load and store vec4s', async () => {
    const { program, graph, compiled, kernel } = residualScale('residual_vec4', 64);
    for (const wgsl of [kernel.wgsl.f32, kernel.wgsl.f16!]) {
      expect(wgsl).not.toContain('for (var it');
      expect(wgsl).not.toContain('workgroupBarrier');
      expect(wgsl).toMatch(/in0: array<vec4<f(16|32)>>/);
      expect(wgsl).toMatch(/in1: array<vec4<f(16|32)>>/);
      expect(wgsl).toMatch(/out0: array<vec4<f(16|32)>>/);
      // 32 elements per workgroup, 4 per store: 8 invocations store once each.
      expect(wgsl).toContain('out0[(base + e * 4u) / 4u] = ');
    }
    expect(kernel.wgsl.f16).toContain('= vec4<f16>(');
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 21 });
  });

  it('a one-iteration sum of a staged tensor keeps its slot when staged epilogue ops could overwrite that tensor', async () => {
    // p (5 operators, 2 readers) is staged in the loop body; q (5 operators, 2 readers) is staged in the
    // epilogue, whose slots overlap the body's: read as p after q is written, Σ p would come out as q.
    const width = 16;
    const expensive = <R>(o: { add(a: R, b: R): R; mul(a: R, b: R): R; exp(x: R): R }, u: R, v: R) => o.add(o.mul(o.exp(o.add(o.mul(u, v), u)), u), v);
    const program = buildProgram('staged_epilogue', (g) => {
      const x = g.input('x', [ROWS, width]);
      const a = g.input('a', [ROWS, width]);
      const p = expensive<Tensor>(g, x, a);
      const s = g.sum(p, 1, { keepdim: true });
      const q = expensive<Tensor>(g, s, s);
      return { p, q, q2: g.scale(q, 2) };
    });
    const g = new KernelGraphBuilder();
    const x = g.input('x', [ROWS, width]);
    const a = g.input('a', [ROWS, width]);
    const outputs = g.customKernel({ grid: ROWS, thread: { invocations: 16 } }, (b) => {
      const tile = { imap: { x: 0 } };
      const p = expensive<BlockTensorRef>(b, b.input(x, tile), b.input(a, tile));
      const s = b.accumSumLastDim(p);
      const q = expensive<BlockTensorRef>(b, s, s);
      b.output(b.accumSum(p), { omap: { x: 0 } });
      b.output(q, { omap: { x: 0 } });
      b.output(b.scale(q, 2), { omap: { x: 0 } });
    });
    ['p', 'q', 'q2'].forEach((name, k) => g.output(name, outputs[k]!));
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'staged_epilogue');
    expect(compiled.kernels[0]!.wgsl.f32).toContain('accum sum(');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 25 });
  });

  it('a tile whose rows are not whole vec4s keeps scalar loads and stores', async () => {
    const { program, graph, compiled, kernel } = residualScale('residual_scalar', 12);
    expect(kernel.wgsl.f32).toMatch(/in0: array<f32>/);
    expect(kernel.wgsl.f32).toMatch(/out0: array<f32>/);
    expect(kernel.wgsl.f32).not.toContain('vec4');
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 22 });
  });

  it('a tile also read element by element (a row reduction) stays one scalar binding, with no vector alias', async () => {
    // O = x · rsqrt(mean(x²)) per row: the reduction's lanes read x by element, the saver would read it by vec4.
    const width = 32;
    const program = buildProgram('rms_scalar', (g) => {
      const x = g.input('x', [ROWS, width]);
      return { o: g.mul(x, g.rsqrt(g.scale(g.sum(g.square(x), 1, { keepdim: true }), 1 / width))) };
    });
    const g = new KernelGraphBuilder();
    const x = g.input('x', [ROWS, width]);
    const [o] = g.customKernel({ grid: ROWS, thread: { invocations: 8 } }, (b) => {
      const xt = b.input(x, { imap: { x: 0 } });
      const factor = b.rsqrt(b.scale(b.sum(b.square(xt), 1), 1 / width));
      b.output(b.accumSum(b.mul(xt, factor)), { omap: { x: 0 } });
    });
    g.output('o', o!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'rms_scalar');
    const wgsl = compiled.kernels[0]!.wgsl.f32;
    expect(wgsl).toMatch(/in0: array<f32>/);
    expect(wgsl).not.toContain('in0v');
    expect(wgsl).toContain('acc = acc + (in0[');
    await expectGpuMatches(gpu().device, program, compiled, 'f32', { graph, seed: 23 });
  });
});

describe('row sums in registers, four elements per lane step', () => {
  it('partial sums are vec4 registers, added up once before the lanes combine', async () => {
    // Σ x² and Σ x·a per row of 256, loop tiles of 64, 16 lanes per row: each lane takes 4 consecutive elements.
    const width = 256;
    const program = buildProgram('rowsums_vec4', (g) => {
      const x = g.input('x', [ROWS, width], 'f16');
      const a = g.input('a', [ROWS, width], 'f16');
      return { xx: g.sum(g.square(x), 1, { keepdim: true }), xa: g.sum(g.mul(x, a), 1, { keepdim: true }) };
    });
    const g = new KernelGraphBuilder();
    const x = g.input('x', [ROWS, width], 'f16');
    const a = g.input('a', [ROWS, width], 'f16');
    const [xx, xa] = g.customKernel({ grid: ROWS, forloopRange: 4, thread: { invocations: 16 } }, (b) => {
      const tile = { imap: { x: 0 }, fmap: 1 };
      const [xt, at] = [b.input(x, tile), b.input(a, tile)];
      b.output(b.accumSumLastDim(b.square(xt)), { omap: { x: 0 } });
      b.output(b.accumSumLastDim(b.mul(xt, at)), { omap: { x: 0 } });
    });
    g.output('xx', xx!);
    g.output('xa', xa!);
    const graph = g.build();
    const compiled = compileKernelGraph(graph, 'rowsums_vec4');
    const wgsl = compiled.kernels[0]!.wgsl.f16!;
    expect(wgsl.match(/var rowsum\d+ = vec4<f32>\(\);/g)).toHaveLength(2);
    expect(wgsl).toContain('for (var r = (lid % 16u) * 4u; r < 64u; r += 64u)');
    expect(wgsl).toMatch(/in0: array<vec4<f16>>/);
    expect(wgsl).toMatch(/= \(\(rowsum\d+\.x \+ rowsum\d+\.y\) \+ \(rowsum\d+\.z \+ rowsum\d+\.w\)\);/);
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 24 });
  });
});
