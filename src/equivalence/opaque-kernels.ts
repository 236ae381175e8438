/**
 * Lane kernels of the opaque functions (keyed-hash.ts): each reads the p-lane of its
 * argument and writes whichever lanes of the result are wanted.
 */
import { numel, type Shape } from '../ir/shape.js';
import { mix32, opaqueMaxP, opaqueMaxQ, opaqueP, opaqueQ, residueP, residueQ } from './keyed-hash.js';

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
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let j = 0; j < inner; j++) {
      // `acc` is the hashed lane of the running max (its own q-lane, or p-lane, after the first step).
      let acc = hashed[base + j]!;
      let previous = acc;
      for (let s = 1; s < size; s++) {
        previous = acc;
        const v = hashed[base + s * inner + j]!;
        acc = byQ ? opaqueMaxQInline(w2, w3, acc, v) : opaqueMaxPInline(w0, w1, acc, v);
      }
      const last = hashed[base + (size - 1) * inner + j]!;
      const target = o * inner + j;
      if (outP) outP[target] = byQ ? opaqueMaxPInline(w0, w1, previous, last) : acc;
      if (outQ) outQ[target] = byQ ? acc : opaqueMaxQ(words, previous, last);
    }
  }
}

/** opaqueMaxQ, inlined by hand (as below). */
function opaqueMaxQInline(w2: number, w3: number, a: number, b: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  return residueQ(mix32((Math.imul(lo ^ w2, 0x9e3779b1) + hi) ^ w3));
}

/** opaqueMaxP, inlined by hand: this runs once per element of every row reduced. */
function opaqueMaxPInline(w0: number, w1: number, a: number, b: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  return residueP(mix32((Math.imul(lo ^ w0, 0x9e3779b1) + hi) ^ w1));
}
