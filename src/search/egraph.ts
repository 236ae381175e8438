/**
 * An e-graph (egg-style equality saturation, Willsey et al. 2021) modulo polynomial
 * arithmetic. Nodes are hash-consed, classes merged by a union-find, and congruence restored
 * by a deferred `rebuild()` (unions only queue work; rebuild repairs the parents of merged
 * classes until no two live nodes are congruent).
 *
 * Node kinds: the atoms of expr.ts (inputs, constants, inv, exp, sqrt, silu, gelu, relu,
 * max) and `poly`, a canonical polynomial over classes (poly.ts). +, · and Σ are never
 * nodes: a term's arithmetic is expanded into its polynomial, and only polynomials that are
 * an atom's argument (or a term added whole) become nodes. Canonicalizing a polynomial folds
 * each monomial's constants and multiplicity into one coefficient (`splitCoefficient`) and
 * flattens factors whose class holds a polynomial (after a rule merged, say, inv(a·b) with
 * inv(a)·inv(b)).
 *
 * Lookups never add: a term whose atoms are not all present has no class (`undefined`).
 */
import { type Expr, UNARY_KINDS } from './expr.js';
import {
  addPolys, asAtom, atomPoly, mulPolys, normalizePoly, type Poly, PolyTooLarge, polyKey, splitCoefficient, sumPoly,
} from './poly.js';

export const NODE_KINDS = ['input', 'const', 'inv', 'exp', 'sqrt', 'silu', 'gelu', 'relu', 'max', 'poly'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export const KIND = Object.fromEntries(NODE_KINDS.map((k, i) => [k, i])) as { readonly [K in NodeKind]: number };

/** Monomials one canonical polynomial may have; a larger product is not represented. */
export const POLY_LIMIT = 4096;

interface ENode {
  readonly kind: number;
  /** Input index or constant value; 0 otherwise. */
  readonly payload: number;
  /** The argument class of an atom; the distinct factor classes of a polynomial. */
  children: number[];
  poly: Poly | undefined;
  key: string;
  cls: number;
  dead: boolean;
}

/** Whether canonicalization may add missing constants (building the target) or must not (lookups). */
type Mode = 'add' | 'lookup';

export class EGraph {
  private readonly nodes: ENode[] = [];
  private readonly memo = new Map<string, number>();
  private readonly parent: number[] = [];
  private readonly nodesOf: number[][] = [];
  private readonly parentsOf: number[][] = [];
  private readonly byKind: number[][] = NODE_KINDS.map(() => []);
  private pending: number[] = [];
  private unsorted: number[] = [];
  private liveNodes = 0;
  private liveClasses = 0;
  /** Bumped by every new node and every union of two distinct classes. */
  version = 0;

  get nodeCount(): number {
    return this.liveNodes;
  }

  get classCount(): number {
    return this.liveClasses;
  }

  /** No union is waiting for `rebuild()`. */
  get isClean(): boolean {
    return this.pending.length === 0 && this.unsorted.length === 0;
  }

  find(c: number): number {
    const parent = this.parent;
    while (parent[c] !== c) {
      const grand = parent[parent[c]!]!;
      parent[c] = grand;
      c = grand;
    }
    return c;
  }

  // ---- atoms --------------------------------------------------------------------------------

  /** The class of an input or constant leaf, added unless `mode` is 'lookup'. */
  leaf(kind: 'input' | 'const', payload: number, mode: Mode = 'add'): number | undefined {
    const value = Object.is(payload, -0) ? 0 : payload;
    return this.node(KIND[kind], value, [], undefined, `${kind}:${value}`, mode);
  }

  /** The class of f(arg) for an atom kind f. */
  unary(kind: number, arg: number, mode: Mode = 'add'): number | undefined {
    const a = this.find(arg);
    return this.node(kind, 0, [a], undefined, `${kind}(${a})`, mode);
  }

  private node(kind: number, payload: number, children: number[], poly: Poly | undefined, key: string, mode: Mode): number | undefined {
    const found = this.memo.get(key);
    if (found !== undefined) return this.find(this.nodes[found]!.cls);
    if (mode === 'lookup') return undefined;
    const id = this.nodes.length;
    const cls = this.parent.length;
    this.nodes.push({ kind, payload, children, poly, key, cls, dead: false });
    this.parent.push(cls);
    this.nodesOf.push([id]);
    this.parentsOf.push([]);
    this.byKind[kind]!.push(id);
    this.memo.set(key, id);
    for (const c of new Set(children)) this.parentsOf[c]!.push(id);
    this.liveNodes++;
    this.liveClasses++;
    this.version++;
    return cls;
  }

  // ---- polynomials --------------------------------------------------------------------------

  /** The class equal to polynomial `p` (an atom, a natural constant or a poly node). */
  polyClass(p: Poly, mode: Mode = 'add'): number | undefined {
    const canonical = this.canonicalize(p, mode, -1);
    return canonical === undefined ? undefined : this.classOfCanonical(canonical, mode);
  }

  private classOfCanonical(p: Poly, mode: Mode): number | undefined {
    const atom = asAtom(p);
    if (atom !== undefined) return this.find(atom);
    const m = p[0]!;
    if (p.length === 1 && m.factors.length === 0 && m.tag === 1) return this.leaf('const', m.mult, mode);
    const children = [...new Set(p.flatMap((x) => x.factors))];
    return this.node(KIND.poly, 0, children, p, `poly:${polyKey(p)}`, mode);
  }

  /** The polynomial a class stands for: its poly node's (the oldest), else the class as an atom. */
  polyOf(c: number): Poly {
    c = this.find(c);
    for (const n of this.nodesOf[c]!) {
      const node = this.nodes[n]!;
      if (node.kind === KIND.poly && !node.dead) return node.poly!;
    }
    return atomPoly(c);
  }

  /** The constant a class holds, if any. */
  constantOf(c: number): number | undefined {
    for (const n of this.nodesOf[this.find(c)]!) {
      const node = this.nodes[n]!;
      if (node.kind === KIND.const && !node.dead) return node.payload;
    }
    return undefined;
  }

  /**
   * Canonical form of `p` over current classes: factors found, classes holding polynomials
   * flattened (except `self`, the class being repaired), constants folded per monomial.
   * Undefined in lookup mode when a folded constant is not in the e-graph.
   */
  canonicalize(p: Poly, mode: Mode, self: number): Poly | undefined {
    const out: Poly[] = [];
    for (const m of p) {
      let expanded: Poly = [{ factors: [], tag: m.tag, mult: m.mult }];
      for (const f of m.factors) {
        const c = this.find(f);
        expanded = mulPolys(expanded, c === self ? atomPoly(c) : this.polyOf(c), POLY_LIMIT);
      }
      const folded = this.foldConstants(expanded, mode);
      if (folded === undefined) return undefined;
      out.push(folded);
    }
    const all = normalizePoly(out.flat());
    if (all.length > POLY_LIMIT) throw new PolyTooLarge(`${all.length} monomials exceed ${POLY_LIMIT}`);
    return all;
  }

  /**
   * Folds each monomial's constant factors and multiplicity (times `scale`) into one
   * coefficient, split as `splitCoefficient` says; monomials that then coincide merge, and
   * the merged ones are split again (x·0.5 + x·0.5 is x).
   */
  private foldConstants(p: Poly, mode: Mode, scale = 1): Poly | undefined {
    let current = p;
    for (let round = 0; ; round++) {
      const out = [];
      let unsplit = false;
      for (const m of current) {
        let c = scale * m.mult;
        const factors: number[] = [];
        for (const f of m.factors) {
          const value = this.constantOf(f);
          if (value === undefined) factors.push(this.find(f));
          else c *= value;
        }
        if (!Number.isFinite(c)) throw new PolyTooLarge(`a folded constant overflows (${c})`);
        const [mult, k] = splitCoefficient(c);
        if (k !== 1) {
          const cls = this.leaf('const', k, mode);
          if (cls === undefined) return undefined;
          factors.push(cls);
        }
        out.push({ factors, tag: m.tag, mult });
      }
      current = normalizePoly(out);
      // A merge of monomials with a constant other than ±1 leaves a multiplicity to fold in.
      for (const m of current) unsplit ||= m.mult > 1 && m.factors.some((f) => Math.abs(this.constantOf(f) ?? 1) !== 1);
      if (!unsplit || round > 8) return current;
      scale = 1;
    }
  }

  // ---- terms --------------------------------------------------------------------------------

  /** Adds a term: its atoms become nodes, its arithmetic a polynomial; returns its class. */
  addExpr(e: Expr): number {
    return this.polyClass(this.exprPoly(e, 'add', new Map())!, 'add')!;
  }

  /** The class of a term, if its atoms and (when not a plain polynomial) its node exist. */
  lookupExpr(e: Expr, memo = new Map<Expr, Poly | null>()): number | undefined {
    const p = this.exprPoly(e, 'lookup', memo);
    return p === undefined ? undefined : this.polyClass(p, 'lookup');
  }

  /** A term's canonical polynomial; undefined in lookup mode when one of its atoms is missing. */
  exprPoly(e: Expr, mode: Mode, memo: Map<Expr, Poly | null>): Poly | undefined {
    const known = memo.get(e);
    if (known !== undefined) return known ?? undefined;
    let result: Poly | undefined;
    const args = e.args.map((a) => this.exprPoly(a, mode, memo));
    if (!args.includes(undefined)) {
      const [a, b] = args as Poly[];
      switch (e.kind) {
        case 'input': {
          const cls = this.leaf('input', e.value, mode);
          result = cls === undefined ? undefined : atomPoly(cls);
          break;
        }
        case 'const': result = this.foldConstants([{ factors: [], tag: 1, mult: 1 }], mode, e.value); break;
        case 'add': result = this.foldConstants(addPolys(a!, b!), mode); break;
        case 'mul': result = this.canonicalize(mulPolys(a!, b!, POLY_LIMIT), mode, -1); break;
        case 'sum': result = sumPoly(a!, e.value); break;
        default: {
          const kind = KIND[e.kind as (typeof UNARY_KINDS)[number]];
          const arg = this.polyClass(a!, mode);
          const cls = arg === undefined ? undefined : this.atom(kind, arg, mode);
          result = cls === undefined ? undefined : this.polyOf(cls);
        }
      }
    }
    memo.set(e, result ?? null);
    return result;
  }

  /** f(arg), with the constant cases folded: inv of a constant is its reciprocal. */
  atom(kind: number, arg: number, mode: Mode = 'add'): number | undefined {
    const value = this.constantOf(arg);
    if (kind === KIND.inv && value !== undefined && value !== 0) return this.leaf('const', 1 / value, mode);
    return this.unary(kind, arg, mode);
  }

  // ---- merging ------------------------------------------------------------------------------

  /** Merges two classes; congruence is restored by the next `rebuild()`. True if they were distinct. */
  union(x: number, y: number): boolean {
    let a = this.find(x);
    let b = this.find(y);
    if (a === b) return false;
    if (this.parentsOf[a]!.length < this.parentsOf[b]!.length) [a, b] = [b, a];
    this.parent[b] = a;
    this.liveClasses--;
    this.version++;
    for (const n of this.nodesOf[b]!) this.nodesOf[a]!.push(n);
    for (const n of this.parentsOf[b]!) this.parentsOf[a]!.push(n);
    this.nodesOf[b] = [];
    this.parentsOf[b] = [];
    this.pending.push(a);
    this.unsorted.push(a);
    return true;
  }

  /** Restores congruence after unions and sorts class node lists by kind (for matching). */
  rebuild(): void {
    for (let round = 0; this.pending.length > 0; round++) {
      if (round > 100_000) throw new Error('e-graph: rebuild does not converge');
      const todo = this.pending;
      this.pending = [];
      for (const c of new Set(todo.map((x) => this.find(x)))) this.repair(c);
    }
    for (const c of new Set(this.unsorted.map((x) => this.find(x)))) {
      const live = [...new Set(this.nodesOf[c]!)].filter((n) => !this.nodes[n]!.dead);
      this.nodesOf[c] = live.sort((x, y) => this.nodes[x]!.kind - this.nodes[y]!.kind || x - y);
    }
    this.unsorted = [];
    for (let k = 0; k < this.byKind.length; k++) this.byKind[k] = this.byKind[k]!.filter((n) => !this.nodes[n]!.dead);
  }

  /** Re-canonicalizes the parents of a merged class; congruent parents merge. */
  private repair(cls: number): void {
    const parents = [...new Set(this.parentsOf[cls]!)];
    this.parentsOf[cls] = [];
    const kept: number[] = [];
    for (const p of parents) {
      const node = this.nodes[p]!;
      if (node.dead) continue;
      const own = this.find(node.cls);
      let key: string;
      let target: number | undefined;
      if (node.kind === KIND.poly) {
        const canonical = this.canonicalize(node.poly!, 'add', own)!;
        const atom = asAtom(canonical);
        if (atom !== undefined || (canonical.length === 1 && canonical[0]!.factors.length === 0 && canonical[0]!.tag === 1)) {
          target = this.classOfCanonical(canonical, 'add');
        }
        if (polyKey(canonical) !== polyKey(node.poly!)) this.pending.push(own);  // its class's polynomial changed: re-flatten users
        node.poly = canonical;
        node.children = [...new Set(canonical.flatMap((m) => m.factors))];
        key = `poly:${polyKey(canonical)}`;
      } else {
        node.children = node.children.map((c) => this.find(c));
        key = `${node.kind}(${node.children[0]})`;
      }
      if (this.memo.get(node.key) === p) this.memo.delete(node.key);
      node.key = key;
      const twin = target === undefined ? this.memo.get(key) : undefined;
      if (target === undefined && (twin === undefined || twin === p)) {
        this.memo.set(key, p);
        kept.push(p);
        for (const c of node.children) if (this.find(c) !== cls) this.parentsOf[this.find(c)]!.push(p);
        continue;
      }
      node.dead = true;
      this.liveNodes--;
      this.unsorted.push(own);
      this.union(own, target ?? this.nodes[twin!]!.cls);
    }
    const root = this.find(cls);
    for (const p of kept) this.parentsOf[root]!.push(p);
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Live nodes of a class, sorted by kind (valid after `rebuild()`). */
  classNodes(c: number): readonly number[] {
    return this.nodesOf[this.find(c)]!;
  }

  /** Live nodes of a kind (valid after `rebuild()`). */
  nodesOfKind(kind: number): readonly number[] {
    return this.byKind[kind]!;
  }

  kindOf(n: number): number {
    return this.nodes[n]!.kind;
  }

  payloadOf(n: number): number {
    return this.nodes[n]!.payload;
  }

  childrenOf(n: number): readonly number[] {
    return this.nodes[n]!.children;
  }

  polyOfNode(n: number): Poly | undefined {
    return this.nodes[n]!.poly;
  }

  classOfNode(n: number): number {
    return this.find(this.nodes[n]!.cls);
  }

  isDead(n: number): boolean {
    return this.nodes[n]!.dead;
  }

  /** Canonical class ids. */
  classes(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.parent.length; c++) if (this.parent[c] === c) out.push(c);
    return out;
  }
}
