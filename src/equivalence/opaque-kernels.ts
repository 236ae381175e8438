/**
 * Lane kernels of the opaque functions (keyed-hash.ts): each reads the p-lane of its
 * argument and writes whichever lanes of the result are wanted.
 */
import { numel, type Shape } from '../ir/shape.js';
import { P, Q } from './field.js';
import { mix32, opaqueMaxP, opaqueMaxQ, opaqueP, opaqueQ, REHASH } from './keyed-hash.js';

/** An opaque unary function, element by element. */
export function opaqueLane(words: readonly number[], xp: Float64Array, outP: Float64Array | undefined, outQ: Float64Array | undefined): void {
  if (outP) for (let i = 0; i < xp.length; i++) outP[i] = opaqueP(words, xp[i]!);
  if (outQ) for (let i = 0; i < xp.length; i++) outQ[i] = opaqueQ(words, xp[i]!);
}

/** max(a, b) element by element (same shapes), from the hashed lanes of a and b (both q, or both p). */
export function maxLanes(words: readonly number[], a: Float64Array, b: Float64Array, outP: Float64Array | undefined, outQ: Float64Array | undefined): void {
  if (outQ) for (let i = 0; i < a.length; i++) outQ[i] = opaqueMaxQ(words, a[i]!, b[i]!);
  if (outP) for (let i = 0; i < a.length; i++) outP[i] = opaqueMaxP(words, a[i]!, b[i]!);
}

/**
 * max along `dim`, folded from the first element as the interpreters fold it:
 * acc = x_0, acc = max(acc, x_s), hashing the q-lanes when `x` has them (else the
 * p-lanes). A fold of one element is that element, lanes and all.
 */
export function maxReduceLanes(
  words: readonly number[], x: { readonly p: Float64Array | undefined; readonly q: Float64Array | undefined }, shape: Shape, dim: number,
  outP: Float64Array | undefined, outQ: Float64Array | undefined,
): void {
  const outer = numel(shape.slice(0, dim));
  const size = shape[dim]!;
  const inner = numel(shape.slice(dim + 1));
  if (size === 1) {
    if (outP) outP.set(x.p!);
    if (outQ) outQ.set(x.q!);
    return;
  }
  const hashed = x.q ?? x.p!;
  const byQ = x.q !== undefined;
  const [w0, w1, w2, w3] = [words[0]!, words[1]!, words[2]!, words[3]!];
  // Folds are independent: four run side by side (each a serial chain of hashes), which
  // about halves the time of one at a time. Fold f is (o, j), elements base + s·inner.
  const folds = outer * inner;
  const ends = foldScratch;
  const baseOf = (g: number) => Math.floor(g / inner) * size * inner + (g % inner);
  for (let f = 0; f < folds; f += 4) {
    const count = Math.min(4, folds - f);
    // A short group repeats its last fold.
    const [b0, b1, b2, b3] = [baseOf(f), baseOf(f + Math.min(1, count - 1)), baseOf(f + Math.min(2, count - 1)), baseOf(f + count - 1)];
    if (byQ) foldMax4(hashed, b0, b1, b2, b3, inner, size, w2, w3, 13, Q, ends);
    else foldMax4(hashed, b0, b1, b2, b3, inner, size, w0, w1, 12, P, ends);
    for (let t = 0; t < count; t++) {
      const g = f + t;
      // `acc` is the hashed lane of the running max (its own q-lane, or p-lane); `previous` its value before the last step.
      const acc = ends[t]!;
      const previous = ends[4 + t]!;
      const last = hashed[baseOf(g) + (size - 1) * inner]!;
      if (outP) outP[g] = byQ ? opaqueMaxPInline(w0, w1, previous, last) : acc;
      if (outQ) outQ[g] = byQ ? acc : opaqueMaxQ(words, previous, last);
    }
  }
}

const foldScratch = new Float64Array(8);

/**
 * Four max folds side by side over x[b + s·stride], s < size (size >= 2), hashing with
 * words (k1, k2) into residues mod m (shift 12 and P as residueP, 13 and Q as residueQ):
 * ends[t] the fold's result, ends[4 + t] its value before the last step. Each fold is
 * acc = x_0, acc = max(acc, x_s), exactly as one at a time.
 */
function foldMax4(
  x: Float64Array, b0: number, b1: number, b2: number, b3: number, stride: number, size: number, k1: number, k2: number,
  shift: number, m: number, ends: Float64Array,
): void {
  let a0 = x[b0]!;
  let a1 = x[b1]!;
  let a2 = x[b2]!;
  let a3 = x[b3]!;
  const end = (size - 1) * stride;
  for (let s = stride; s < end; s += stride) {
    a0 = maxHash(k1, k2, a0, x[b0 + s]!, shift, m);
    a1 = maxHash(k1, k2, a1, x[b1 + s]!, shift, m);
    a2 = maxHash(k1, k2, a2, x[b2 + s]!, shift, m);
    a3 = maxHash(k1, k2, a3, x[b3 + s]!, shift, m);
  }
  ends[4] = a0;
  ends[5] = a1;
  ends[6] = a2;
  ends[7] = a3;
  ends[0] = maxHash(k1, k2, a0, x[b0 + end]!, shift, m);
  ends[1] = maxHash(k1, k2, a1, x[b1 + end]!, shift, m);
  ends[2] = maxHash(k1, k2, a2, x[b2 + end]!, shift, m);
  ends[3] = maxHash(k1, k2, a3, x[b3 + end]!, shift, m);
}

/** opaqueMaxP (shift 12, mod P) or opaqueMaxQ (shift 13, mod Q) for their words, inlined by hand. */
function maxHash(k1: number, k2: number, a: number, b: number, shift: number, m: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  let h = mix32((Math.imul(lo ^ k1, 0x9e3779b1) + hi) ^ k2);
  let x = h >>> shift;
  while (x >= m) { // residueP / residueQ: re-hash while the top bits land above the modulus
    h = mix32(h + REHASH);
    x = h >>> shift;
  }
  return x;
}

/** opaqueMaxP, inlined by hand. */
function opaqueMaxPInline(w0: number, w1: number, a: number, b: number): number {
  return maxHash(w0, w1, a, b, 12, P);
}
