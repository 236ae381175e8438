/**
 * Keyed pseudo-random functions of the verifier: the random inputs of a seed, and the
 * opaque functions that stand for the operators the field cannot express (max, silu,
 * gelu, relu).
 *
 * Inputs are counter-based: element i of input k in lane L under seed s is a hash of
 * (s, k, L, i), so an element can be drawn without drawing the ones before it, and the
 * p-lane does not depend on whether the q-lane is drawn. Residues come from the top bits
 * of a 32-bit hash with rejection (re-hashing) when they land above the modulus, so they
 * are exactly uniform, not biased by a `% m`.
 *
 * An opaque function is a keyed hash of its argument's p-lane (max: of the q-lanes when
 * its arguments have them, lanes.ts) that yields both lanes of its result: equal arguments
 * give equal results, on both sides of a comparison alike, and no algebraic law is
 * assumed. max is the hash of the unordered pair, so it is
 * commutative; a softmax's max is only ever a stabilizer that cancels (exp(s - h) =
 * exp(s)·exp(-h) for any h), so an online softmax verifies against a plain one.
 */
import { P, Q } from './field.js';

/** A 32-bit avalanche mixer (xor-shift-multiply, the "lowbias32" constants). */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit key from a list of 32-bit words (order matters). */
export function deriveKey(...words: readonly number[]): number {
  let h = 0x2545f491;
  for (const w of words) h = mix32((h ^ mix32((w >>> 0) + 0x9e3779b9)) + 0x6a09e667);
  return h;
}

export const REHASH = 0x632be5ab;

/** A uniform residue mod p from a 32-bit hash: its top 20 bits, re-hashed while >= p. */
export function residueP(hash: number): number {
  let h = hash;
  let x = h >>> 12;
  while (x >= P) {
    h = mix32(h + REHASH);
    x = h >>> 12;
  }
  return x;
}

/** A uniform residue mod q from a 32-bit hash: its top 19 bits, re-hashed while >= q. */
export function residueQ(hash: number): number {
  let h = hash;
  let x = h >>> 13;
  while (x >= Q) {
    h = mix32(h + REHASH);
    x = h >>> 13;
  }
  return x;
}

/** Fills `out[j]` with element `start + j` of the stream `key` in lane p (`q` false) or q. */
export function fillRandom(out: Float64Array, key: number, q: boolean, start = 0): void {
  const k1 = mix32(key ^ 0x51ed270b);
  const k2 = mix32(key + 0x7f4a7c15);
  for (let j = 0; j < out.length; j++) {
    const h = mix32(mix32((start + j) ^ k1) ^ k2);
    out[j] = q ? residueQ(h) : residueP(h);
  }
}

/** Element `index` of the stream `key`, as fillRandom draws it. */
export function randomElement(key: number, q: boolean, index: number): number {
  const h = mix32(mix32(index ^ mix32(key ^ 0x51ed270b)) ^ mix32(key + 0x7f4a7c15));
  return q ? residueQ(h) : residueP(h);
}

export const OPAQUE_FUNCTIONS = ['max', 'silu', 'gelu', 'relu'] as const;
export type OpaqueFunction = (typeof OPAQUE_FUNCTIONS)[number];

/** The keys of one seed's opaque functions: two words per function and lane. */
export interface OpaqueKeys {
  readonly seed: number;
  /** [p1, p2, q1, q2] per function. */
  readonly words: Readonly<Record<OpaqueFunction, readonly [number, number, number, number]>>;
}

export function opaqueKeys(seed: number): OpaqueKeys {
  const words = Object.fromEntries(OPAQUE_FUNCTIONS.map((fn, i) =>
    [fn, [0, 1, 2, 3].map((w) => deriveKey(seed, 0x0bad5eed, i, w)) as unknown as readonly [number, number, number, number]]));
  return Object.freeze({ seed, words: Object.freeze(words) as OpaqueKeys['words'] });
}

/** The p-lane of an opaque unary function of the residue x (a p-lane value). */
export function opaqueP(words: readonly number[], x: number): number {
  return residueP(mix32(mix32(x ^ words[0]!) ^ words[1]!));
}

/** The q-lane of an opaque unary function of the residue x. */
export function opaqueQ(words: readonly number[], x: number): number {
  return residueQ(mix32(mix32(x ^ words[2]!) ^ words[3]!));
}

/**
 * The p-lane of max(a, b) for p-lane residues a, b: the unordered pair (both < 2^20)
 * folded into 32 bits (the smaller scrambled by a keyed odd multiply, plus the larger) and mixed. Folds over long rows
 * call it once per element, so it is one mix, not two.
 */
export function opaqueMaxP(words: readonly number[], a: number, b: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  return residueP(mix32((Math.imul(lo ^ words[0]!, 0x9e3779b1) + hi) ^ words[1]!));
}

/** The q-lane of max(a, b). */
export function opaqueMaxQ(words: readonly number[], a: number, b: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  return residueQ(mix32((Math.imul(lo ^ words[2]!, 0x9e3779b1) + hi) ^ words[3]!));
}
