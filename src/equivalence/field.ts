/**
 * The finite field of the equivalence verifier (docs/equivalence.md).
 *
 * p = 1048343 = 2q + 1 with q = 524171 prime, and ω = 4 of order q in Z_p*. Every value
 * has two lanes: its residue mod p and its residue mod q. exp(x) := ω^(x mod q) mod p is
 * then a homomorphism from (Z_q, +) into (Z_p*, ·), so exp(a + b) = exp(a)·exp(b) holds
 * exactly, which is what lets an online softmax's rescaling cancel. The result of an exp
 * has no meaningful q-lane (its residue mod q is not a function of the p-lane), so an exp
 * of an exp cannot be evaluated: lanes.ts reports it unverifiable before anything runs.
 *
 * Division is x · y^(m-2) in lane m, so 1/0 = 0 and inversion stays multiplicative for
 * every argument; sqrt(x) := x^((m+1)/4) (both moduli are 3 mod 4), a multiplicative map
 * whose square is ±x; rsqrt := 1/sqrt. A double constant is the dyadic rational it is
 * exactly, k·2^e, mapped as k · (2^e mod m).
 *
 * Residues are kept as integers in [0, m) stored in doubles: a product of two is below
 * 2^40, so 8192 of them sum exactly below 2^53 (8192·(p-1)² < 2^53).
 */

export const P = 1048343;
export const Q = 524171;
export const OMEGA = 4;

/** How many products of two residues mod p a float64 accumulator holds exactly. */
export const EXACT_TERMS = 8192;

/** Which lanes a tensor carries, as a bit set. */
export const LANE_P = 1;
export const LANE_Q = 2;
export type LaneSet = number;

/** x mod m in [0, m) for an integer x with |x| < 2^53. */
export function reduceMod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** a·b mod m for residues a, b < 2^20 (the product is exact in a double). */
export function mulMod(a: number, b: number, m: number): number {
  return (a * b) % m;
}

export function powMod(base: number, exponent: number, m: number): number {
  let result = 1;
  let b = reduceMod(base, m);
  let e = exponent;
  while (e > 0) {
    if (e & 1) result = (result * b) % m;
    b = (b * b) % m;
    e = Math.floor(e / 2);
  }
  return result;
}

/** x^(m-2): the inverse of x mod m, and 0 for 0. */
export function invMod(x: number, m: number): number {
  return powMod(x, m - 2, m);
}

/** x^((m+1)/4): a square root of x or of -x (m is 3 mod 4); 0 for 0. */
export function sqrtMod(x: number, m: number): number {
  return powMod(x, (m + 1) / 4, m);
}

const inverseTables = new Map<number, Uint32Array>();

/**
 * inv[x] = x^(m-2) mod m for every x < m (inv[0] = 0), built in O(m) from
 * inv[i] = -(m div i)·inv[m mod i]. 4 MB for p, 2 MB for q; built once per thread.
 */
export function inverseTable(m: number): Uint32Array {
  let table = inverseTables.get(m);
  if (table === undefined) {
    table = new Uint32Array(m);
    if (m > 1) table[1] = 1;
    const im = 1 / m;
    for (let i = 2; i < m; i++) {
      const quotient = Math.floor(m / i);
      // -(m div i)·inv[m mod i] mod m; the product is below 2^40, reduced by one multiplication by 1/m.
      const product = quotient * table[m - quotient * i]!;
      let r = product - Math.floor(product * im) * m;
      if (r < 0) r += m;
      else if (r >= m) r -= m;
      table[i] = r === 0 ? 0 : m - r;
    }
    inverseTables.set(m, table);
  }
  return table;
}

let expTableCache: Uint32Array | undefined;

/** exp[k] = ω^k mod p for k < q. */
export function expTable(): Uint32Array {
  if (expTableCache === undefined) {
    const table = new Uint32Array(Q);
    let value = 1;
    for (let k = 0; k < Q; k++) {
      table[k] = value;
      value = (value * OMEGA) % P;
    }
    expTableCache = table;
  }
  return expTableCache;
}

/** Bits of the exponent the low table of expSplit covers. */
export const EXP_LOW_BITS = 10;

let expSplitCache: { readonly low: Float64Array; readonly high: Float64Array } | undefined;

/**
 * ω^k for k < q as low[k mod 2^10] · high[k >> 10] mod p, with low[i] = ω^i and
 * high[i] = ω^(1024·i): 12 KB that stay in cache, where the 2 MB of expTable are a
 * cache miss per element on a large exp.
 */
export function expSplit(): { readonly low: Float64Array; readonly high: Float64Array } {
  if (expSplitCache === undefined) {
    const low = new Float64Array(1 << EXP_LOW_BITS);
    const high = new Float64Array(Math.ceil(Q / low.length));
    const step = powMod(OMEGA, low.length, P);
    low[0] = 1;
    for (let i = 1; i < low.length; i++) low[i] = (low[i - 1]! * OMEGA) % P;
    high[0] = 1;
    for (let i = 1; i < high.length; i++) high[i] = (high[i - 1]! * step) % P;
    expSplitCache = { low, high };
  }
  return expSplitCache;
}

/** A constant as its dyadic rational k·2^e: exact integers k (|k| < 2^53) and e. */
export function dyadic(c: number): { readonly k: number; readonly e: number } {
  if (!Number.isFinite(c)) throw new RangeError(`field: constant ${c} is not finite`);
  if (c === 0) return { k: 0, e: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, c);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const mantissa = (high & 0xfffff) * 2 ** 32 + low;
  const k = biased === 0 ? mantissa : mantissa + 2 ** 52;
  const e = (biased === 0 ? 1 : biased) - 1075;
  return { k: c < 0 ? -k : k, e };
}

/** The residue of the constant `c` (exactly k·2^e) modulo m. */
export function constantMod(c: number, m: number): number {
  const { k, e } = dyadic(c);
  const scale = e >= 0 ? powMod(2, e, m) : powMod(invMod(2, m), -e, m);
  return mulMod(reduceMod(k, m), scale, m);
}
