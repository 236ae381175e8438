/** Abstract values of programs and of every μGraph tensor: the mapping of each operator, accumulator and saver. */
import { describe, expect, it } from 'vitest';
import { loraCase } from '../../fixtures/ugraphs/lora.js';
import { buildProgram } from '../../src/frontend/program.js';
import { abstractProgram } from '../../src/search/abstract-program.js';
import { abstractKernelGraph } from '../../src/search/abstract-ugraph.js';
import { type AbstractValue, concatValues, describeValue, map2, matmulValue, reduceSum, term } from '../../src/search/abstract-value.js';
import { input } from '../../src/search/expr.js';
import { parseExpr } from '../../src/search/expr-parse.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';

const termOf = (v: AbstractValue) => {
  expect(v.kind, describeValue(v)).toBe('term');
  return (v as { expr: unknown }).expr;
};

describe('abstract expressions of programs', () => {
  it('expand rmsNorm and the matmul: x·rsqrt(mean(x²) + eps) · W', () => {
    const program = buildProgram('p', (g) => ({ y: g.matmul(g.rmsNorm(g.input('x', [2, 64]), { eps: 1e-6 }), g.input('w', [64, 8])) }));
    const [y] = abstractProgram(program).outputs;
    expect(termOf(y!)).toBe(parseExpr('sum[64](v0 * inv(sqrt(sum[64](v0 * v0) * 0.015625 + 0.000001)) * v1)'));
  });

  it('expand softmax with its max stabilizer, and map sub, div, scale, square, transpose and reshape', () => {
    const program = buildProgram('p', (g) => {
      const q = g.input('q', [4, 8]);
      const k = g.input('k', [16, 8]);
      const s = g.matmul(q, g.transpose(k));
      return {
        p: g.softmax(s),
        t: g.reshape(g.div(g.sub(g.square(q), 1), g.scale(q, 3)), [32]),
        m: g.mean(q, 1),
      };
    });
    const [p, t, m] = abstractProgram(program).outputs;
    const e = 'exp(sum[8](v0 * v1) + (-1) * max(sum[8](v0 * v1)))';
    expect(termOf(p!)).toBe(parseExpr(`${e} / sum[16](${e})`));
    expect(termOf(t!)).toBe(parseExpr('(v0 * v0 + (-1) * 1) / (v0 * 3)'));
    expect(termOf(m!)).toBe(parseExpr('sum[8](v0) * 0.125'));
  });

  it('keep concatenations piecewise, through transposes and the reductions along them', () => {
    const program = buildProgram('p', (g) => {
      const a = g.input('a', [4, 3]);
      const b = g.input('b', [4, 5]);
      const c = g.concat([a, g.exp(b)], 1);
      return { c, t: g.transpose(c), s: g.sum(c, 1), r: g.sum(c, 0), q: g.reshape(c, [32]) };
    });
    const [c, t, s, r, q] = abstractProgram(program).outputs;
    expect(describeValue(c!)).toBe('pieces along axis -1: [3] v0 ‖ [5] exp(v1)');
    expect(describeValue(t!)).toBe('pieces along axis -2: [3] v0 ‖ [5] exp(v1)');
    expect(termOf(s!)).toBe(parseExpr('sum[3](v0) + sum[5](exp(v1))'));
    expect(describeValue(r!)).toBe('pieces along axis -1: [3] sum[4](v0) ‖ [5] sum[4](exp(v1))');
    expect(q!.kind).toBe('opaque');
  });
});

describe('abstract values of μGraph tensors', () => {
  it('tiles inherit their tensor, matmul sums over the tile, accumulators over the loop', () => {
    const g = new KernelGraphBuilder();
    const x = g.input('x', [4, 64]);
    const w = g.input('w', [64, 32]);
    const [y, ss] = g.customKernel({ grid: [2], forloopRange: 4 }, (b) => {
      const xt = b.input(x, { fmap: 1 });
      const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
      b.output(b.accumSum(b.matmul(xt, wt)), { omap: { x: 1 } });
      b.output(b.accumSumLastDim(b.square(xt)), { omap: { x: 1 } });
    });
    const [sq] = [g.sqrt(ss!)];
    g.output('y', y!);
    g.output('s', sq!);
    const a = abstractKernelGraph(g.build());
    const block = a.blocks[0]!.tensors.map(describeValue);
    expect(block).toEqual(['v0', 'v1', 'sum[16](v0 * v1)', 'sum[64](v0 * v1)', 'v0 * v0', 'sum[64](v0 * v0)']);
    expect(a.outputs.map(describeValue)).toEqual(['sum[64](v0 * v1)', 'sqrt(sum[64](v0 * v0))']);
    expect(a.tensors.map(describeValue)).toEqual(['v0', 'v1', 'sum[64](v0 * v1)', 'sum[64](v0 * v0)', 'sqrt(sum[64](v0 * v0))']);
  });

  it('online softmax: the rescale by exp(m - M) cancels when m is the running max stabilizer, and stays otherwise', () => {
    const g = new KernelGraphBuilder();
    const s = g.input('s', [4, 64]);
    const v = g.input('v', [64, 8]);
    const outs = g.customKernel({ grid: [1], forloopRange: 4 }, (b) => {
      const st = b.input(s, { fmap: 1 });
      const vt = b.input(v, { fmap: 0 });
      const local = b.max(st, -1);
      const p = b.exp(b.sub(st, local));
      const running = b.accumMaxRescale(local);
      const odd = b.accumMaxRescale(b.exp(st));
      b.output(b.div(b.accumSum(b.matmul(p, vt), { rescaleBy: running }), b.accumSumLastDim(p, { rescaleBy: running })), {});
      b.output(running, {});
      b.output(b.accumSum(p, { rescaleBy: odd }), {});
    });
    outs.forEach((o, i) => g.output(`o${i}`, o));
    const [o, m, weighted] = abstractKernelGraph(g.build()).outputs;
    const e = 'exp(v0 + (-1) * max(v0))';
    expect(termOf(o!)).toBe(parseExpr(`sum[64](${e} * v1) / sum[64](${e})`));
    expect(termOf(m!)).toBe(parseExpr('max(v0)'));
    expect(termOf(weighted!)).toBe(parseExpr(`sum[4](${e} * exp(exp(v0) + (-1) * max(exp(v0))))`));
  });

  it("LoRA's (X ‖ XA)·(W ‖ B): a matmul over a concatenated inner dimension is a sum of per-piece sums", () => {
    const shape = { rows: 4, dIn: 32, dOut: 48, rank: 4, rowTile: 4, columnTile: 16, inner: 8, registerColumns: 16, subgroupBroadcast: false };
    for (const separateXA of [true, false]) {
      const { graph } = loraCase('lora', { ...shape, separateXA });
      const [o] = abstractKernelGraph(graph).outputs;
      const expected = separateXA ? 'sum[32](v0 * v1) + sum[4](sum[32](v0 * v2) * v3)' : 'sum[4](sum[8](v0 * v1) + sum[4](sum[8](v0 * v2) * v3))';
      expect(termOf(o!), `separateXA ${separateXA}`).toBe(parseExpr(expected));
    }
  });

  it('a tile cut across a concatenation is opaque; an uncut one keeps its pieces, and savers repeat them', () => {
    const g = new KernelGraphBuilder();
    const a = g.input('a', [4, 8]);
    const b = g.input('b', [4, 8]);
    const c = g.concat([a, b], 1);
    const [cut] = g.customKernel({ grid: [2] }, (k) => k.output(k.accumSum(k.exp(k.input(c, { imap: { x: 1 } }))), { omap: { x: 1 } }));
    const [kept] = g.customKernel({ grid: [2] }, (k) => k.output(k.accumSum(k.exp(k.input(c, { imap: { x: 0 } }))), { omap: { x: 1 } }));
    g.output('cut', cut!);
    g.output('kept', kept!);
    const [opaque, pieces] = abstractKernelGraph(g.build()).outputs;
    expect(opaque!.kind).toBe('opaque');
    expect(describeValue(pieces!)).toBe('pieces along axis -1: [8] exp(v0) ‖ [8] exp(v1) ‖ [8] exp(v0) ‖ [8] exp(v1)');
  });

  it('aligns pieces of different cuts and contracts them', () => {
    const x = input(0);
    const y = input(1);
    const left = concatValues([term(x), term(y)], [2, 6], 0);
    const right = concatValues([term(y), term(x), term(y)], [4, 2, 2], 0);
    expect(describeValue(map2(left, right, (p, q) => parseExpr(`${p.pretty()} * ${q.pretty()}`))))
      .toBe('pieces along axis -1: [2] v0 * v1 ‖ [2] v1 * v1 ‖ [2] v1 * v0 ‖ [2] v1 * v1');
    expect(describeValue(reduceSum(left, 0, 8, false))).toBe('sum[2](v0) + sum[6](v1)');
    const column = concatValues([term(x), term(y)], [2, 6], 1);
    expect(describeValue(matmulValue(left, column, 8))).toBe('sum[2](v0 * v0) + sum[6](v1 * v1)');
    expect(matmulValue(concatValues([term(x), term(y)], [2, 2], 1), concatValues([term(x), term(y)], [2, 2], 0), 4).kind).toBe('opaque');
  });
});
