/**
 * Named rewrite rules of the e-graph. Mirage's axioms for + and · (commutativity,
 * associativity, distributivity and factoring, a/b + c/b = (a+c)/b, a·(b/c) = (a·b)/c) and
 * for sums (Σ commuting with Σ and distributing over +, Σ(a·b) = (Σa)·b, and the
 * factorization sum[n](a) = sum[j](sum[n/j](a)) for every divisor j) are not rules here:
 * the polynomial theory of the e-graph decides them by canonical forms (poly.ts), with
 * Mirage's over-approximation that a factor may cross a sum whatever the summed index.
 * What remains are the axioms about atoms, both directions where they are equations:
 *
 *   inv-mul        1/(a·b·…) = 1/a · 1/b · …     (a product without a sum; 1/n for multiplicity n)
 *   inv-mul-rev    1/a · 1/b = 1/(a·b)            (any two or more inverses in one monomial)
 *   inv-inv        1/(1/a) = a
 *   sqrt-inv       sqrt(1/a) = 1/sqrt(a), and sqrt-inv-rev
 *   max-idempotent max(max(a)) = max(a)            (the running max of maxes is one stabilizer)
 * Every rule is sound for real arithmetic where its sides are defined (1/x at x = 0 and
 * sqrt of a negative are the verifier's business, not pruning's).
 */
import { type EGraph, KIND } from './egraph.js';
import { CompiledPattern, formatPattern, instantiate, MatchView, type Pattern, patternNode, patternVar } from './pattern.js';
import type { Monomial } from './poly.js';

export interface Rule {
  readonly name: string;
  /** `lhs => rhs` for reports. */
  readonly description: string;
  /** Finds the rule's matches in the rebuilt e-graph: one deferred application per match. */
  readonly search: (g: EGraph) => (() => void)[];
}

/** lhs => rhs, both patterns. */
export function rewrite(name: string, lhs: Pattern, rhs: Pattern): Rule {
  const compiled = new CompiledPattern(lhs);
  return Object.freeze({
    name,
    description: `${formatPattern(lhs)} => ${formatPattern(rhs)}`,
    search: (g: EGraph) => matchesOf(g, compiled, (view) => void g.union(view.root, instantiate(g, rhs, view))),
  });
}

/** A rule whose right-hand side is computed from the match. */
export function dynamicRule(name: string, lhs: Pattern, rhs: string, apply: (g: EGraph, m: MatchView) => void): Rule {
  const compiled = new CompiledPattern(lhs);
  return Object.freeze({ name, description: `${formatPattern(lhs)} => ${rhs}`, search: (g: EGraph) => matchesOf(g, compiled, (view) => apply(g, view)) });
}

function matchesOf(g: EGraph, pattern: CompiledPattern, apply: (view: MatchView) => void): (() => void)[] {
  const data: number[] = [];
  pattern.search(g, data);
  const out: (() => void)[] = [];
  for (let offset = 0; offset < data.length; offset += pattern.stride) {
    out.push(() => {
      const view = new MatchView(pattern, data);
      view.offset = offset;
      apply(view);
    });
  }
  return out;
}

const a = patternVar('a');
const p = patternVar('p');
const inv = (x: Pattern) => patternNode('inv', [x]);
const sqrt = (x: Pattern) => patternNode('sqrt', [x]);
const max = (x: Pattern) => patternNode('max', [x]);

/** Most inverse factors of one monomial that inv-mul-rev combines (2^n subsets). */
const MAX_INVERSE_FACTORS = 6;

export function atomRules(): Rule[] {
  return [
    dynamicRule('inv-mul', inv(p), '(* (inv f1) (inv f2) ...) if ?p is a product without a sum', (g, m) => {
      const poly = g.polyOf(m.get('p'));
      const only = poly[0]!;
      if (poly.length !== 1 || only.tag !== 1 || (only.factors.length < 2 && only.mult === 1)) return;
      const factors = only.factors.map((f) => g.atom(KIND.inv, f)!);
      if (only.mult !== 1) factors.push(g.leaf('const', 1 / only.mult)!);
      g.union(m.root, g.polyClass([{ factors, tag: 1, mult: 1 }])!);
    }),
    {
      name: 'inv-mul-rev',
      description: '(* (inv a) (inv b) ...) in a monomial => (inv (* a b ...))',
      search: inverseProducts,
    },
    rewrite('inv-inv', inv(inv(a)), a),
    rewrite('sqrt-inv', sqrt(inv(a)), inv(sqrt(a))),
    rewrite('sqrt-inv-rev', inv(sqrt(a)), sqrt(inv(a))),
    rewrite('max-idempotent', max(max(a)), max(a)),
  ];
}

/** For every monomial with two or more inverse factors, every sub-multiset of them: 1/a·1/b = 1/(a·b). */
function inverseProducts(g: EGraph): (() => void)[] {
  const out: (() => void)[] = [];
  const seen = new Set<string>();
  for (const n of g.nodesOfKind(KIND.poly)) {
    for (const mono of g.polyOfNode(n)!) {
      const inverses = inverseFactors(g, mono).slice(0, MAX_INVERSE_FACTORS);
      for (let mask = 1; mask < 1 << inverses.length; mask++) {
        const chosen = inverses.filter((_, i) => mask & (1 << i));
        if (chosen.length < 2) continue;
        const key = chosen.map(([f]) => f).sort((x, y) => x - y).join(',');
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(() => {
          const product = g.polyClass([{ factors: chosen.map(([, arg]) => arg), tag: 1, mult: 1 }])!;
          const together = g.atom(KIND.inv, product)!;
          g.union(together, g.polyClass([{ factors: chosen.map(([f]) => f), tag: 1, mult: 1 }])!);
        });
      }
    }
  }
  return out;
}

/** The factors of a monomial that are inverses, as [factor class, argument class]. */
function inverseFactors(g: EGraph, mono: Monomial): [number, number][] {
  const out: [number, number][] = [];
  for (const f of mono.factors) {
    const node = g.classNodes(f).find((x) => g.kindOf(x) === KIND.inv);
    if (node !== undefined) out.push([g.find(f), g.find(g.childrenOf(node)[0]!)]);
  }
  return out;
}

/** The rule set every target is saturated with. */
export function targetRules(): Rule[] {
  return atomRules();
}
