/**
 * The pruning check on the six benchmarks: every tensor of every hand-written μGraph (small
 * twins and full shapes at b = 1 and 8) is a subexpression of its program's target, a list of
 * wrong terms is rejected with 'no', every target saturates within 2 s, and an incomplete
 * e-graph answers 'unknown' rather than 'no'.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES, type UGraphCase } from '../../fixtures/ugraphs/index.js';
import { loraCase } from '../../fixtures/ugraphs/lora.js';
import { buildProgram } from '../../src/frontend/program.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import * as unitGraphs from '../ugraph/graphs.js';
import { abstractKernelGraph } from '../../src/search/abstract-ugraph.js';
import { describeValue, opaque, term } from '../../src/search/abstract-value.js';
import { input } from '../../src/search/expr.js';
import { parseExpr } from '../../src/search/expr-parse.js';
import { type SubexpressionAnswer, SubexpressionOracle } from '../../src/search/subexpr.js';

const cases: UGraphCase[] = UGRAPH_FIXTURES.flatMap((f) => [f.small(), f.full(1), f.full(8)]);

/** Every storage tensor and every block tensor of a μGraph with its answer, for the ones that are not 'yes'. */
function notFound(c: UGraphCase, oracle: SubexpressionOracle): string[] {
  const a = abstractKernelGraph(c.graph);
  const misses: string[] = [];
  const check = (where: string, value: Parameters<typeof describeValue>[0]) => {
    const answer = oracle.isSubexpression(value);
    if (answer !== 'yes') misses.push(`${where}: ${answer}: ${describeValue(value)}`);
  };
  a.tensors.forEach((v, id) => check(`%${id}`, v));
  for (const block of a.blocks) block.tensors.forEach((v, id) => check(`kernel ${block.node} t${id}`, v));
  return misses;
}

describe('hand-written μGraphs against their targets', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: every tensor is a subexpression', (_, c) => {
    const oracle = SubexpressionOracle.forProgram(c.program);
    expect(notFound(c, oracle)).toEqual([]);
    // Not vacuous: the graphs have tensors at both levels.
    const a = abstractKernelGraph(c.graph);
    expect(a.blocks.length).toBeGreaterThan(0);
    expect(a.blocks.flatMap((b) => b.tensors).length).toBeGreaterThan(3);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: the target saturates within 2 s', (_, c) => {
    const oracle = SubexpressionOracle.forProgram(c.program);
    const figures = oracle.figures;
    expect(figures.stopReason).toBe('saturated');
    expect(figures.ms).toBeLessThan(2000);
    expect(oracle.complete).toBe(true);
    expect(oracle.saturate()).toBe(oracle.saturate());
  });
});

describe('other μGraphs against their programs', () => {
  const others: UGraphCase[] = [
    ...(['tiledMatmul', 'rmsnormLinear', 'attentionOneKernel', 'attentionSplitKV', 'partialRowSums', 'gatedMlp'] as const)
      .map((name) => ({ name, ...unitGraphs[name]() })),
    loraCase('lora_loop', {
      rows: 4, dIn: 32, dOut: 48, rank: 4, rowTile: 4, columnTile: 16, inner: 8, registerColumns: 16, separateXA: false, subgroupBroadcast: false,
    }),
  ];
  it.each(others.map((c) => [c.name, c] as const))('%s (test/ugraph and LoRA looping over the inner dimension)', (_, c) => {
    expect(notFound(c, SubexpressionOracle.forProgram(c.program))).toEqual([]);
  });

  const programs = [unitGraphs.everyPrimitive(), ...UGRAPH_FIXTURES.map((f) => f.small().program)];
  it.each(programs.map((p) => [p.name, p] as const))('%s: every tensor of the per-operator lowering', (_, program) => {
    const oracle = SubexpressionOracle.forProgram(program);
    expect(oracle.complete).toBe(true);
    expect(notFound({ name: program.name, program, graph: kernelGraphFromProgram(program) }, oracle)).toEqual([]);
  });
});

/** Terms that are not subexpressions of the b = 1 targets (inputs in program order). */
const S = 'sum[64](v0 * v1)';
const E = `exp(${S} + (-1) * max(${S}))`;
const NON_SUBEXPRESSIONS: Record<string, readonly (readonly [string, string])[]> = {
  rmsnorm: [
    ['exp(v0)', 'exp of X'],
    ['v0 + v1', 'X + W'],
    ['v1 * v1', 'W·W'],
    ['sum[6144](v0 * v1)', 'a sum over the output dimension'],
    ['sum[8192](v0 * v1)', 'a sum larger than the reduction'],
    ['sqrt(sum[4096](v0 * v0) + 0.000001)', 'missing 1/n'],
    ['sqrt(sum[4096](v0 * v0) * 0.000244140625 + 0.00001)', 'the wrong eps'],
    ['sum[4096](v0 * v1) / sum[4096](v0 * v0)', 'normalized without sqrt'],
    ['sqrt(sum[2048](v0 * v0) * 0.000244140625 + 0.000001)', 'a partial sum of squares inside sqrt'],
    ['sum[4096](v0 * v1) * sqrt(sum[4096](v0 * v0) * 0.000244140625 + 0.000001)', 'multiplied by the rms instead of divided'],
  ],
  gqa: [
    ['v0 * v2', 'Q·V elementwise'],
    ['sum[64](v0 * v2)', 'Q·V'],
    [`exp(${S})`, 'exp without its stabilizer'],
    [`exp(${S} + (-1) * max(v0))`, 'the stabilizer of the wrong scores'],
    [`sum[4096](${E} * v2) / sum[512](${E})`, 'normalized by a partial sum'],
    [`max(${E})`, 'a max of the probabilities'],
  ],
  qknorm: [
    ['v0 / sqrt(sum[64](v0 * v0) * 0.015625)', 'rmsNorm(Q) without eps'],
    ['v1 / sqrt(sum[64](v1 * v1) * 0.015625 + 0.000001)', 'rmsNorm(K)'],
  ],
  lora: [
    ['v1 + v2 * v3', 'W + A·B without the rank sum'],
    ['exp(sum[256](v0 * v1))', 'exp of X·W'],
    ['sum[256](v0 * v1) * sum[16](v2 * v3)', 'X·W times A·B'],
    ['v0 * v1 + v0 * v2', 'X·W + X·A elementwise'],
  ],
  gated_mlp: [
    ['sum[4096](v0 * v1) * sum[4096](v0 * v2)', 'missing silu'],
    ['silu(sum[4096](v0 * v2))', 'silu of the wrong matmul'],
    ['silu(sum[2048](v0 * v1))', 'silu of a partial sum'],
  ],
  ntrans: [
    ['v0 + v1', 'H + X'],
    ['v1 + v2', 'X + α'],
    ['v1 / sqrt(sum[4096](v1 * v1) * 0.000244140625 + 0.000001)', 'rmsNorm(X)'],
    ['(v1 + v2) * v0', '(X + α)·H'],
    ['exp(v0)', 'exp of H'],
  ],
};

describe('non-subexpressions', () => {
  const all = Object.values(NON_SUBEXPRESSIONS).flat();

  it('the list is long enough', () => {
    expect(all.length).toBeGreaterThanOrEqual(20);
  });

  for (const fixture of UGRAPH_FIXTURES) {
    it(`${fixture.benchmark}: each is rejected with 'no' (b = 1 and 8)`, () => {
      for (const b of [1, 8]) {
        const oracle = SubexpressionOracle.forProgram(fixture.full(b).program);
        const answers = NON_SUBEXPRESSIONS[fixture.benchmark]!.map(([t, why]) => [why, oracle.isSubexpression(parseExpr(t))]);
        expect(answers).toEqual(NON_SUBEXPRESSIONS[fixture.benchmark]!.map(([, why]) => [why, 'no']));
      }
    });
  }

  it('near misses of the rejected terms are found (the list rejects for its reason, not by accident)', () => {
    const yes = (benchmark: string, t: string): SubexpressionAnswer =>
      SubexpressionOracle.forProgram(UGRAPH_FIXTURES.find((f) => f.benchmark === benchmark)!.full(1).program).isSubexpression(parseExpr(t));
    expect(yes('rmsnorm', 'sqrt(sum[4096](v0 * v0) * 0.000244140625 + 0.000001)')).toBe('yes');
    expect(yes('rmsnorm', 'sum[1024](v0 * v1)')).toBe('yes');
    expect(yes('gqa', E)).toBe('yes');
    expect(yes('gqa', `sum[4096](${E} * v2) / sum[4096](${E})`)).toBe('yes');
    expect(yes('qknorm', 'v0 / sqrt(sum[64](v0 * v0) * 0.015625 + 0.000001)')).toBe('yes');
    expect(yes('lora', 'v1 + sum[16](v2 * v3)')).toBe('yes');
    expect(yes('gated_mlp', 'silu(sum[4096](v0 * v1))')).toBe('yes');
    expect(yes('ntrans', 'v1 + v2 * v1')).toBe('yes');
    expect(yes('ntrans', '1 + v2')).toBe('yes');
  });
});

describe("'unknown' never prunes", () => {
  const program = UGRAPH_FIXTURES.find((f) => f.benchmark === 'rmsnorm')!.full(1).program;

  it('a saturation stopped at a limit answers unknown where it would answer no', () => {
    const stopped = SubexpressionOracle.forProgram(program, { limits: { iterationLimit: 0 } });
    expect(stopped.figures.stopReason).toBe('iteration-limit');
    expect(stopped.complete).toBe(false);
    expect(stopped.isSubexpression(parseExpr('exp(v0)'))).toBe('unknown');
    expect(stopped.isSubexpression(parseExpr('sum[1024](v0 * v1)'))).toBe('yes');
  });

  it('a target too large to represent, or opaque, answers unknown', () => {
    const huge = buildProgram('huge', (g) => {
      const xs = Array.from({ length: 13 }, (_, i) => g.add(g.input(`a${i}`, [2]), g.input(`b${i}`, [2])));
      return { y: xs.reduce((p, x) => g.mul(p, x)) };
    });
    const big = SubexpressionOracle.forProgram(huge);
    expect(big.unrepresented.length).toBe(1);
    expect(big.figures.stopReason).toBe('saturated');
    expect(big.isSubexpression(parseExpr('exp(v0)'))).toBe('unknown');
    const partly = new SubexpressionOracle([term(input(0)), opaque('a reshape across a concatenation')]);
    expect(partly.isSubexpression(input(0))).toBe('yes');
    expect(partly.isSubexpression(input(1))).toBe('unknown');
    expect(partly.isSubexpression(opaque('x'))).toBe('unknown');
  });

  it('answers are memoized per term', () => {
    const oracle = SubexpressionOracle.forProgram(program);
    const t = parseExpr('sum[512](v0 * v1)');
    expect(oracle.isSubexpression(t)).toBe('yes');
    const nodes = oracle.egraph.nodeCount;
    expect(oracle.isSubexpression(parseExpr('sum[512](v0 * v1)'))).toBe('yes');
    expect(oracle.egraph.nodeCount).toBe(nodes);
  });
});
