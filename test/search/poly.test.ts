/** The polynomial theory: canonical forms and the embedding relation that decides "subterm modulo the axioms". */
import { describe, expect, it } from 'vitest';
import {
  addPolys, asAtom, atomPoly, factorDifference, factorUnion, IndexedPoly, type Monomial, mulPolys, naturalPoly, normalizePoly, type Poly,
  PolyTooLarge, polyKey, sumPoly,
} from '../../src/search/poly.js';

/** Atoms are plain numbers here (class ids); `mono([1, 2], 64, 2)` is 2·Σ_64(a1·a2). */
const mono = (factors: number[], tag = 1, mult = 1): Monomial => ({ factors, tag, mult });
const poly = (...ms: Monomial[]): Poly => normalizePoly(ms);
const [X, W, A, B, P, Q, R] = [1, 2, 3, 4, 5, 6, 7];
/** Classes 100 and up are constants: 100 + k stands for the constant k/10 (so 95 is -0.5, 90 is -1). */
const constants = (cls: number) => (cls >= 90 ? (cls - 100) / 10 : undefined);
const noConstants = () => undefined;
const [MINUS_ONE, HALF, MINUS_HALF] = [90, 105, 95];

describe('canonical polynomials', () => {
  it('are independent of order and grouping, and merge equal monomials', () => {
    const xw = poly(mono([X, W]));
    expect(polyKey(poly(mono([W, X]), mono([A])))).toBe(polyKey(poly(mono([A]), mono([X, W]))));
    expect(polyKey(addPolys(xw, xw))).toBe(polyKey(poly(mono([X, W], 1, 2))));
    expect(polyKey(addPolys(xw, sumPoly(xw, 4)))).not.toBe(polyKey(poly(mono([X, W], 1, 2))));
  });

  it('expand products and carry sums as tags', () => {
    // (x + a)·(x + a) = x² + 2·x·a + a²
    const s = poly(mono([X]), mono([A]));
    expect(mulPolys(s, s, 100)).toEqual(poly(mono([X, X]), mono([A, X], 1, 2), mono([A, A])));
    // Σ_8 Σ_64 (x·w) is one monomial tagged 512, and a factor crosses the sum.
    const inner = sumPoly(poly(mono([X, W])), 64);
    expect(sumPoly(inner, 8)).toEqual(poly(mono([X, W], 512)));
    expect(mulPolys(inner, atomPoly(R), 100)).toEqual(poly(mono([X, W, R], 64)));
    expect(() => mulPolys(s, s, 3)).toThrow(PolyTooLarge);
  });

  it('recognize atoms and naturals', () => {
    expect(asAtom(atomPoly(X))).toBe(X);
    expect(asAtom(poly(mono([X], 2)))).toBeUndefined();
    expect(asAtom(poly(mono([X], 1, 2)))).toBeUndefined();
    expect(asAtom(naturalPoly(3))).toBeUndefined();
  });

  it('take multiset differences and unions of sorted factors', () => {
    expect(factorDifference([1, 2, 2, 5], [2, 5])).toEqual([1, 2]);
    expect(factorDifference([1, 2, 5], [2, 2])).toBeUndefined();
    expect(factorDifference([1, 3], [2])).toBeUndefined();
    expect(factorUnion([1, 4], [2, 4, 9])).toEqual([1, 2, 4, 4, 9]);
  });
});

describe('embedding: Q is part of a term equal to P', () => {
  // U = x + α·x + α·h·r (ntrans' residual, distributed); here α = A, h = B, r = R.
  const U = poly(mono([X]), mono([A, X]), mono([A, B, R]));
  const U2 = mulPolys(U, U, 100);

  it('finds sub-sums and sub-products', () => {
    const u = new IndexedPoly(U, noConstants);
    expect(u.embeds(poly(mono([X]), mono([A, X])))).toBe(true); // P = x + αx
    expect(u.embeds(poly(mono([A, B])))).toBe(true); // Q = αh, with μ = r
    expect(u.embeds(poly(mono([X]), mono([A])))).toBe(false); // x + α
    expect(u.embeds(poly(mono([]), mono([A])))).toBe(true); // 1 + α: (1 + α)·x = x + αx
  });

  it('finds factored forms in an expansion: W + AB inside XW + XAB', () => {
    const target = new IndexedPoly(poly(mono([X, W], 256), mono([X, A, B], 4096)), noConstants);
    expect(target.embeds(poly(mono([W]), mono([A, B], 16)))).toBe(true);
    expect(target.embeds(poly(mono([W]), mono([A, B])))).toBe(false); // the rank sum is missing
  });

  it('finds partial sums with one common size factor', () => {
    const target = new IndexedPoly(poly(mono([X, W, R], 4096)), noConstants);
    expect(target.embeds(poly(mono([X, W], 1024)))).toBe(true);
    expect(target.embeds(poly(mono([X, W], 4096)))).toBe(true);
    expect(target.embeds(poly(mono([X, W], 8192)))).toBe(false);
    expect(target.embeds(poly(mono([X, W], 3)))).toBe(false);
    const two = new IndexedPoly(poly(mono([X], 64), mono([W], 64)), noConstants);
    expect(two.embeds(poly(mono([X], 8), mono([W], 8)))).toBe(true);
    expect(two.embeds(poly(mono([X], 8), mono([W], 64)))).toBe(false);
  });

  it('respects multiplicities: the binomial expansion of (p + r·q)²', () => {
    const u2 = new IndexedPoly(U2, noConstants);
    // p·p = x² + 2·x·αx + (αx)² is inside U², and so is 2·p·q·r, but not 3·p·q·r.
    const p = poly(mono([X]), mono([A, X]));
    expect(u2.embeds(mulPolys(p, p, 100))).toBe(true);
    const pq = mulPolys(p, poly(mono([A, B])), 100);
    expect(u2.embeds(mulPolys(pq, poly(mono([R], 1, 2)), 100))).toBe(true);
    // p² + 2·p·q·r is inside, p² + 3·p·q·r is not: κ is fixed by p², and 3 > 2.
    expect(u2.embeds(addPolys(mulPolys(p, p, 100), mulPolys(pq, poly(mono([R], 1, 2)), 100)))).toBe(true);
    expect(u2.embeds(addPolys(mulPolys(p, p, 100), mulPolys(pq, poly(mono([R], 1, 3)), 100)))).toBe(false);
    expect(u2.embeds(U2)).toBe(true);
    expect(u2.embeds(poly(mono([P, Q])))).toBe(false);
  });

  it('folds the constant of μ into Q: (m - c)·0.5 holds m - c', () => {
    // target: m·0.5 + c·(-0.5), constants folded; Q = m + (-1)·c.
    const target = new IndexedPoly(poly(mono([X, HALF]), mono([A, MINUS_HALF])), constants);
    expect(target.embeds(poly(mono([X]), mono([A, MINUS_ONE])))).toBe(true);
    expect(target.embeds(poly(mono([X]), mono([A])))).toBe(false);
    // 2·x inside x·0.5 + ...: κ = 1/4.
    expect(target.embeds(poly(mono([X], 1, 2)))).toBe(true);
    // 6·x + w = (3·x + w)·1 + 3·x holds 3·x + w; 3·x + 2·w fits no κ.
    const six = new IndexedPoly(poly(mono([X], 1, 6), mono([W])), constants);
    expect(six.embeds(poly(mono([X], 1, 3), mono([W])))).toBe(true);
    expect(six.embeds(poly(mono([X], 1, 3), mono([W], 1, 2)))).toBe(false);
    expect(six.embeds(poly(mono([X, HALF])))).toBe(true);
  });
});
