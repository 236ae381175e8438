/**
 * Hand-written μGraphs and the tensor programs they implement, shared by the ugraph
 * tests. Shapes are small so the literal interpreter runs in milliseconds.
 */
import { buildProgram, type Program } from '../../src/frontend/program.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';

export interface Case {
  readonly program: Program;
  readonly graph: KernelGraph;
}

/** y = x·w as one custom kernel: grid over N (x) and M (y), loop over K. */
export function tiledMatmul(): Case {
  const program = buildProgram('matmul', (g) => ({ y: g.matmul(g.input('x', [8, 32]), g.input('w', [32, 24])) }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [8, 32]);
  const w = g.input('w', [32, 24]);
  const [y] = g.customKernel({ grid: [3, 2], forloopRange: 4 }, (b) => {
    const xt = b.input(x, { imap: { y: 0 }, fmap: 1 });
    const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
    b.output(b.accumSum(b.matmul(xt, wt)), { omap: { x: 1, y: 0 } });
  });
  g.output('y', y!);
  return { program, graph: g.build() };
}

/**
 * Mirage's RMSNorm+Linear: X loaded once per tile of W, the sum of squares accumulated
 * beside the matmul, the normalization moved after it (into the epilogue).
 */
export function rmsnormLinear(): Case {
  const [rows, dIn, dOut, eps] = [4, 64, 48, 1e-6];
  const program = buildProgram('rmsnorm_linear', (g) => ({
    y: g.matmul(g.rmsNorm(g.input('x', [rows, dIn]), { eps }), g.input('w', [dIn, dOut])),
  }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [rows, dIn]);
  const w = g.input('w', [dIn, dOut]);
  const [y] = g.customKernel({ grid: [6], forloopRange: 8 }, (b) => {
    const xt = b.input(x, { fmap: 1 });
    const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
    const xw = b.accumSum(b.matmul(xt, wt));
    const sumSquares = b.accumSumLastDim(b.square(xt));
    const rms = b.sqrt(b.add(b.scale(sumSquares, 1 / dIn), eps));
    b.output(b.div(xw, rms), { omap: { x: 1 } });
  });
  g.output('y', y!);
  return { program, graph: g.build() };
}

const [BATCH, ROWS, HEAD, KV] = [2, 8, 16, 32];

function attentionProgram(): Program {
  return buildProgram('attention', (g) => {
    const q = g.input('q', [BATCH, ROWS, HEAD]);
    const k = g.input('k', [BATCH, HEAD, KV]);
    const v = g.input('v', [BATCH, KV, HEAD]);
    return { o: g.matmul(g.softmax(g.matmul(q, k), -1), v) };
  });
}

/** softmax(Q·K)·V in one kernel: grid over batch and query rows, loop over the KV length, online softmax. */
export function attentionOneKernel(): Case {
  const g = new KernelGraphBuilder();
  const q = g.input('q', [BATCH, ROWS, HEAD]);
  const k = g.input('k', [BATCH, HEAD, KV]);
  const v = g.input('v', [BATCH, KV, HEAD]);
  const [o] = g.customKernel({ grid: [BATCH, 2], forloopRange: 4 }, (b) => {
    const qt = b.input(q, { imap: { x: 0, y: 1 } });
    const kt = b.input(k, { imap: { x: 0 }, fmap: 2 });
    const vt = b.input(v, { imap: { x: 0 }, fmap: 1 });
    const scores = b.matmul(qt, kt);
    const localMax = b.max(scores, -1);
    const p = b.exp(b.sub(scores, localMax));
    const runningMax = b.accumMaxRescale(localMax);
    const denominator = b.accumSumLastDim(p, { rescaleBy: runningMax });
    const numerator = b.accumSum(b.matmul(p, vt), { rescaleBy: runningMax });
    b.output(b.div(numerator, denominator), { omap: { x: 0, y: 1 } });
  });
  g.output('o', o!);
  return { program: attentionProgram(), graph: g.build() };
}

/**
 * Split-KV (FlashDecoding) attention: kernel 1 runs a grid over batch and KV splits and
 * saves each split's (output, max, sum) concatenated along the last dim; kernel 2 loops
 * over the splits and merges them with the same maxRescale accumulators.
 */
export function attentionSplitKV(splits = 2): Case {
  const g = new KernelGraphBuilder();
  const q = g.input('q', [BATCH, ROWS, HEAD]);
  const k = g.input('k', [BATCH, HEAD, KV]);
  const v = g.input('v', [BATCH, KV, HEAD]);
  const [partialOut, partialMax, partialSum] = g.customKernel({ grid: [BATCH, splits], forloopRange: 2 }, (b) => {
    const qt = b.input(q, { imap: { x: 0 } });
    const kt = b.input(k, { imap: { x: 0, y: 2 }, fmap: 2 });
    const vt = b.input(v, { imap: { x: 0, y: 1 }, fmap: 1 });
    const scores = b.matmul(qt, kt);
    const localMax = b.max(scores, -1);
    const p = b.exp(b.sub(scores, localMax));
    const runningMax = b.accumMaxRescale(localMax);
    const sum = b.accumSumLastDim(p, { rescaleBy: runningMax });
    const out = b.accumSum(b.matmul(p, vt), { rescaleBy: runningMax });
    for (const t of [out, runningMax, sum]) b.output(t, { omap: { x: 0, y: 2 } });
  });
  const [o] = g.customKernel({ grid: [BATCH], forloopRange: splits }, (b) => {
    const outs = b.input(partialOut!, { imap: { x: 0 }, fmap: 2 });
    const maxes = b.input(partialMax!, { imap: { x: 0 }, fmap: 2 });
    const sums = b.input(partialSum!, { imap: { x: 0 }, fmap: 2 });
    const globalMax = b.accumMaxRescale(maxes);
    const numerator = b.accumSum(outs, { rescaleBy: globalMax });
    const denominator = b.accumSum(sums, { rescaleBy: globalMax });
    b.output(b.div(numerator, denominator), { omap: { x: 0 } });
  });
  g.output('o', o!);
  return { program: attentionProgram(), graph: g.build() };
}

/** A program using every operator of the DSL (composites included), for the naive lowering. */
export function everyPrimitive(): Program {
  return buildProgram('every_primitive', (g) => {
    const a = g.input('a', [2, 3, 4]);
    const b = g.input('b', [2, 4, 5]);
    const c = g.input('c', [5]);
    const m = g.matmul(a, b);
    const shifted = g.add(g.mul(g.sub(m, c), 0.5), g.div(c, 2));
    const positive = g.add(g.square(shifted), 1);
    const mixed = g.add(g.add(g.sqrt(positive), g.rsqrt(positive)), g.add(g.silu(shifted), g.gelu(shifted)));
    const act = g.add(g.relu(mixed), g.exp(g.scale(shifted, 0.25)));
    const t = g.reshape(g.transpose(act), [10, 3]);
    const joined = g.concat([t, g.reshape(g.transpose(act, [1, 0, 2]), [10, 3])], 0);
    return {
      joined,
      sums: g.sum(act, 1),
      maxes: g.max(act, -1, { keepdim: true }),
      means: g.mean(act, 0),
      normed: g.rmsNorm(act, { weight: c }),
      probs: g.softmax(act, 1),
    };
  });
}

/** Partial row sums: the grid splits the columns, the loop walks inside each workgroup's half. */
export function partialRowSums(): Case {
  const program = buildProgram('partial_row_sums', (g) => ({ s: g.sum(g.reshape(g.input('x', [4, 64]), [4, 2, 32]), 2) }));
  const g = new KernelGraphBuilder();
  const x = g.input('x', [4, 64]);
  const [s] = g.customKernel({ grid: 2, forloopRange: 4 }, (b) => {
    b.output(b.accumSumLastDim(b.input(x, { imap: { x: 1 }, fmap: 1 })), { omap: { x: 1 } });
  });
  g.output('s', s!);
  return { program, graph: g.build() };
}

/** Gated MLP: both matmuls in one kernel, silu and the product in the epilogue. */
export function gatedMlp(): Case {
  const program = buildProgram('gated_mlp', (g) => {
    const x = g.input('x', [4, 32]);
    return { y: g.mul(g.silu(g.matmul(x, g.input('w1', [32, 16]))), g.matmul(x, g.input('w2', [32, 16]))) };
  });
  const g = new KernelGraphBuilder();
  const x = g.input('x', [4, 32]);
  const w1 = g.input('w1', [32, 16]);
  const w2 = g.input('w2', [32, 16]);
  const [y] = g.customKernel({ grid: 4, forloopRange: 4, thread: { invocations: 64, registerTile: [1, 4], vectorWidth: 4 } }, (b) => {
    const xt = b.input(x, { fmap: 1 });
    const w1t = b.input(w1, { imap: { x: 1 }, fmap: 0 });
    const w2t = b.input(w2, { imap: { x: 1 }, fmap: 0 });
    const gate = b.accumSum(b.matmul(xt, w1t));
    const up = b.accumSum(b.matmul(xt, w2t));
    b.output(b.mul(b.silu(gate), up), { omap: { x: 1 } });
  });
  g.output('y', y!);
  return { program, graph: g.build() };
}
