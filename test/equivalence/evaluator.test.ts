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
import { analyzeKernelGraph, analyzeProgram } from '../../src/equivalence/lanes.js';
import { forEachDemanded } from '../../src/equivalence/demand.js';
import { evaluateProgramAt, sampledValue } from '../../src/equivalence/program-demand.js';
import type { FieldTensor } from '../../src/equivalence/op-eval.js';
import { evaluateProgram, fieldProgramOf, planSlices, SLICE_BUDGET, withoutSoftmaxMaxima } from '../../src/equivalence/program-eval.js';
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

  it("the program side leaves a softmax's max out only where nothing else reads it", () => {
    const rewritten = (program: Program) => {
      const field = fieldProgramOf(program);
      const analysis = analyzeProgram(field.nodes, field.outputs.map((o) => o.node));
      const without = withoutSoftmaxMaxima(field, analysis);
      return without.analysis.need.filter((n, i) => n === 0 && analysis.need[i] !== 0).length;
    };
    for (const benchmark of ['gqa', 'qknorm']) expect(rewritten(UGRAPH_FIXTURES.find((f) => f.benchmark === benchmark)!.small().program)).toBe(2);
    const maxAlsoOut = buildProgram('max_also_out', (g) => {
      const x = g.input('x', [4, 8]);
      return { p: g.softmax(x, -1), m: g.max(g.softmax(x, 0), 0) };
    });
    expect(rewritten(maxAlsoOut)).toBe(4); // both softmaxes: their maxes are their own
    const shared = buildProgram('shared_e', (g) => {
      const x = g.input('x', [4, 8]);
      const e = g.exp(g.sub(x, g.max(x, -1, { keepdim: true })));
      return { p: g.div(e, g.sum(e, -1, { keepdim: true })), e };
    });
    expect(rewritten(shared)).toBe(0); // e is an output: its max matters
    crossCheck(shared, kernelGraphFromProgram(shared), 'shared e');
    crossCheck(maxAlsoOut, kernelGraphFromProgram(maxAlsoOut), 'two softmaxes');
  });

  it('a program evaluated only where sampled outputs need it (screening) equals it evaluated whole there', () => {
    const primitives = buildProgram('every_primitive_sampled', (g) => {
      const a = g.input('a', [2, 3, 4]);
      const b = g.input('b', [2, 4, 5]);
      const c = g.input('c', [5]);
      const m = g.matmul(a, b);
      const shifted = g.add(g.mul(g.sub(m, c), 0.5), g.div(c, 2));
      const positive = g.add(g.square(shifted), 1);
      const mixed = g.add(g.add(g.sqrt(positive), g.rsqrt(positive)), g.add(g.silu(shifted), g.gelu(shifted)));
      const t = g.reshape(g.transpose(g.relu(mixed)), [10, 3]);
      return {
        joined: g.concat([t, g.reshape(g.transpose(mixed, [1, 0, 2]), [10, 3])], 0),
        maxes: g.max(mixed, -1, { keepdim: true }),
        means: g.mean(mixed, 0),
        normed: g.rmsNorm(mixed, { weight: c }),
        probs: g.softmax(mixed, 1),
        flipped: g.transpose(g.softmax(g.scale(shifted, 0.25), 2), [2, 0, 1]),
      };
    });
    const full = ['gqa', 'gated_mlp'].map((b) => UGRAPH_FIXTURES.find((f) => f.benchmark === b)!.full(1).program);
    const programs = [primitives, ...UGRAPH_FIXTURES.map((f) => f.small().program), ...full];
    for (const program of programs) {
      const field = fieldProgramOf(program);
      const analysis = analyzeProgram(field.nodes, field.outputs.map((o) => o.node));
      expect(analysis.unverifiable).toBeUndefined();
      const ctx = { keys: opaqueKeys(SEED), checkDenominators: false };
      const whole = evaluateProgram(field, analysis, drawInputs(field, field.inputs.map(() => LANE_P | LANE_Q), SEED), ctx);
      for (const perDim of [1, 2, 3]) {
        const samples = field.outputs.map((o, i) => o.shape.map((size, d) => new Set(Array.from({ length: Math.min(perDim, size) }, (_, j) => (j * 7 + i + d) % size))));
        const sampled = evaluateProgramAt(field, analysis, samples, SEED, ctx);
        field.outputs.forEach((o, i) => {
          forEachDemanded(o.shape, samples[i]!, (flat) => {
            const index = o.shape.map((_, d) => Math.floor(flat / o.shape.slice(d + 1).reduce((x, y) => x * y, 1)) % o.shape[d]!);
            if (sampledValue(sampled[i]!, index) !== whole[i]!.p![flat]) expect([program.name, o.name, index]).toBe('equal');
          });
        });
      }
    }
  });

  it('a program evaluated in blocks along dim 0 equals it evaluated whole', () => {
    const sliceable = buildProgram('sliceable', (g) => {
      const a = g.input('a', [96, 3, 4]);
      const b = g.input('b', [96, 4, 5]);
      const w = g.input('w', [5, 5]);
      const c = g.input('c', [5]);
      const x = g.input('x', [96, 5]);
      const scores = g.add(g.matmul(a, b), c); // batched matmul, broadcast of a lower-rank operand
      const probs = g.softmax(g.rmsNorm(scores), -1);
      const flat = g.reshape(g.transpose(probs, [0, 2, 1]), [96, 15]);
      const rows = g.concat([flat, g.matmul(x, w)], 1); // rank 2: x by blocks (at least 64 rows), w whole
      return { rows, sums: g.sum(probs, 1), shared: g.mul(g.sum(x, 0), 2) };
    });
    let sliced = 0;
    const sliceableField = fieldProgramOf(sliceable);
    expect(planSlices(sliceableField, analyzeProgram(sliceableField.nodes, sliceableField.outputs.map((o) => o.node)), 1)?.block).toBe(64);
    const attention = ['gqa', 'qknorm'].map((b) => UGRAPH_FIXTURES.find((f) => f.benchmark === b)!.full(1).program);
    const programs = [sliceable, ...UGRAPH_FIXTURES.map((f) => f.small().program), ...attention];
    for (const program of programs) {
      const fieldProgram = fieldProgramOf(program);
      const analysis = analyzeProgram(fieldProgram.nodes, fieldProgram.outputs.map((o) => o.node));
      const inputs = drawInputs(fieldProgram, fieldProgram.inputs.map(() => LANE_P | LANE_Q), SEED);
      const ctx = { keys: opaqueKeys(SEED), checkDenominators: false };
      const whole = evaluateProgram(fieldProgram, analysis, inputs, ctx, { sliceBudget: Infinity });
      for (const budget of [1, 1 << 12, SLICE_BUDGET]) {
        if (planSlices(fieldProgram, analysis, budget) === undefined) continue;
        sliced++;
        const blocks = evaluateProgram(fieldProgram, analysis, inputs, ctx, { sliceBudget: budget });
        blocks.forEach((t, o) => expect(t.p!.every((v, i) => v === whole[o]!.p![i]), `${program.name}, budget ${budget}, output ${o}`).toBe(true));
      }
    }
    expect(sliced).toBeGreaterThan(10);
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
