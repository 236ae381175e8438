/**
 * The vectorized field evaluators against their executable specification: the generic
 * μGraph interpreter run in the field domain (boxed values), element for element, on the
 * small benchmark μGraphs, the ugraph test graphs and the naive lowering of programs.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram, type Program } from '../../src/frontend/program.js';
import { LANE_P, LANE_Q } from '../../src/equivalence/field.js';
import { fieldDomain, type FieldElement } from '../../src/equivalence/field-domain.js';
import { opaqueKeys } from '../../src/equivalence/keyed-hash.js';
import { analyzeKernelGraph } from '../../src/equivalence/lanes.js';
import type { FieldTensor } from '../../src/equivalence/op-eval.js';
import { evaluateProgram, fieldProgramOf } from '../../src/equivalence/program-eval.js';
import { analyzePair, drawInputs } from '../../src/equivalence/seed-check.js';
import { evaluateKernelGraphInField } from '../../src/equivalence/ugraph-eval.js';
import { runKernelGraph } from '../../src/ugraph/interpreter.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { attentionOneKernel, attentionSplitKV, everyPrimitive, gatedMlp, partialRowSums, rmsnormLinear, tiledMatmul } from '../ugraph/graphs.js';
import { normalizeThenMatmul, splitKMatmul } from './rewrites.js';

const SEED = 12345;

function genericOutputs(graph: KernelGraph, inputs: readonly FieldTensor[]): FieldElement[][] {
  const named = Object.fromEntries(graph.inputs.map((spec, i) => [spec.name, Array.from(inputs[i]!.p!, (p, j) => ({ p, q: inputs[i]!.q![j]! }))]));
  const outputs = runKernelGraph(graph, fieldDomain(SEED), named);
  return graph.outputs.map((o) => outputs[o.name]!);
}

function expectSame(fast: readonly FieldTensor[], generic: readonly FieldElement[][], what: string): void {
  fast.forEach((t, o) => {
    const expected = generic[o]!.map((e) => e.p);
    expect(Array.from(t.p!), `${what}, output ${o}`).toEqual(expected);
  });
}

function crossCheck(program: Program, graph: KernelGraph, what: string): void {
  const fieldProgram = fieldProgramOf(program);
  const inputs = drawInputs(fieldProgram, fieldProgram.inputs.map(() => LANE_P | LANE_Q), SEED);
  const ctx = { keys: opaqueKeys(SEED), checkDenominators: false };
  expectSame(evaluateKernelGraphInField(graph, analyzeKernelGraph(graph), inputs, ctx), genericOutputs(graph, inputs), `${what} (μGraph)`);
  const pair = analyzePair(fieldProgram, graph);
  const naive = kernelGraphFromProgram(program);
  expectSame(evaluateProgram(fieldProgram, pair.program, inputs, ctx), genericOutputs(naive, inputs), `${what} (program)`);
}

describe('the vectorized field evaluators equal the generic interpreter in the field domain', () => {
  for (const fixture of UGRAPH_FIXTURES) {
    it(`${fixture.benchmark} (small)`, () => {
      const { program, graph } = fixture.small();
      crossCheck(program, graph, fixture.benchmark);
    });
  }

  it('the ugraph test graphs and the rewrites', () => {
    for (const [name, make] of Object.entries({ tiledMatmul, rmsnormLinear, attentionOneKernel, attentionSplitKV, partialRowSums, gatedMlp, splitKMatmul, normalizeThenMatmul })) {
      const { program, graph } = make();
      crossCheck(program, graph, name);
    }
  });

  it('every primitive of the DSL, through the naive lowering', () => {
    const program = buildProgram('every_primitive_field', (g) => {
      const a = g.input('a', [2, 3, 4]);
      const b = g.input('b', [2, 4, 5]);
      const c = g.input('c', [5]);
      const m = g.matmul(a, b);
      const shifted = g.add(g.mul(g.sub(m, c), 0.5), g.div(c, 2));
      const positive = g.add(g.square(shifted), 1);
      const mixed = g.add(g.add(g.sqrt(positive), g.rsqrt(positive)), g.add(g.silu(shifted), g.gelu(shifted)));
      const act = g.add(g.relu(mixed), g.exp(g.scale(shifted, 0.25)));
      const t = g.reshape(g.transpose(act), [10, 3]);
      return {
        joined: g.concat([t, g.reshape(g.transpose(act, [1, 0, 2]), [10, 3])], 0),
        sums: g.sum(act, 1),
        maxes: g.max(act, -1, { keepdim: true }),
        means: g.mean(act, 0),
        normed: g.rmsNorm(act, { weight: c }),
        probs: g.softmax(mixed, 1),
      };
    });
    crossCheck(program, kernelGraphFromProgram(program), 'every primitive');
  });

  it('an exp of a value computed from an exp is found before evaluation, as the generic domain finds it', () => {
    const program = everyPrimitive(); // softmax of relu(...) + exp(...)
    const fieldProgram = fieldProgramOf(program);
    const naive = kernelGraphFromProgram(program);
    const pair = analyzePair(fieldProgram, naive);
    expect(pair.program.unverifiable).toMatch(/nested exp/);
    expect(pair.graph.unverifiable).toMatch(/nested exp/);
    const inputs = drawInputs(fieldProgram, fieldProgram.inputs.map(() => LANE_P | LANE_Q), SEED);
    expect(() => genericOutputs(naive, inputs)).toThrow(/derived from an exp/);
  });
});
