/**
 * The abstract value of a tensor: usually one term (every element is computed the same
 * way, up to indices), but a concatenation is piecewise (elements along one dimension come
 * from different terms), and a few shapes of computation are not represented at all.
 *
 *   term     one Expr for every element
 *   pieces   along one dimension (counted from the end, so broadcasting aligns it), runs of
 *            elements given by different terms with their extents: LoRA's (X ‖ XA) tile
 *   opaque   not represented (a reshape across a concatenation, a tile cut across one, two
 *            concatenations along different dimensions); lookups answer 'unknown'
 *
 * The operations below lift term constructors to values, and give the rules for how
 * pieces travel through broadcasting, matmul, reductions, transposes and concatenation.
 * A matmul whose contracted dimension is piecewise in both operands (aligned) becomes a
 * sum of per-piece sums: (X ‖ XA)·(W ‖ B) = sum[k](X·W) + sum[r](XA·B).
 */
import { add, type Expr, mul, sum } from './expr.js';

export interface Piece {
  readonly expr: Expr;
  /** Elements along the piece axis. */
  readonly extent: number;
}

export type AbstractValue =
  | { readonly kind: 'term'; readonly expr: Expr }
  | { readonly kind: 'pieces'; readonly axis: number; readonly pieces: readonly Piece[] }
  | { readonly kind: 'opaque'; readonly reason: string };

export function term(expr: Expr): AbstractValue {
  return Object.freeze({ kind: 'term', expr });
}

export function opaque(reason: string): AbstractValue {
  return Object.freeze({ kind: 'opaque', reason });
}

/** Pieces along `axis` (from the end); adjacent equal terms merge, a single term is a term. */
export function piecewise(axis: number, pieces: readonly Piece[]): AbstractValue {
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (last && last.expr === p.expr) merged[merged.length - 1] = { expr: p.expr, extent: last.extent + p.extent };
    else merged.push({ expr: p.expr, extent: p.extent });
  }
  if (merged.length === 1) return term(merged[0]!.expr);
  return Object.freeze({ kind: 'pieces', axis, pieces: Object.freeze(merged.map((p) => Object.freeze(p))) });
}

/** The terms a value is made of (empty for opaque). */
export function termsOf(v: AbstractValue): Expr[] {
  if (v.kind === 'term') return [v.expr];
  if (v.kind === 'pieces') return v.pieces.map((p) => p.expr);
  return [];
}

export function describeValue(v: AbstractValue): string {
  if (v.kind === 'term') return v.expr.pretty();
  if (v.kind === 'opaque') return `opaque (${v.reason})`;
  return `pieces along axis -${v.axis + 1}: ${v.pieces.map((p) => `[${p.extent}] ${p.expr.pretty()}`).join(' ‖ ')}`;
}

/** f applied elementwise. */
export function map1(v: AbstractValue, f: (x: Expr) => Expr): AbstractValue {
  if (v.kind === 'term') return term(f(v.expr));
  if (v.kind === 'pieces') return piecewise(v.axis, v.pieces.map((p) => ({ expr: f(p.expr), extent: p.extent })));
  return v;
}

/** f applied elementwise with broadcasting; two piecewise operands must be cut along the same axis. */
export function map2(x: AbstractValue, y: AbstractValue, f: (a: Expr, b: Expr) => Expr): AbstractValue {
  if (x.kind === 'opaque') return x;
  if (y.kind === 'opaque') return y;
  if (x.kind === 'term' && y.kind === 'term') return term(f(x.expr, y.expr));
  if (x.kind === 'term') return map1(y, (b) => f(x.expr, b));
  if (y.kind === 'term') return map1(x, (a) => f(a, y.expr));
  if (x.kind !== 'pieces' || y.kind !== 'pieces') return opaque('unreachable');
  if (x.axis !== y.axis) return opaque('operands concatenated along different dimensions');
  return piecewise(x.axis, alignPieces(x.pieces, y.pieces).map(({ a, b, extent }) => ({ expr: f(a, b), extent })));
}

/** Cuts two piece lists of the same total extent at the union of their boundaries. */
export function alignPieces(xs: readonly Piece[], ys: readonly Piece[]): { a: Expr; b: Expr; extent: number }[] {
  const out: { a: Expr; b: Expr; extent: number }[] = [];
  let i = 0;
  let j = 0;
  let leftX = xs[0]?.extent ?? 0;
  let leftY = ys[0]?.extent ?? 0;
  while (i < xs.length && j < ys.length) {
    const step = Math.min(leftX, leftY);
    out.push({ a: xs[i]!.expr, b: ys[j]!.expr, extent: step });
    leftX -= step;
    leftY -= step;
    if (leftX === 0 && ++i < xs.length) leftX = xs[i]!.extent;
    if (leftY === 0 && ++j < ys.length) leftY = ys[j]!.extent;
  }
  return out;
}

/** Σ over the dimension `axis` (from the end) of extent `size`; `keep`: the dim stays (size 1). */
export function reduceSum(v: AbstractValue, axis: number, size: number, keep: boolean): AbstractValue {
  if (v.kind === 'term') return term(sum(size, v.expr));
  if (v.kind === 'opaque') return v;
  if (v.axis === axis) return term(v.pieces.map((p) => sum(p.extent, p.expr)).reduce((s, t) => add(s, t)));
  const pieces = v.pieces.map((p) => ({ expr: sum(size, p.expr), extent: p.extent }));
  return piecewise(!keep && axis < v.axis ? v.axis - 1 : v.axis, pieces);
}

/** A reduction with a term-level function `f` (max) over `axis`: piecewise there is not represented. */
export function reduceWith(v: AbstractValue, axis: number, keep: boolean, f: (x: Expr) => Expr): AbstractValue {
  if (v.kind === 'term') return term(f(v.expr));
  if (v.kind === 'opaque') return v;
  if (v.axis === axis) return opaque('a max across a concatenation');
  return piecewise(!keep && axis < v.axis ? v.axis - 1 : v.axis, v.pieces.map((p) => ({ expr: f(p.expr), extent: p.extent })));
}

/**
 * a[..., m, k] · b[..., k, n] as Σ_k a·b. Piece axes: a's k and b's k (axis 0 and 1) meet in
 * the sum; a's m stays axis 1, b's n stays axis 0, batch axes stay put.
 */
export function matmulValue(x: AbstractValue, y: AbstractValue, k: number): AbstractValue {
  if (x.kind === 'opaque') return x;
  if (y.kind === 'opaque') return y;
  const contractedX = x.kind === 'pieces' && x.axis === 0;
  const contractedY = y.kind === 'pieces' && y.axis === 1;
  if (contractedX || contractedY) {
    const xs = x.kind === 'pieces' && contractedX ? x.pieces : undefined;
    const ys = y.kind === 'pieces' && contractedY ? y.pieces : undefined;
    const other = (v: AbstractValue) => (v.kind === 'term' ? v.expr : undefined);
    const left = xs ?? (other(x) ? [{ expr: other(x)!, extent: k }] : undefined);
    const right = ys ?? (other(y) ? [{ expr: other(y)!, extent: k }] : undefined);
    if (!left || !right) return opaque('a matmul over a concatenation with the other operand concatenated along another dimension');
    const terms = alignPieces(left, right).map(({ a, b, extent }) => sum(extent, mul(a, b)));
    return term(terms.reduce((s, t) => add(s, t)));
  }
  // Neither contracted: at most one piece axis may survive, and it keeps its position.
  if (x.kind === 'pieces' && y.kind === 'pieces' && !(x.axis >= 2 && x.axis === y.axis)) {
    return opaque('both matmul operands concatenated along free dimensions');
  }
  return map2(x, y, (a, b) => sum(k, mul(a, b)));
}

/** Dimension `axis` (from the end, rank r) after a permutation: output i is input perm[i]. */
export function transposeValue(v: AbstractValue, perm: readonly number[]): AbstractValue {
  if (v.kind !== 'pieces') return v;
  const rank = perm.length;
  const from = rank - 1 - v.axis;
  const to = perm.indexOf(from);
  return piecewise(rank - 1 - to, v.pieces);
}

/** A reshape keeps a piece axis only when it and every dimension after it are unchanged. */
export function reshapeValue(v: AbstractValue, from: readonly number[], to: readonly number[]): AbstractValue {
  if (v.kind !== 'pieces') return v;
  for (let i = 0; i <= v.axis; i++) {
    if (from[from.length - 1 - i] !== to[to.length - 1 - i]) return opaque('a reshape across a concatenation');
  }
  return v;
}

/** Concatenation along `axis` (from the end) of values with the given extents there. */
export function concatValues(values: readonly AbstractValue[], extents: readonly number[], axis: number): AbstractValue {
  const pieces: Piece[] = [];
  for (const [i, v] of values.entries()) {
    if (v.kind === 'opaque') return v;
    if (v.kind === 'term') pieces.push({ expr: v.expr, extent: extents[i]! });
    else if (v.axis === axis) pieces.push(...v.pieces);
    else return opaque('concatenations along two different dimensions');
  }
  return piecewise(axis, pieces);
}

/** `copies` side-by-side copies along `axis`: what savers' concatenation of workgroup tiles does. */
export function repeatValue(v: AbstractValue, axis: number, copies: number): AbstractValue {
  if (v.kind !== 'pieces' || v.axis !== axis || copies === 1) return v;
  return piecewise(axis, Array.from({ length: copies }, () => v.pieces).flat());
}
