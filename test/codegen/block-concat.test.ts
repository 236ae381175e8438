/** Block-level concat (src/ugraph/block-ops.ts): validation, pretty-printing and the interpreter. */
import { describe, expect, it } from 'vitest';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';

function concatGraph(dim: number, second: number[]) {
  const g = new KernelGraphBuilder();
  const x = g.input('x', [2, 3]);
  const y = g.input('y', second);
  const [out] = g.customKernel({ grid: 1 }, (b) => {
    b.output(b.accumSum(b.concat([b.input(x), b.input(y)], dim)));
  });
  g.output('out', out!);
  return g.build();
}

describe('block-level concat', () => {
  it('joins tiles along a dim (negative dims count from the end) and prints', () => {
    const graph = concatGraph(-1, [2, 2]);
    expect(graph.pretty()).toContain('t2 [2, 5] = concat(t0, t1, dim=1)');
    const { out } = evaluateKernelGraph(graph, { x: [1, 2, 3, 4, 5, 6], y: [7, 8, 9, 10] });
    expect(Array.from(out!)).toEqual([1, 2, 3, 7, 8, 4, 5, 6, 9, 10]);
    expect(Array.from(evaluateKernelGraph(concatGraph(0, [1, 3]), { x: [1, 2, 3, 4, 5, 6], y: [7, 8, 9] }).out!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('rejects mismatched dims and mixed phases', () => {
    expect(() => concatGraph(1, [3, 2])).toThrow(/all dims but 1 must match: \[2, 3\], \[3, 2\]/);
    const g = new KernelGraphBuilder();
    const x = g.input('x', [2, 3]);
    expect(() => g.customKernel({ grid: 1, forloopRange: 1 }, (b) => {
      const t = b.input(x);
      b.concat([t, b.accumSum(t)], 0);
    })).toThrow(/phase violation/);
  });
});
