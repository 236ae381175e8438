/**
 * A tensor program and a hand-written μGraph of it, through the public API only (as a
 * user's module would write them): y = x·w as one custom kernel, a grid of 2 over w's
 * columns and a for-loop of 4 over the inner dimension. `strayBias` plants a bug for the
 * tests that must see a FAIL: the μGraph stays valid, its numbers go wrong.
 */
import { KernelGraphBuilder, type KernelGraph, tensorProgram } from 'mugraph';

export const matmulProgram = tensorProgram('tiled_matmul', (g) => {
  const x = g.input('x', [4, 32], 'f32');
  const w = g.input('w', [32, 16], 'f32');
  return { y: g.matmul(x, w) };
});

export function tiledMatmul({ strayBias = 0, inputDtype = 'f32' }: { strayBias?: number; inputDtype?: 'f16' | 'f32' } = {}): KernelGraph {
  const g = new KernelGraphBuilder();
  const x = g.input('x', [4, 32], inputDtype);
  const w = g.input('w', [32, 16], inputDtype);
  const [y] = g.customKernel({ grid: 2, forloopRange: 4 }, (b) => {
    const xt = b.input(x, { fmap: 1 });
    const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
    const sum = b.accumSum(b.matmul(xt, wt));
    b.output(strayBias === 0 ? sum : b.add(sum, strayBias), { omap: { x: 1 }, dtype: 'f32' });
  });
  g.output('y', y!);
  return g.build();
}
