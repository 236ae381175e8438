/**
 * The thread config's streamOperands (residency.ts, custom-kernel.ts): a matmul's re-read
 * A tile is read from storage by every invocation instead of staged in workgroup memory, so
 * the K loop, and the kernel, have no barrier; the function computed is the same. Checked
 * in the WGSL and on the GPU against the float64 reference, in both variants.
 */
import { describe, expect, it } from 'vitest';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();
const [M, K, N] = [4, 64, 32];

/** O = X·W over 4 K iterations; 4 invocations, each a 4 x 8 register tile (every one reads all of X's rows). */
function streamedMatmul(name: string, streamOperands: boolean) {
  const program = buildProgram(name, (g) => ({ o: g.matmul(g.input('x', [M, K], 'f16'), g.input('w', [K, N], 'f16')) }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [M, K], 'f16');
  const w = g.input('w', [K, N], 'f16');
  const thread = { invocations: 4, registerTile: [M, 8] as [number, number], vectorWidth: 4 as const, ...(streamOperands ? { streamOperands: true as const } : {}) };
  const [o] = g.customKernel({ grid: 1, forloopRange: 4, thread }, (b) => {
    b.output(b.accumSum(b.matmul(b.input(x, { fmap: 1 }), b.input(w, { fmap: 0 }))));
  });
  g.output('o', o!);
  const graph = g.build();
  return { program, graph, compiled: compileKernelGraph(graph, name) };
}

describe('streamOperands', () => {
  it('reads the re-read A tile from storage in the K loop: no workgroup tile, no barrier', async () => {
    const staged = streamedMatmul('staged_a', false).compiled.kernels[0]!.wgsl.f16!;
    expect(staged).toContain('// t0: tile of in0');
    expect(staged).toContain('workgroupBarrier();');
    const { program, graph, compiled } = streamedMatmul('streamed_a', true);
    for (const wgsl of [compiled.kernels[0]!.wgsl.f32, compiled.kernels[0]!.wgsl.f16!]) {
      expect(wgsl).not.toContain('// t0: tile of in0');
      expect(wgsl).not.toContain('workgroupBarrier');
      expect(wgsl).toMatch(/let a3 = f32\(in0\[tile0 \+ \(r0 \+ 3u\) \* 64u \+ kk\]\);|let a3 = in0\[tile0 \+ \(r0 \+ 3u\) \* 64u \+ kk\];/);
    }
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 5 });
  });

  it('is kept in the canonical JSON only when set', () => {
    const json = (streamOperands: boolean) => JSON.stringify(streamedMatmul('json', streamOperands).graph.toJSON());
    expect(json(false)).not.toContain('streamOperands');
    expect(json(true)).toContain('"streamOperands":true');
  });
});
