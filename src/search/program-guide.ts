/**
 * The program guide: which block operators mirror the program. Abstract expressions
 * forget indices, so the subexpression check alone accepts terms like sum[k](x) (a row
 * sum of X, found "inside" sum[k](x·x)) and x·(1/n), and the enumeration drowns in them
 * (measured: rmsnorm's 2-input kernel reached 177,000 partial graphs at 6 operators
 * without closing one). The guide keeps an operator only when it does what some operator
 * of the (expanded) program does, up to the algebra the fused μGraphs rely on:
 *
 *   unary fn(x), scale, x op c   the program applies the same function/constant to a term
 *                                of x's e-class (nonlinear functions do not commute with
 *                                sums, so they must see the same value);
 *   binary a op b               the program combines terms of the same e-classes, or the
 *                                result is (modulo the axioms) a value of the program or a
 *                                program output: normalization after the matmul multiplies
 *                                the matmul's result, not its operand;
 *   reductions (reduce, matmul, sumLastDim) over label L
 *                                the program reduces over L a product whose factors include
 *                                the operator's, and every factor left out is independent of
 *                                L (it can move outside the sum: sum_k(x·r·w) = r·sum_k(x·w)
 *                                when r does not depend on k), or the result is a program
 *                                value or output (a matmul of concatenations: LoRA);
 *   concat                       both operands are operands of the program's matmuls on the
 *                                same side (the LoRA form (X‖XA)·(W‖B));
 *   accumulators                 over the loop: the term depends on the loop's label through
 *                                an iterator, and `sum` takes a tile already reduced over it.
 * This is a restriction of the space, chosen and documented: the search finds the μGraphs
 * built from the program's own operations and these identities, not identities of its own.
 */
import type { Shape } from '../ir/shape.js';
import type { BlockOpSpec } from '../ugraph/block-ops.js';
import type { AbstractValue } from './abstract-value.js';
import type { ProgramAbstraction } from './abstract-program.js';
import type { Expr } from './expr.js';
import { type Labels, type ProgramLabels, UNIT } from './labels.js';
import type { SubexpressionOracle } from './subexpr.js';

interface Reduction {
  readonly fn: 'sum' | 'max';
  readonly label: number;
  readonly factors: readonly Expr[];
}

/** What the guide needs of each block tensor. */
export interface GuideNode {
  readonly info: { readonly shape: Shape; readonly op: BlockOpSpec | undefined };
  readonly labels: Labels;
  readonly value: AbstractValue;
  /** Depends on the loop iteration (through an iterator that walks the loop). */
  readonly loopDependent: boolean;
}

export class ProgramGuide {
  private readonly unary = new Set<string>();
  private readonly scales = new Set<string>();
  private readonly constBinary = new Set<string>();
  private readonly binary = new Set<string>();
  private readonly values = new Set<number>();
  private readonly reductions: Reduction[] = [];
  private readonly matmulSides: [Set<string>, Set<string>] = [new Set(), new Set()];
  private readonly labelsOf = new Map<Expr, ReadonlySet<number>>();
  private readonly keyMemo = new Map<Expr, string[]>();
  private readonly textMemo = new Map<Expr, string>();
  private readonly programValueMemo = new Map<Expr, boolean>();
  /** Terms the program applies a one-operand elementwise op to (a unary, a scale, an op with a constant). */
  private readonly elementwiseOperands = new Set<string>();

  constructor(abstraction: ProgramAbstraction, labels: ProgramLabels, private readonly oracle: SubexpressionOracle) {
    const termOf = (t: unknown) => {
      const v = abstraction.values.get(t as never);
      return v?.kind === 'term' ? v.expr : undefined;
    };
    for (const node of labels.program.nodes) {
      const value = termOf(node);
      const nodeLabels = labels.of.get(node)!;
      if (value) {
        this.labelsOf.set(value, new Set(nodeLabels.filter((l) => l !== UNIT)));
        const c = oracle.classOf(value);
        if (c !== undefined) this.values.add(c);
      }
      const operands = node.inputs.map(termOf);
      if (operands.some((o) => o === undefined)) continue;
      const [a, b] = operands as Expr[];
      const attrs = node.attrs as Record<string, unknown>;
      const isConst = (t: unknown) => (t as { op?: string } | undefined)?.op === 'const';
      if (node.op === 'unary' || node.op === 'scale' || (node.op === 'binary' && node.inputs.some(isConst))) {
        const operand = isConst(node.inputs[0]) ? b! : a!;
        this.addAll(this.elementwiseOperands, '$', operand);
      }
      switch (node.op) {
        case 'unary': this.addAll(this.unary, `${String(attrs.fn)}:$`, a!); break;
        case 'scale': this.addAll(this.scales, `${String(attrs.c)}:$`, a!); break;
        case 'binary': {
          const [x, y] = node.inputs;
          const constant = (t: typeof x) => (t!.op === 'const' ? (t!.attrs as { value: number }).value : undefined);
          if (constant(y) !== undefined) this.addAll(this.constBinary, `${String(attrs.fn)}:0:${constant(y)}:$`, a!);
          else if (constant(x) !== undefined) this.addAll(this.constBinary, `${String(attrs.fn)}:1:${constant(x)}:$`, b!);
          else {
            // Two-operand patterns: the first operand's keys against the second's.
            for (const ka of this.keys(a!)) for (const kb of this.keys(b!)) {
              this.binary.add(`${String(attrs.fn)}:${ka}:${kb}`);
              if (attrs.fn === 'add' || attrs.fn === 'mul') this.binary.add(`${String(attrs.fn)}:${kb}:${ka}`);
            }
          }
          break;
        }
        case 'reduce': {
          const dim = (attrs as { dim: number }).dim;
          this.reductions.push({ fn: attrs.fn === 'max' ? 'max' : 'sum', label: labels.of.get(node.inputs[0]!)![dim]!, factors: factorsOf(a!) });
          break;
        }
        case 'matmul': {
          const la = labels.of.get(node.inputs[0]!)!;
          this.reductions.push({ fn: 'sum', label: la[la.length - 1]!, factors: [...factorsOf(a!), ...factorsOf(b!)] });
          for (const k of this.keys(a!)) this.matmulSides[0].add(k);
          for (const k of this.keys(b!)) this.matmulSides[1].add(k);
          break;
        }
      }
    }
  }

  /**
   * Whether allows() needs the operator's result (its value): only for two-operand
   * arithmetic without a constant and for matmuls, which may be admitted as program values.
   */
  needsResult(op: BlockOpSpec, nodes: readonly GuideNode[]): boolean {
    if (op.op === 'matmul') return true;
    if (op.op !== 'binary') return false;
    return !op.inputs.some((id) => nodes[id]?.info.op?.op === 'constant');
  }

  /**
   * Whether appending `op` (result `result`) to a block whose tensors are `nodes` mirrors the
   * program; `result` may be left out where needsResult() says it is not needed.
   */
  allows(op: BlockOpSpec, nodes: readonly GuideNode[], result: GuideNode | undefined, forloopRange: number, loopLabel: number | null): boolean {
    const operand = (i: number) => (nodes[op.inputs[i]!] ?? result)!;
    const expr = (i: number) => { const v = operand(i).value; return v.kind === 'term' ? v.expr : undefined; };
    switch (op.op) {
      case 'constant': return true;
      case 'unary': { const x = expr(0); return x !== undefined && this.has(this.unary, `${op.fn}:$`, x); }
      case 'scale': { const x = expr(0); return x !== undefined && this.has(this.scales, `${op.c}:$`, x); }
      case 'binary': {
        const [p, q] = [operand(0), operand(1)];
        const constantOf = (n: GuideNode) => (n.info.op?.op === 'constant' ? n.info.op.value : undefined);
        const [cp, cq] = [constantOf(p), constantOf(q)];
        if (cq !== undefined) { const x = expr(0); return x !== undefined && this.has(this.constBinary, `${op.fn}:0:${cq}:$`, x); }
        if (cp !== undefined) { const x = expr(1); return x !== undefined && this.has(this.constBinary, `${op.fn}:1:${cp}:$`, x); }
        const [x, y] = [expr(0), expr(1)];
        if (x !== undefined && y !== undefined && this.keys(x).some((kx) => this.keys(y).some((ky) => this.binary.has(`${op.fn}:${kx}:${ky}`)))) return true;
        return this.isProgramValue(result!.value);
      }
      case 'reduce': {
        const x = expr(0);
        return x !== undefined && this.mirrorsReduction(op.fn, operand(0).labels[op.dim]!, factorsOf(x));
      }
      case 'matmul': {
        const [x, y] = [expr(0), expr(1)];
        const la = operand(0).labels;
        if (x !== undefined && y !== undefined && this.mirrorsReduction('sum', la[la.length - 1]!, [...factorsOf(x), ...factorsOf(y)])) return true;
        // A matmul of concatenations (which the concat rule admitted) contracts several products at once.
        if ([0, 1].some((i) => operand(i).info.op?.op === 'concat')) return true;
        return this.isProgramValue(result!.value);
      }
      case 'concat': {
        const side = op.dim === operand(0).info.shape.length - 1 ? 0 : 1;
        return [0, 1].every((i) => { const x = expr(i); return x !== undefined && this.keys(x).some((k) => this.matmulSides[side].has(k)); });
      }
      case 'accum': {
        const x = operand(0);
        if (op.kind === 'maxRescale') return forloopRange > 1 && x.loopDependent;
        if (forloopRange === 1) return op.kind === 'sum';
        if (!x.loopDependent) return false;
        if (op.kind === 'sum') return loopLabel === null || !x.labels.includes(loopLabel);
        const e = expr(0);
        const last = x.labels[x.labels.length - 1]!;
        return last === loopLabel && (op.rescaleBy !== undefined || (e !== undefined && this.mirrorsReduction('sum', last, factorsOf(e))));
      }
    }
  }

  /** Whether a value is, modulo the axioms, a value some node of the program computes (or an output). */
  isProgramValue(v: AbstractValue): boolean {
    if (v.kind !== 'term') return this.oracle.targets.some((_, i) => this.oracle.equalsTarget(v, i));
    // Memoized per term (terms are hash-consed): the search asks about the same ones often.
    let answer = this.programValueMemo.get(v.expr);
    if (answer === undefined) {
      const c = this.oracle.classOf(v.expr);
      answer = (c !== undefined && this.values.has(c)) || this.oracle.targets.some((_, i) => this.oracle.equalsTarget(v, i));
      this.programValueMemo.set(v.expr, answer);
    }
    return answer;
  }

  /**
   * Whether the program goes on from `v` with a one-operand elementwise op: then a kernel
   * that ends at v should have applied it before saving (cheap on a reduced value, and one
   * canonical place for it), so the generator does not end an intermediate there.
   */
  continuesElementwise(v: AbstractValue): boolean {
    return v.kind === 'term' && this.has(this.elementwiseOperands, '$', v.expr);
  }

  private mirrorsReduction(fn: 'sum' | 'max', label: number, factors: readonly Expr[]): boolean {
    const mine = factors.map((f) => this.keys(f));
    return this.reductions.some((r) => {
      if (r.fn !== fn || r.label !== label) return false;
      const left = r.factors.map((f) => ({ f, keys: this.keys(f) }));
      for (const ks of mine) {
        const at = left.findIndex((l) => l.keys.some((k) => ks.includes(k)));
        if (at < 0) return false;
        left.splice(at, 1);
      }
      // Factors the block leaves out must not depend on the reduced label (they move outside the sum).
      return left.every(({ f }) => { const ls = this.labelsOfTerm(f); return ls !== undefined && !ls.has(label); });
    });
  }

  /**
   * The labels a term depends on: a program node's labels, or for a term no node computes
   * alone (the inv(z) inside a division), its operands' labels. undefined when unknown (a sum
   * that is no node's value): then it counts as dependent on every label.
   */
  private labelsOfTerm(e: Expr): ReadonlySet<number> | undefined {
    const known = this.labelsOf.get(e);
    if (known || e.kind === 'sum') return known;
    if (e.kind === 'const') return new Set();
    const parts = e.args.map((a) => this.labelsOfTerm(a));
    if (parts.some((p) => p === undefined)) return undefined;
    return new Set(parts.flatMap((p) => [...p!]));
  }

  /**
   * The keys a term is known by: its e-class (so operands equal modulo the axioms match) and
   * its structure with sum sizes erased (so a tile's partial sum, sum[32](x·a) inside a loop
   * over k, matches the program's sum[256](x·a): the same computation on a tile).
   */
  private keys(e: Expr): string[] {
    let keys = this.keyMemo.get(e);
    if (!keys) {
      const c = this.oracle.classOf(e);
      const erased = `s${this.shapeFree(e)}`;
      this.keyMemo.set(e, (keys = c === undefined ? [erased] : [`c${c}`, erased]));
    }
    return keys;
  }

  /**
   * A term's text with sum sizes erased and the operands of + and · sorted (flattened), so
   * that x + y and y + x, or a tile's partial sum and the full one, read the same.
   */
  private shapeFree(e: Expr): string {
    let text = this.textMemo.get(e);
    if (text === undefined) {
      if (e.kind === 'add' || e.kind === 'mul') {
        const parts: string[] = [];
        const flatten = (x: Expr) => { if (x.kind === e.kind) x.args.forEach(flatten); else parts.push(this.shapeFree(x)); };
        flatten(e);
        text = `${e.kind}(${parts.sort().join(',')})`;
      } else if (e.kind === 'input' || e.kind === 'const') {
        text = `${e.kind === 'input' ? 'v' : ''}${e.value}`;
      } else {
        text = `${e.kind}(${e.args.map((a) => this.shapeFree(a)).join(',')})`;
      }
      this.textMemo.set(e, text);
    }
    return text;
  }

  /** Whether `pattern` with `$` replaced by some key of `e` is in `set`. */
  private has(set: ReadonlySet<string>, pattern: string, e: Expr): boolean {
    return this.keys(e).some((k) => set.has(pattern.replace('$', k)));
  }

  private addAll(set: Set<string>, pattern: string, e: Expr): void {
    for (const k of this.keys(e)) set.add(pattern.replace('$', k));
  }
}

/** The non-constant factors of a product term. */
export function factorsOf(e: Expr): Expr[] {
  if (e.kind === 'mul') return [...factorsOf(e.args[0]!), ...factorsOf(e.args[1]!)];
  return e.kind === 'const' ? [] : [e];
}
