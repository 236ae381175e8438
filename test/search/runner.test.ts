/** Rules and the runner: each rule's effect, saturation, the limits and their stop reasons, the report. */
import { describe, expect, it } from 'vitest';
import { EGraph, KIND } from '../../src/search/egraph.js';
import { parseExpr } from '../../src/search/expr-parse.js';
import { patternNode, patternVar } from '../../src/search/pattern.js';
import { atomRules, dynamicRule, type Rule, targetRules } from '../../src/search/rules.js';
import { runRules } from '../../src/search/runner.js';

const term = parseExpr;

function saturated(targets: string[], rules: Rule[] = targetRules()): EGraph {
  const g = new EGraph();
  for (const t of targets) g.addExpr(term(t));
  expect(runRules(g, rules).stopReason).toBe('saturated');
  return g;
}

/** Not an equation: every exp(a) gets a new exp(exp(a)) beside it, so each iteration adds a node per chain, forever. */
const grow = dynamicRule('grow', patternNode('exp', [patternVar('a')]), 'adds (exp (exp ?a))', (g, m) => void g.unary(KIND.exp, m.root));

describe('rules', () => {
  it('has the documented names', () => {
    expect(atomRules().map((r) => r.name)).toEqual(['inv-mul', 'inv-mul-rev', 'inv-inv', 'sqrt-inv', 'sqrt-inv-rev', 'max-idempotent']);
    expect(atomRules().find((r) => r.name === 'inv-inv')!.description).toBe('(inv (inv ?a)) => ?a');
  });

  it('inv-mul and inv-mul-rev relate 1/(a·b) and 1/a·1/b, both ways', () => {
    const expanded = saturated(['v2 * inv(v0) * inv(v1)']);
    expect(expanded.lookupExpr(term('v2 / (v0 * v1)'))).toBeDefined();
    const together = saturated(['v2 / (v0 * v1)']);
    expect(together.lookupExpr(term('v2 * inv(v0) * inv(v1)'))).toBe(together.lookupExpr(term('v2 / (v0 * v1)')));
    // A multiplicity becomes a constant: 1/(2·a) = 0.5 · 1/a.
    const twice = saturated(['inv(v0 + v0)']);
    expect(twice.lookupExpr(term('inv(v0) * 0.5'))).toBe(twice.lookupExpr(term('inv(v0 + v0)')));
    // A sum is no product: 1/Σa stays an atom.
    const summed = saturated(['inv(sum[4](v0 * v1))']);
    expect(summed.lookupExpr(term('inv(sum[4](v0)) * inv(v1)'))).toBeUndefined();
  });

  it('inv-inv, sqrt-inv and max-idempotent', () => {
    const g = saturated(['v1 * inv(inv(v0))', 'inv(sqrt(v2))', 'exp(max(max(v3)))']);
    expect(g.lookupExpr(term('v1 * v0'))).toBe(g.lookupExpr(term('v1 * inv(inv(v0))')));
    expect(g.lookupExpr(term('sqrt(inv(v2))'))).toBe(g.lookupExpr(term('inv(sqrt(v2))')));
    const h = saturated(['sqrt(inv(v2))']);
    expect(h.lookupExpr(term('inv(sqrt(v2))'))).toBe(h.lookupExpr(term('sqrt(inv(v2))')));
    // max(max(x)) is built as max(x) already; the rule covers e-graph merges that nest maxes.
    const m = new EGraph();
    const inner = m.unary(KIND.max, m.addExpr(term('v0')))!;
    const outer = m.unary(KIND.max, inner)!;
    expect(runRules(m, atomRules()).stopReason).toBe('saturated');
    expect(m.find(outer)).toBe(m.find(inner));
  });

  it('dynamic rules see the match', () => {
    const seen: number[] = [];
    const probe = dynamicRule('probe', patternNode('sqrt', [patternVar('a')]), 'nothing', (g, m) => void seen.push(g.find(m.get('a'))));
    const g = saturated(['sqrt(v0) + sqrt(v1)'], [probe]);
    expect(seen.sort()).toEqual([g.lookupExpr(term('v0')), g.lookupExpr(term('v1'))].sort());
  });
});

describe('the runner', () => {
  it('reports saturation with per-iteration figures and per-rule counts', () => {
    const g = new EGraph();
    g.addExpr(term('v0 / sqrt(v1) * inv(sqrt(v2))'));
    const report = runRules(g, targetRules());
    expect(report.stopReason).toBe('saturated');
    expect(report.iterations.length).toBeGreaterThanOrEqual(2);
    const last = report.iterations[report.iterations.length - 1]!;
    expect(last.applied).toBe(0);
    expect(report.iterations[0]!.applied).toBeGreaterThan(0);
    expect(report.nodes).toBe(g.nodeCount);
    expect(report.classes).toBe(g.classCount);
    expect(report.rules.map((r) => r.name)).toEqual(targetRules().map((r) => r.name));
    expect(report.rules.find((r) => r.name === 'inv-mul-rev')!.applied).toBeGreaterThan(0);
    for (const it of report.iterations) expect(it.searchMs + it.applyMs + it.rebuildMs).toBeLessThanOrEqual(report.totalMs + 1e-6);
  });

  it('stops at the iteration limit', () => {
    const g = new EGraph();
    g.addExpr(term('exp(v0)'));
    const report = runRules(g, [grow], { iterationLimit: 5 });
    expect(report.stopReason).toBe('iteration-limit');
    expect(report.iterations).toHaveLength(5);
    expect(report.nodes).toBe(2 + 5);
  });

  it('stops at the node limit', () => {
    const g = new EGraph();
    for (let i = 0; i < 300; i++) g.addExpr(term(`exp(v${i})`));
    const report = runRules(g, [grow], { nodeLimit: 1000 });
    expect(report.stopReason).toBe('node-limit');
    expect(report.nodes).toBeGreaterThan(1000);
    expect(report.nodes).toBeLessThan(1600);
    expect(g.isClean).toBe(true);
  });

  it('stops at the time limit (checked between rules)', () => {
    const g = new EGraph();
    g.addExpr(term('exp(v0)'));
    let clock = 0;
    const report = runRules(g, [grow, grow], { timeLimitMs: 10 }, () => (clock += 4));
    expect(report.stopReason).toBe('time-limit');
    expect(report.iterations.length).toBeLessThanOrEqual(2);
  });
});
