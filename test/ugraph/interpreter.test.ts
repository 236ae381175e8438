import { describe, expect, it } from 'vitest';
import type { Program } from '../../src/frontend/program.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { evaluateKernelGraph, runKernelGraph } from '../../src/ugraph/interpreter.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { float64Domain, type NumberDomain } from '../../src/ugraph/domain.js';
import { attentionOneKernel, attentionSplitKV, everyPrimitive, gatedMlp, partialRowSums, rmsnormLinear, tiledMatmul } from './graphs.js';
import { relativeMaxError } from '../helpers/relative-error.js';


function expectMatchesReference(program: Program, graph: KernelGraph, seeds = [1, 2, 3]): void {
  for (const seed of seeds) {
    const inputs = randomInputs(program, seed);
    const expected = evaluateReference(program, inputs);
    const actual = evaluateKernelGraph(graph, inputs);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const name of Object.keys(expected)) {
      expect(actual[name]!.every(Number.isFinite), `${name} finite`).toBe(true);
      expect(relativeMaxError(actual[name]!, expected[name]!), `${name}, seed ${seed}`).toBeLessThan(1e-9);
    }
  }
}

describe('the μGraph interpreter equals the float64 reference', () => {
  it('(a) tiled matmul: grid over N and M, loop over K', () => {
    const { program, graph } = tiledMatmul();
    expectMatchesReference(program, graph);
  });

  it('(b) RMSNorm+Linear in one kernel, normalization after the matmul', () => {
    const { program, graph } = rmsnormLinear();
    expectMatchesReference(program, graph);
  });

  it('(c) attention in one kernel with online softmax over the KV loop', () => {
    const { program, graph } = attentionOneKernel();
    expectMatchesReference(program, graph);
  });

  it('(c) split-KV attention: partial (out, max, sum) kernel + combine kernel', () => {
    for (const splits of [2, 4]) {
      const { program, graph } = attentionSplitKV(splits);
      expectMatchesReference(program, graph);
    }
  });

  it('a dimension split by the grid and walked by the loop: grid first, loop inside', () => {
    const { program, graph } = partialRowSums();
    expectMatchesReference(program, graph);
  });

  it('gated MLP: two matmul accumulators, silu and product in the epilogue', () => {
    const { program, graph } = gatedMlp();
    expectMatchesReference(program, graph);
  });

  it('online softmax is stable where exp overflows without max subtraction', () => {
    const { program, graph } = attentionOneKernel();
    const inputs = randomInputs(program, 7);
    const q = inputs.q!.map((v) => v * 60); // Q·K entries in the hundreds: exp would overflow float64 at ~709
    const big = { ...inputs, q };
    const expected = evaluateReference(program, big).o!;
    const actual = evaluateKernelGraph(graph, big).o!;
    expect(actual.every(Number.isFinite)).toBe(true);
    expect(relativeMaxError(actual, expected)).toBeLessThan(1e-9);
  });

  it('(d) the naive lowering of a program using every operator', () => {
    const program = everyPrimitive();
    const graph = kernelGraphFromProgram(program);
    expect(graph.nodes.every((n) => n.op !== 'custom')).toBe(true);
    const kinds = new Set(graph.nodes.map((n) => (n.op === 'unary' || n.op === 'binary' || n.op === 'reduce' ? `${n.op}:${n.fn}` : n.op)));
    for (const kind of ['matmul', 'constant', 'scale', 'reshape', 'transpose', 'concat', 'reduce:sum', 'reduce:max',
      'unary:exp', 'unary:square', 'unary:sqrt', 'unary:rsqrt', 'unary:silu', 'unary:gelu', 'unary:relu',
      'binary:add', 'binary:sub', 'binary:mul', 'binary:div']) {
      expect(kinds.has(kind), kind).toBe(true);
    }
    expectMatchesReference(program, graph);
  });

  it('runs in any number domain (a domain that counts operations sees the literal schedule)', () => {
    const { program, graph } = tiledMatmul();
    let multiplies = 0;
    const counting: NumberDomain<number> = { ...float64Domain, mul: (a, b) => { multiplies++; return a * b; } };
    const inputs = randomInputs(program, 1);
    runKernelGraph(graph, counting, inputs);
    expect(multiplies).toBe(8 * 32 * 24); // every product of the matmul once, no more
  });

  it('reports missing and mis-sized inputs', () => {
    const { graph } = tiledMatmul();
    expect(() => evaluateKernelGraph(graph, { x: new Float32Array(256) })).toThrow(/missing input "w"/);
    expect(() => evaluateKernelGraph(graph, { x: new Float32Array(3), w: new Float32Array(768) })).toThrow(/"x" has 3 elements/);
  });
});
