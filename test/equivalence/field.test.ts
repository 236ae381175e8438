import { describe, expect, it } from 'vitest';
import { constantMod, dyadic, expTable, invMod, inverseTable, OMEGA, P, powMod, Q, sqrtMod } from '../../src/equivalence/field.js';
import { fieldDomain } from '../../src/equivalence/field-domain.js';
import { UnverifiableError, ZeroDenominatorError } from '../../src/equivalence/errors.js';
import { fillRandom, opaqueKeys, opaqueMaxP, opaqueMaxQ, randomElement } from '../../src/equivalence/keyed-hash.js';
import { expLane } from '../../src/equivalence/field-kernels.js';
import { maxReduceLanes } from '../../src/equivalence/opaque-kernels.js';
import { matmulMod, pinAll, unpinAll } from '../../src/equivalence/wasm-matmul.js';
import { batchedMatmulMod } from '../../src/equivalence/strided-matmul.js';

const big = (x: number) => BigInt(x);

describe('the field', () => {
  it('p = 2q + 1, both prime, ω = 4 of order q', () => {
    expect(P).toBe(2 * Q + 1);
    const isPrime = (n: number) => { for (let d = 2; d * d <= n; d++) if (n % d === 0) return false; return n > 1; };
    expect(isPrime(P) && isPrime(Q)).toBe(true);
    expect(powMod(OMEGA, Q, P)).toBe(1);
    expect(OMEGA % P).not.toBe(1);
  });

  it('inverse tables: x·inv(x) = 1 mod m for every x > 0, and inv(0) = 0', () => {
    for (const m of [P, Q]) {
      const inv = inverseTable(m);
      expect(inv[0]).toBe(0);
      let wrong = 0;
      for (let x = 1; x < m; x++) if ((x * inv[x]!) % m !== 1) wrong++;
      expect(wrong).toBe(0);
      expect(inv[m - 1]).toBe(invMod(m - 1, m));
    }
  });

  it('exp is a homomorphism from Z_q into Z_p*: exp(a + b) = exp(a)·exp(b)', () => {
    const table = expTable();
    for (const [a, b] of [[1, 2], [Q - 1, 5], [123456, 400000]] as const) {
      expect(table[(a + b) % Q]).toBe((table[a]! * table[b]!) % P);
    }
  });

  it('the lane kernel of exp (split tables) is ω^x mod p for every exponent x < q', () => {
    const exponents = Float64Array.from({ length: Q }, (_, x) => x);
    const out = new Float64Array(Q);
    expLane(exponents, out);
    const table = expTable();
    for (let x = 0; x < Q; x++) if (out[x] !== table[x]) expect([x, out[x]]).toEqual([x, table[x]]);
    expect(table[Q - 1]).toBe(powMod(OMEGA, Q - 1, P));
  });

  it('max folds, four side by side, equal one fold at a time along every dimension', () => {
    const words = opaqueKeys(7).words.max;
    for (const shape of [[3, 5, 7], [1, 9, 2], [2, 2, 2], [5, 64]] as number[][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const p = new Float64Array(n);
      const q = new Float64Array(n);
      fillRandom(p, 11, false);
      fillRandom(q, 12, true);
      for (let dim = 0; dim < shape.length; dim++) {
        for (const x of [{ p, q }, { p, q: undefined }]) {
          const size = shape[dim]!;
          const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
          const outP = new Float64Array(n / size);
          const outQ = new Float64Array(n / size);
          maxReduceLanes(words, x, shape, dim, outP, size > 1 || x.q ? outQ : undefined);
          for (let g = 0; g < n / size; g++) {
            const base = Math.floor(g / inner) * size * inner + (g % inner);
            // The reference fold: one element at a time, as the generic interpreters fold.
            let acc = { p: p[base]!, q: x.q ? q[base]! : undefined };
            for (let s = 1; s < size; s++) {
              const v = { p: p[base + s * inner]!, q: x.q ? q[base + s * inner]! : undefined };
              acc = x.q
                ? { p: opaqueMaxP(words, acc.q!, v.q!), q: opaqueMaxQ(words, acc.q!, v.q!) }
                : { p: opaqueMaxP(words, acc.p, v.p), q: opaqueMaxQ(words, acc.p, v.p) };
            }
            expect(outP[g]).toBe(acc.p);
            if (size > 1 || x.q) expect(outQ[g]).toBe(size > 1 ? acc.q : q[base]);
          }
        }
      }
    }
  });

  it('sqrt(x)² = ±x in both lanes', () => {
    for (const m of [P, Q]) for (const x of [2, 3, 1000, m - 5]) {
      const s = sqrtMod(x, m);
      expect([x, (m - x) % m]).toContain((s * s) % m);
    }
  });

  it('a double constant is its exact dyadic rational k·2^e', () => {
    for (const c of [1e-6, -0.1, 1 / 4096, 3, 2 ** 60, -(2 ** -1074), 0.044715]) {
      const { k, e } = dyadic(c);
      expect(k * 2 ** e).toBe(c);
      const pBig = big(P);
      const expected = e >= 0 ? (big(k) * 2n ** big(e)) % pBig : (big(k) * big(powMod(invMod(2, P), -e, P))) % pBig;
      expect(constantMod(c, P)).toBe(Number((expected + pBig) % pBig));
    }
    expect(constantMod(0.5, P)).toBe(invMod(2, P));
    expect(constantMod(1 / 3, P)).not.toBe(invMod(3, P)); // 1/3 as a double is not a third
  });

  it('the generic field domain: 1/0 = 0; zero denominators throw on the program side; exp of an exp is unverifiable', () => {
    const d = fieldDomain(1);
    expect(d.div(d.one, d.zero)).toEqual(d.zero);
    expect(() => fieldDomain(1, { checkDenominators: true }).div(d.one, d.zero)).toThrow(ZeroDenominatorError);
    expect(() => d.exp(d.exp(d.one))).toThrow(UnverifiableError);
    expect(d.max(d.one, d.fromConstant(2))).toEqual(d.max(d.fromConstant(2), d.one));
    expect(fieldDomain(2).silu(d.one)).not.toEqual(d.silu(d.one)); // keyed by the seed
  });

  it('random residues are in range and depend on the key', () => {
    const a = new Float64Array(10000);
    const b = new Float64Array(10000);
    fillRandom(a, 1, false);
    fillRandom(b, 2, true);
    expect(a.every((x) => Number.isInteger(x) && x >= 0 && x < P)).toBe(true);
    expect(b.every((x) => Number.isInteger(x) && x >= 0 && x < Q)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(9900);
    // Counter-based: any element, or run, drawn on its own is that element of the full draw.
    expect(randomElement(1, false, 1234)).toBe(a[1234]);
    const run = new Float64Array(10);
    fillRandom(run, 2, true, 500);
    expect(Array.from(run)).toEqual(Array.from(b.subarray(500, 510)));
  });
});

describe('field matmul (WebAssembly kernel)', () => {
  const check = (m: number, k: number, n: number, modulus: number) => {
    const a = new Float64Array(m * k);
    const b = new Float64Array(k * n);
    fillRandom(a, m * 31 + k, modulus === Q);
    fillRandom(b, n * 17 + k, modulus === Q);
    const out = new Float64Array(m * n);
    matmulMod(a, 0, k, b, 0, n, out, 0, m, k, n, modulus);
    for (const [i, j] of [[0, 0], [m - 1, n - 1], [m >> 1, n >> 1], [m - 1, 0]] as const) {
      let acc = 0n;
      for (let kk = 0; kk < k; kk++) acc += big(a[i * k + kk]!) * big(b[kk * n + j]!);
      expect(out[i * n + j], `[${i}, ${j}] of ${m}x${k}x${n}`).toBe(Number(acc % big(modulus)));
    }
  };

  it('is exact, edges (m, n not multiples of 4) included', () => {
    check(5, 70, 7, P);
    check(13, 300, 259, P);
    check(2, 1024, 33, Q);
  });

  it('reduces every 8192 steps of K (K = 9000 would overflow 2^53 otherwise)', () => {
    check(4, 9000, 8, P);
  });

  it('is exact on strided operands, pinned B, accumulating, every element', () => {
    for (const [m, k, n, pin, accumulate] of [[6, 130, 12, false, true], [16, 64, 64, true, true], [9, 300, 260, true, false], [3, 9000, 20, false, true]] as const) {
      const [lda, ldb] = [k + 3, n + 4];
      const a = new Float64Array(m * lda);
      const b = new Float64Array(k * ldb + 8);
      fillRandom(a, m + k, false);
      fillRandom(b, n + k, false);
      const out = new Float64Array(m * n);
      fillRandom(out, 99, false);
      const before = Float64Array.from(out);
      if (pin) pinAll([b]);
      matmulMod(a, 2, lda, b, 4, ldb, out, 0, m, k, n, P, accumulate);
      unpinAll();
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = accumulate ? big(before[i * n + j]!) : 0n;
          for (let kk = 0; kk < k; kk++) acc += big(a[2 + i * lda + kk]!) * big(b[4 + kk * ldb + j]!);
          if (out[i * n + j] !== Number(acc % big(P))) expect([m, k, n, i, j, out[i * n + j]]).toEqual([m, k, n, i, j, Number(acc % big(P))]);
        }
      }
    }
  });

  it('reads strided views in place and accumulates', () => {
    const [m, k, n] = [4, 8, 8];
    const storage = new Float64Array(16 * 16).map((_, i) => i % 97);
    const a = new Float64Array(m * k).map((_, i) => (i * 7) % 101);
    const out = new Float64Array(m * n).fill(5);
    // b is rows 4..11, columns 8..15 of a 16x16 tensor.
    batchedMatmulMod({ data: a, offset: 0, shape: [m, k], strides: [k, 1] }, { data: storage, offset: 4 * 16 + 8, shape: [k, n], strides: [16, 1] }, out, [m, n], P, true);
    let expected = 5;
    for (let kk = 0; kk < k; kk++) expected += a[kk]! * storage[(4 + kk) * 16 + 8]!;
    expect(out[0]).toBe(expected % P);
  });
});
