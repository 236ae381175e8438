/**
 * Correct rewrites the verifier must accept, built as μGraphs beside the hand-written
 * benchmark ones (which are themselves rewrites: normalization after the matmul, split-KV
 * with a combine kernel, the LoRA concatenation, online softmax): split-K with a combine
 * kernel, and RMSNorm+matmul with the normalization before the matmul in a kernel of its own.
 */
import { buildProgram } from '../../src/frontend/program.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import type { Case } from '../ugraph/graphs.js';

/** y = x·w: kernel 1 splits K over 4 workgroups (partial sums stacked by rows), kernel 2 sums the 4 partials. */
export function splitKMatmul(): Case {
  const [m, k, n, splits] = [8, 64, 32, 4];
  const program = buildProgram('split_k', (g) => ({ y: g.matmul(g.input('x', [m, k]), g.input('w', [k, n])) }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [m, k]);
  const w = g.input('w', [k, n]);
  const [partials] = g.customKernel({ grid: splits, forloopRange: 2 }, (b) => {
    const xt = b.input(x, { imap: { x: 1 }, fmap: 1 });
    const wt = b.input(w, { imap: { x: 0 }, fmap: 0 });
    b.output(b.accumSum(b.matmul(xt, wt)), { omap: { x: 0 } });
  });
  const [y] = g.customKernel({ grid: 1, forloopRange: splits }, (b) => {
    b.output(b.accumSum(b.input(partials!, { fmap: 0 })));
  });
  g.output('y', y!);
  return { program, graph: g.build() };
}

/** rmsNorm(x)·w with x normalized in a kernel of its own (one workgroup per row), then a tiled matmul. */
export function normalizeThenMatmul(): Case {
  const [rows, dIn, dOut, eps] = [4, 64, 48, 1e-6];
  const program = buildProgram('norm_then_matmul', (g) => ({ y: g.matmul(g.rmsNorm(g.input('x', [rows, dIn]), { eps }), g.input('w', [dIn, dOut])) }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [rows, dIn]);
  const w = g.input('w', [dIn, dOut]);
  const [normalized] = g.customKernel({ grid: rows }, (b) => {
    const xt = b.input(x, { imap: { x: 0 } });
    const inv = b.rsqrt(b.add(b.scale(b.sum(b.square(xt), -1), 1 / dIn), eps));
    b.output(b.accumSum(b.mul(xt, inv)), { omap: { x: 0 } });
  });
  const [y] = g.customKernel({ grid: [3], forloopRange: 4 }, (b) => {
    const xt = b.input(normalized!, { fmap: 1 });
    const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
    b.output(b.accumSum(b.matmul(xt, wt)), { omap: { x: 1 } });
  });
  g.output('y', y!);
  return { program, graph: g.build() };
}
