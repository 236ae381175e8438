/**
 * The pruning check of the search: is a candidate tensor's abstract expression a
 * subexpression of the target's, modulo the axioms? The target's e-graph is saturated once
 * (lazily, at the first question); every question after that is a lookup, memoized per term:
 * the candidate's atoms must be classes of the e-graph, and its polynomial must embed in one
 * of the e-graph's polynomials (poly.ts: P = Q·μ + B, with a partial sum allowed around Q).
 *
 * Answers:
 *   'yes'      found: the term is, modulo the axioms, part of a term equal to the target;
 *   'no'       not found, and saturation completed with the whole target represented: no
 *              use of the rules produces it, so the search may prune;
 *   'unknown'  not found, but the e-graph is incomplete (saturation stopped at a limit, or
 *              part of the target was too large or not representable), or the candidate is
 *              (an opaque value, a polynomial past the size limit): the search must keep the
 *              candidate. 'unknown' never prunes.
 * A piecewise value (a concatenation) is a subexpression when every piece is.
 */
import type { Program } from '../frontend/program.js';
import { abstractProgram } from './abstract-program.js';
import { type AbstractValue, describeValue, termsOf } from './abstract-value.js';
import { EGraph, KIND } from './egraph.js';
import { Expr } from './expr.js';
import { asAtom, IndexedPoly, type Poly, PolyTooLarge } from './poly.js';
import { type RunnerLimits, type RunReport, runRules } from './runner.js';
import { type Rule, targetRules } from './rules.js';

export type SubexpressionAnswer = 'yes' | 'no' | 'unknown';

export interface OracleOptions {
  readonly limits?: Partial<RunnerLimits>;
  /** Replaces the rule set (default: targetRules()). */
  readonly rules?: readonly Rule[];
}

/** What one saturation cost, for reports and benchmarks. */
export interface SaturationFigures {
  readonly nodes: number;
  readonly classes: number;
  readonly iterations: number;
  readonly stopReason: RunReport['stopReason'];
  readonly ms: number;
}

export class SubexpressionOracle {
  private readonly graph = new EGraph();
  /** Why parts of the target are not in the e-graph (then misses are 'unknown'). */
  readonly unrepresented: readonly string[];
  private run: RunReport | undefined;
  private contexts: IndexedPoly[] | undefined;
  private readonly polyMemo = new Map<Expr, Poly | null>();
  private readonly answers = new Map<Expr, SubexpressionAnswer>();

  constructor(readonly targets: readonly AbstractValue[], private readonly options: OracleOptions = {}) {
    const unrepresented: string[] = [];
    for (const value of targets) {
      if (value.kind === 'opaque') unrepresented.push(describeValue(value));
      for (const t of termsOf(value)) {
        try {
          this.graph.addExpr(t);
        } catch (error) {
          if (!(error instanceof PolyTooLarge)) throw error;
          unrepresented.push(`${t.pretty().slice(0, 80)}: ${error.message}`);
        }
      }
    }
    this.unrepresented = Object.freeze(unrepresented);
  }

  /** The oracle of a tensor program's outputs. */
  static forProgram(program: Program, options: OracleOptions = {}): SubexpressionOracle {
    return new SubexpressionOracle(abstractProgram(program).outputs, options);
  }

  /** Saturates the target's e-graph (once); later calls return the same report. */
  saturate(): RunReport {
    this.run ??= runRules(this.graph, this.options.rules ?? targetRules(), this.options.limits);
    return this.run;
  }

  /** Saturated, and every target output represented: only then may a lookup answer 'no'. */
  get complete(): boolean {
    return this.saturate().stopReason === 'saturated' && this.unrepresented.length === 0;
  }

  get figures(): SaturationFigures {
    const r = this.saturate();
    return { nodes: r.nodes, classes: r.classes, iterations: r.iterations.length, stopReason: r.stopReason, ms: r.totalMs };
  }

  /** Whether a term, or every term of a value, is a subexpression of the target. */
  isSubexpression(x: Expr | AbstractValue): SubexpressionAnswer {
    if (x instanceof Expr) return this.answerFor(x);
    if (x.kind === 'opaque') return 'unknown';
    let answer: SubexpressionAnswer = 'yes';
    for (const t of termsOf(x)) {
      const a = this.answerFor(t);
      if (a === 'no') return 'no';
      if (a === 'unknown') answer = 'unknown';
    }
    return answer;
  }

  /**
   * Whether `x` is, modulo the axioms, the same value as target `index`: every term in the
   * same class (and, for a piecewise value, cut the same way). The generator's test for
   * a saver that completes the program. One-sided like the rest: false may be a miss, and
   * the verifier decides what true proposes.
   */
  equalsTarget(x: AbstractValue, index: number): boolean {
    const target = this.targets[index];
    if (target === undefined || x.kind === 'opaque' || target.kind === 'opaque' || x.kind !== target.kind) return false;
    this.saturate();
    if (x.kind === 'pieces' && target.kind === 'pieces') {
      if (x.axis !== target.axis || x.pieces.length !== target.pieces.length) return false;
      if (x.pieces.some((p, i) => p.extent !== target.pieces[i]!.extent)) return false;
    }
    const [xs, ts] = [termsOf(x), termsOf(target)];
    return xs.every((e, i) => {
      const a = this.graph.lookupExpr(e, this.polyMemo);
      const b = this.graph.lookupExpr(ts[i]!, this.polyMemo);
      return a !== undefined && b !== undefined && this.graph.find(a) === this.graph.find(b);
    });
  }

  /** The e-class of a term in the saturated e-graph (canonical id), or undefined when it has none. */
  classOf(e: Expr): number | undefined {
    this.saturate();
    const c = this.graph.lookupExpr(e, this.polyMemo);
    return c === undefined ? undefined : this.graph.find(c);
  }

  /** The saturated e-graph, read-only by convention (tests and reports). */
  get egraph(): EGraph {
    this.saturate();
    return this.graph;
  }

  private answerFor(e: Expr): SubexpressionAnswer {
    let answer = this.answers.get(e);
    if (answer === undefined) {
      answer = this.found(e);
      if (answer === undefined) answer = this.complete ? 'no' : 'unknown';
      this.answers.set(e, answer);
    }
    return answer;
  }

  /** 'yes', 'unknown' (too large to decide) or undefined (not found). */
  private found(e: Expr): SubexpressionAnswer | undefined {
    this.saturate();
    let q: Poly | undefined;
    try {
      q = this.graph.exprPoly(e, 'lookup', this.polyMemo);
    } catch (error) {
      if (error instanceof PolyTooLarge) return 'unknown';
      throw error;
    }
    if (q === undefined) return undefined;
    // A class of the e-graph is itself a subterm; otherwise the polynomial must embed.
    if (asAtom(q) !== undefined) return 'yes';
    const constantOf = (c: number) => this.graph.constantOf(c);
    this.contexts ??= this.graph.nodesOfKind(KIND.poly).map((n) => new IndexedPoly(this.graph.polyOfNode(n)!, constantOf));
    return this.contexts.some((c) => c.embeds(q)) ? 'yes' : undefined;
  }
}
