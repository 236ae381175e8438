/**
 * The finite field as a NumberDomain of the generic μGraph interpreter: each value a
 * boxed pair of lanes. Slow (an object per element), so the verifier uses the vectorized
 * evaluator (ugraph-eval.ts); this domain is its executable specification, and tests run
 * both on small graphs and require identical results.
 *
 * A value's q-lane is NaN when it has none (the result of an exp, and whatever is
 * computed from it by lane-wise arithmetic); an exp of such a value throws
 * UnverifiableError. Opaque functions (max, silu, gelu, relu) hash the p-lane (max: the
 * q-lanes when both arguments have one) and give fresh values in both lanes (keyed-hash.ts).
 */
import type { NumberDomain } from '../ugraph/domain.js';
import { UnverifiableError, ZeroDenominatorError } from './errors.js';
import { constantMod, expTable, invMod, P, Q, sqrtMod } from './field.js';
import { opaqueKeys, opaqueMaxP, opaqueMaxQ, opaqueP, opaqueQ, type OpaqueFunction } from './keyed-hash.js';

export interface FieldElement {
  /** Residue mod p. */
  readonly p: number;
  /** Residue mod q, or NaN when the value has no q-lane. */
  readonly q: number;
}

export interface FieldDomainOptions {
  /** Throw ZeroDenominatorError on a zero divisor or rsqrt argument (the program side does). */
  readonly checkDenominators?: boolean;
}

const element = (p: number, q: number): FieldElement => ({ p, q });
const lane = (f: (x: number, m: number) => number) => (x: number, m: number) => (Number.isNaN(x) ? NaN : f(x, m));
const modAdd = lane((x, m) => x % m);
const inv = lane((x, m) => invMod(x, m));
const sqrt = lane((x, m) => sqrtMod(x, m));

/** The field domain of one seed (the seed keys the opaque functions). */
export function fieldDomain(seed: number, options: FieldDomainOptions = {}): NumberDomain<FieldElement> {
  const keys = opaqueKeys(seed);
  const exps = expTable();
  const opaque = (fn: OpaqueFunction) => (x: FieldElement) => element(opaqueP(keys.words[fn], x.p), opaqueQ(keys.words[fn], x.p));
  const denominator = (x: FieldElement, what: string) => {
    if (options.checkDenominators && (x.p === 0 || x.q === 0)) throw new ZeroDenominatorError(what);
  };
  const mul = (a: FieldElement, b: FieldElement) => element((a.p * b.p) % P, modAdd(a.q * b.q, Q));
  const sqrtOf = (x: FieldElement) => element(sqrtMod(x.p, P), sqrt(x.q, Q));
  return Object.freeze({
    name: 'field',
    zero: element(0, 0),
    one: element(1, 1),
    fromConstant: (c: number) => element(constantMod(c, P), constantMod(c, Q)),
    add: (a: FieldElement, b: FieldElement) => element((a.p + b.p) % P, modAdd(a.q + b.q, Q)),
    sub: (a: FieldElement, b: FieldElement) => element((a.p - b.p + P) % P, modAdd(a.q - b.q + Q, Q)),
    mul,
    div: (a: FieldElement, b: FieldElement) => {
      denominator(b, 'div');
      return mul(a, element(invMod(b.p, P), inv(b.q, Q)));
    },
    exp: (x: FieldElement) => {
      if (Number.isNaN(x.q)) throw new UnverifiableError('exp of a value derived from an exp (its q-lane is unknown)');
      return element(exps[x.q]!, NaN);
    },
    sqrt: sqrtOf,
    rsqrt: (x: FieldElement) => {
      denominator(x, 'rsqrt');
      const s = sqrtOf(x);
      return element(invMod(s.p, P), inv(s.q, Q));
    },
    // max hashes the q-lanes when both have one, else the p-lanes (lanes.ts, maxHashLane).
    max: (a: FieldElement, b: FieldElement) => {
      const [x, y] = Number.isNaN(a.q) || Number.isNaN(b.q) ? [a.p, b.p] : [a.q, b.q];
      return element(opaqueMaxP(keys.words.max, x, y), opaqueMaxQ(keys.words.max, x, y));
    },
    silu: opaque('silu'),
    gelu: opaque('gelu'),
    relu: opaque('relu'),
  });
}
