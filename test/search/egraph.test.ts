/** The e-graph: hash-consing, the built-in polynomial theory, union and rebuild (congruence), lookups, pattern matching. */
import { describe, expect, it } from 'vitest';
import { EGraph, KIND } from '../../src/search/egraph.js';
import { parseExpr } from '../../src/search/expr-parse.js';
import { CompiledPattern, formatPattern, instantiate, MatchView, patternNode, patternVar } from '../../src/search/pattern.js';

const term = parseExpr;

describe('the e-graph', () => {
  it('hash-conses atoms and polynomials', () => {
    const g = new EGraph();
    const a = g.addExpr(term('exp(v0 * v1)'));
    expect(g.addExpr(term('exp(v1 * v0)'))).toBe(a);
    const before = g.nodeCount;
    g.addExpr(term('exp(v0 * v1)'));
    expect(g.nodeCount).toBe(before);
    // v0, v1, the polynomial v0·v1, exp(...)
    expect(g.nodeCount).toBe(4);
    expect(g.classCount).toBe(4);
  });

  it('decides commutativity, associativity, distributivity, sums and constants by canonical form', () => {
    const g = new EGraph();
    const same = (x: string, y: string) => expect(g.addExpr(term(x)), `${x} = ${y}`).toBe(g.addExpr(term(y)));
    same('v0 * (v1 + v2)', 'v2 * v0 + v1 * v0');
    same('(v0 + v1) + v2', 'v2 + (v1 + v0)');
    same('sum[8](sum[64](v0) * v1)', 'sum[512](v0 * v1)');
    same('sum[4](v0 + v1)', 'sum[4](v1) + sum[4](v0)');
    same('v0 + v0', 'v0 * 2');
    same('v0 * 2 * 3', 'v0 * 6');
    same('v0 * 0.5 * 0.5', 'v0 * 0.25');
    same('v0 * 2 * 0.25', 'v0 * 0.5');
    same('(v0 + v0) * 0.25', 'v0 * 0.5');
    same('v0 * 0.5 + v0 * 0.5', 'v0');
    same('(v0 * 0.5 + v0 * 0.5 + v1) * 3', 'v0 * 3 + v1 + v1 * 2');
    same('v0 + (-1) * v1', 'v0 + v1 * (-1)');
    same('v0 / 4', 'v0 * 0.25');
    expect(g.addExpr(term('sum[64](v0)'))).not.toBe(g.addExpr(term('sum[32](v0)')));
    expect(g.addExpr(term('v0 + (-1) * v0'))).not.toBe(g.addExpr(term('0')));
    expect(g.addExpr(term('exp(v0 + v1)'))).not.toBe(g.addExpr(term('exp(v0) * exp(v1)')));
  });

  it('looks terms up without adding them', () => {
    const g = new EGraph();
    const cls = g.addExpr(term('sqrt(sum[64](v0 * v0) * 0.015625 + 0.000001)'));
    const nodes = g.nodeCount;
    expect(g.lookupExpr(term('sqrt(0.000001 + 0.015625 * sum[64](v0 * v0))'))).toBe(cls);
    expect(g.lookupExpr(term('sqrt(sum[64](v0 * v0) * 0.015625)'))).toBeUndefined();
    expect(g.lookupExpr(term('sqrt(sum[64](v1 * v1) * 0.015625 + 0.000001)'))).toBeUndefined();
    expect(g.lookupExpr(term('exp(v0)'))).toBeUndefined();
    expect(g.lookupExpr(term('v0 * 7'))).toBeUndefined(); // a polynomial that is no node
    expect(g.nodeCount).toBe(nodes);
  });

  it('restores congruence on rebuild: merging a and b merges f(a) and f(b)', () => {
    const g = new EGraph();
    const fa = g.addExpr(term('exp(sqrt(v0))'));
    const fb = g.addExpr(term('exp(sqrt(v1))'));
    expect(fa).not.toBe(fb);
    expect(g.union(g.addExpr(term('v0')), g.addExpr(term('v1')))).toBe(true);
    expect(g.union(g.addExpr(term('v0')), g.addExpr(term('v1')))).toBe(false);
    g.rebuild();
    expect(g.find(fa)).toBe(g.find(fb));
    expect(g.classCount).toBe(3);
    expect(g.nodeCount).toBe(4); // v0 and v1 stay two nodes of one class; sqrt and exp are deduplicated
  });

  it('re-canonicalizes polynomials whose factors merge', () => {
    const g = new EGraph();
    const p = g.addExpr(term('exp(v0 * v1 + v0 * v2)'));
    const q = g.addExpr(term('exp(v0 * v1 * 2)'));
    g.union(g.addExpr(term('v1')), g.addExpr(term('v2')));
    g.rebuild();
    expect(g.find(p)).toBe(g.find(q));
  });

  it('flattens a factor whose class gains a polynomial', () => {
    const g = new EGraph();
    const r = g.addExpr(term('inv(v0 * v1)'));
    const target = g.addExpr(term('exp(v2 * inv(v0 * v1))'));
    // A rule's work: 1/(v0·v1) = 1/v0 · 1/v1; the polynomial inside exp(...) must follow.
    g.union(r, g.addExpr(term('inv(v0) * inv(v1)')));
    g.rebuild();
    expect(g.lookupExpr(term('exp(v2 * inv(v0) * inv(v1))'))).toBe(g.find(target));
    expect(g.polyOf(r).length).toBe(1);
  });
});

describe('patterns', () => {
  const a = patternVar('a');
  const inv = (x: ReturnType<typeof patternVar>) => patternNode('inv', [x]);

  it('match atoms, bind variables, and check repeated variables', () => {
    const g = new EGraph();
    g.addExpr(term('inv(inv(v0)) * sqrt(v1)'));
    g.addExpr(term('exp(exp(v0)) + exp(v1)'));
    g.rebuild();
    const twice = new CompiledPattern(inv(inv(a)));
    const out: number[] = [];
    expect(twice.search(g, out)).toBe(1);
    const view = new MatchView(twice, out);
    expect(view.get('a')).toBe(g.lookupExpr(term('v0')));
    expect(() => view.get('b')).toThrow(/no variable/);
    expect(formatPattern(twice.pattern)).toBe('(inv (inv ?a))');
    // exp(exp(?a)) and exp(?a) with ?a bound twice: only exp(exp(v0)) has a nested exp.
    const nested = new CompiledPattern(patternNode('exp', [patternNode('exp', [a])]));
    expect(nested.search(g, [])).toBe(1);
    expect(new CompiledPattern(patternNode('exp', [a])).search(g, [])).toBe(3);
  });

  it('match leaf payloads, fixed or bound', () => {
    const g = new EGraph();
    g.addExpr(term('exp(v0) * exp(v3)'));
    g.rebuild();
    const any = new CompiledPattern(patternNode('exp', [patternNode('input', [], 'i')]));
    const out: number[] = [];
    expect(any.search(g, out)).toBe(2);
    const view = new MatchView(any, out);
    const indices = [0, 1].map((k) => { view.offset = k * any.stride; return view.payload('i'); });
    expect(indices.sort()).toEqual([0, 3]);
    expect(new CompiledPattern(patternNode('exp', [patternNode('input', [], 3)])).search(g, [])).toBe(1);
    expect(new CompiledPattern(patternNode('exp', [patternNode('input', [], 2)])).search(g, [])).toBe(0);
    const rooted: number[] = [];
    expect(any.searchClass(g, g.lookupExpr(term('exp(v3)'))!, rooted)).toBe(1);
  });

  it('instantiate right-hand sides', () => {
    const g = new EGraph();
    g.addExpr(term('inv(sqrt(v0))'));
    g.rebuild();
    const lhs = new CompiledPattern(inv(patternNode('sqrt', [a])));
    const out: number[] = [];
    lhs.search(g, out);
    const made = instantiate(g, patternNode('sqrt', [inv(a)]), new MatchView(lhs, out));
    expect(made).toBe(g.lookupExpr(term('sqrt(inv(v0))')));
    expect(() => patternNode('exp', [])).toThrow(/1 operand/);
    expect(() => new CompiledPattern(a)).toThrow(/operator at its root/);
    expect(g.kindOf(g.classNodes(made)[0]!)).toBe(KIND.sqrt);
  });
});
