/**
 * The polynomial theory built into the e-graph: +, · and Σ are not e-graph operators but
 * canonical polynomials over e-classes ("atoms": inputs, constants, exp(...), inv(...), ...).
 * A polynomial is a sum of monomials; a monomial is a multiset of atom classes (factors), a
 * tag and a multiplicity:
 *   - factors   sorted class ids (constants folded into one factor; see egraph.ts)
 *   - tag       the product of the sizes of the sums around the monomial: Σ_n distributes over
 *               + and moves across any factor (Mirage's over-approximation: abstract terms
 *               have no indices), so Σ_a Σ_b m and Σ_ab m are one monomial, and the
 *               factorization sum[n](a) = sum[j](sum[n/j](a)) holds by construction;
 *   - mult      a natural multiplicity: x + x is 2·x, and so is x·2 (the e-graph folds a
 *               monomial's constants and multiplicity into one coefficient, `splitCoefficient`).
 * Two terms equal modulo commutativity, associativity, distributivity, Σ-linearity and
 * factorization have the same canonical form, with no search: written as rewrite rules these
 * axioms make the e-graph hold every grouping of every sub-sum, exponentially many (ntrans'
 * target did not saturate below 300k nodes).
 *
 * "Subterm" modulo these axioms is decided by `embeds`: with natural coefficients, Q occurs in
 * some term equal to P exactly when P = Q·A + B for polynomials A ≠ 0 (or 1) and B (or 0);
 * it suffices to try A = one monomial μ, and a Σ around Q (a partial sum of the target's)
 * multiplies Q's tags by one g. So: Q ⊑ P iff there are factors M and an integer g >= 1 with
 * P[q.factors ⊎ M, q.tag·g] >= q.mult for every monomial q of Q.
 */

export interface Monomial {
  /** Atom classes, sorted ascending, with repeats. */
  readonly factors: readonly number[];
  /** Product of the enclosing sums' sizes (1: no sum). */
  readonly tag: number;
  /** Natural multiplicity (>= 1). */
  readonly mult: number;
}

/** Sorted by (tag, factors); no two monomials share (factors, tag). */
export type Poly = readonly Monomial[];

/** Identity of a monomial without its multiplicity. */
export function monomialKey(m: Monomial): string {
  return `${m.tag}:${m.factors.join(',')}`;
}

export function polyKey(p: Poly): string {
  return p.map((m) => `${m.mult}*${monomialKey(m)}`).join('+');
}

/** Sorts factors and monomials and merges monomials with equal (factors, tag). */
export function normalizePoly(monomials: readonly Monomial[]): Poly {
  const merged = new Map<string, Monomial>();
  for (const m of monomials) {
    const factors = [...m.factors].sort((a, b) => a - b);
    const mono = { factors, tag: m.tag, mult: m.mult };
    const key = monomialKey(mono);
    const seen = merged.get(key);
    merged.set(key, seen ? { factors, tag: m.tag, mult: seen.mult + m.mult } : mono);
  }
  return [...merged.values()].sort(compareMonomials).map((m) => Object.freeze({ factors: Object.freeze(m.factors), tag: m.tag, mult: m.mult }));
}

function compareMonomials(a: Monomial, b: Monomial): number {
  if (a.tag !== b.tag) return a.tag - b.tag;
  const n = Math.min(a.factors.length, b.factors.length);
  for (let i = 0; i < n; i++) if (a.factors[i] !== b.factors[i]) return a.factors[i]! - b.factors[i]!;
  return a.factors.length - b.factors.length;
}

export function atomPoly(cls: number): Poly {
  return [{ factors: [cls], tag: 1, mult: 1 }];
}

/** The natural number m as a polynomial (the empty monomial m times). */
export function naturalPoly(m: number): Poly {
  return [{ factors: [], tag: 1, mult: m }];
}

export function addPolys(a: Poly, b: Poly): Poly {
  return normalizePoly([...a, ...b]);
}

/** Thrown when a product would exceed `limit` monomials; callers treat the term as unrepresented. */
export class PolyTooLarge extends Error {
  override readonly name = 'PolyTooLarge';
}

/** Full expansion of a·b. */
export function mulPolys(a: Poly, b: Poly, limit: number): Poly {
  if (a.length * b.length > limit) throw new PolyTooLarge(`a product of ${a.length} and ${b.length} monomials exceeds ${limit}`);
  const out: Monomial[] = [];
  for (const x of a) {
    for (const y of b) out.push({ factors: [...x.factors, ...y.factors], tag: x.tag * y.tag, mult: x.mult * y.mult });
  }
  return normalizePoly(out);
}

/** Σ_n: every monomial's tag times n. */
export function sumPoly(p: Poly, n: number): Poly {
  return p.map((m) => ({ factors: m.factors, tag: m.tag * n, mult: m.mult }));
}

/** The single atom a polynomial is, if it is one: one factor, tag 1, multiplicity 1. */
export function asAtom(p: Poly): number | undefined {
  const m = p[0];
  return p.length === 1 && m!.tag === 1 && m!.mult === 1 && m!.factors.length === 1 ? m!.factors[0] : undefined;
}

/** Multiset difference big − small of sorted arrays, or undefined when small ⊄ big. */
export function factorDifference(big: readonly number[], small: readonly number[]): number[] | undefined {
  const rest: number[] = [];
  let j = 0;
  for (const x of big) {
    if (j < small.length && small[j] === x) j++;
    else if (j < small.length && small[j]! < x) return undefined;
    else rest.push(x);
  }
  return j === small.length ? rest : undefined;
}

/** Multiset union of sorted arrays. */
export function factorUnion(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * A monomial with its constant factor taken out: `atoms` are the other factors, `k` the
 * constant's value (1 if none). A canonical monomial has at most one constant factor.
 */
interface Split {
  readonly atoms: readonly number[];
  readonly k: number;
  readonly tag: number;
  readonly mult: number;
}

/**
 * The canonical split of a monomial's coefficient c (multiplicity times constant): a nonzero
 * integer is a multiplicity |c| with the sign as constant; anything else is multiplicity 1
 * with c as the constant. So 2·x, x + x and (x + x)·2·0.5 agree, and so do x·0.5 and
 * (x + x)·0.25.
 */
export function splitCoefficient(c: number): [mult: number, k: number] {
  return Number.isInteger(c) && c !== 0 && Math.abs(c) <= 2 ** 31 ? [Math.abs(c), Math.sign(c)] : [1, c];
}

/** Multiplicities of a target monomial tried for the first monomial of Q (they are small in practice). */
const MAX_MULTIPLICITY_TRIED = 16;

/** Constants compared to 12 significant digits: products folded in another order may differ in the last bit. */
const constantKey = (k: number) => (k === 1 ? '' : k.toPrecision(12));

/**
 * A polynomial indexed for `embeds`: its monomials by (atoms, tag, constant), and by atom
 * (for the candidates of the first monomial of Q). `constantOf` tells constant classes apart.
 */
export class IndexedPoly {
  private readonly byKey = new Map<string, number>();
  private readonly byAtom = new Map<number, Split[]>();
  private readonly all: Split[];

  constructor(readonly poly: Poly, private readonly constantOf: (cls: number) => number | undefined) {
    this.all = poly.map((m) => this.split(m));
    for (const m of this.all) {
      this.byKey.set(splitKey(m.atoms, m.tag, m.k), m.mult);
      for (const f of new Set(m.atoms)) {
        let list = this.byAtom.get(f);
        if (!list) this.byAtom.set(f, (list = []));
        list.push(m);
      }
    }
  }

  private split(m: Monomial): Split {
    let k = 1;
    const atoms: number[] = [];
    for (const f of m.factors) {
      const value = this.constantOf(f);
      if (value === undefined) atoms.push(f);
      else k *= value;
    }
    return { atoms, k, tag: m.tag, mult: m.mult };
  }

  /** Whether q·μ·(Σ of size g) <= poly for some monomial μ (atoms and a constant) and g >= 1 (see the header). */
  embeds(q: Poly): boolean {
    const qs = q.map((m) => this.split(m));
    const first = qs[0];
    if (!first) return false;
    // The candidates for q's first monomial: monomials holding its rarest atom (or all).
    let pool: readonly Split[] = this.all;
    for (const f of first.atoms) {
      const list = this.byAtom.get(f);
      if (!list) return false;
      if (list.length < pool.length) pool = list;
    }
    for (const p of pool) {
      if (p.tag % first.tag !== 0) continue;
      const extra = factorDifference(p.atoms, first.atoms);
      if (!extra) continue;
      const g = p.tag / first.tag;
      // μ's constant κ makes q's first coefficient p's constant times some n <= p's multiplicity.
      const c = first.k * first.mult;
      for (let n = 1; n <= Math.min(p.mult, MAX_MULTIPLICITY_TRIED); n++) {
        const kappa = (p.k * n) / c;
        if (Number.isFinite(kappa) && kappa !== 0 && qs.every((m) => this.holds(m, extra, g, kappa))) return true;
      }
    }
    return false;
  }

  /** Whether the poly has m·(extra, kappa, Σ of size g) with at least its multiplicity. */
  private holds(m: Split, extra: readonly number[], g: number, kappa: number): boolean {
    const [mult, k] = splitCoefficient(m.mult * m.k * kappa);
    return (this.byKey.get(splitKey(factorUnion(m.atoms, extra), m.tag * g, k)) ?? 0) >= mult;
  }
}

function splitKey(atoms: readonly number[], tag: number, k: number): string {
  return `${tag}:${atoms.join(',')}:${constantKey(k)}`;
}
