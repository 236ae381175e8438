/** Abstract expressions: hash-consing, the constructors' simplifications, validation, hashes, printing and parsing. */
import { describe, expect, it } from 'vitest';
import { add, constant, div, exp, Expr, ExprError, input, inv, max, mul, sqrt, sub, subterms, sum, unary } from '../../src/search/expr.js';
import { parseExpr } from '../../src/search/expr-parse.js';

const x = input(0);
const w = input(1);

describe('abstract expressions', () => {
  it('are hash-consed: equal structure is the same object', () => {
    expect(mul(x, add(w, constant(2)))).toBe(mul(input(0), add(input(1), constant(2))));
    expect(mul(x, w)).not.toBe(mul(w, x));
    expect(sum(64, x)).not.toBe(sum(32, x));
    expect(constant(-0)).toBe(constant(0));
  });

  it('map sub and div into add, mul and inv', () => {
    expect(sub(x, w)).toBe(add(x, mul(constant(-1), w)));
    expect(div(x, w)).toBe(mul(x, inv(w)));
  });

  it('collapse sum[1], merge directly nested sums, and make max idempotent', () => {
    expect(sum(1, x)).toBe(x);
    expect(sum(8, sum(64, mul(x, w)))).toBe(sum(512, mul(x, w)));
    expect(sum(8, mul(sum(64, x), w))).not.toBe(sum(512, mul(x, w)));
    expect(max(max(x))).toBe(max(x));
    expect(unary('max', max(x))).toBe(max(x));
  });

  it('reject malformed terms', () => {
    expect(() => constant(Infinity)).toThrow(ExprError);
    expect(() => input(-1)).toThrow(/non-negative/);
    expect(() => input(1.5)).toThrow(/non-negative/);
    expect(() => sum(0, x)).toThrow(/positive/);
    expect(() => sum(2.5, x)).toThrow(/positive/);
    expect(() => Expr.make('sum', 1, [x])).toThrow(/>= 2/);
    expect(() => Expr.make('add', 0, [x])).toThrow(/2 operand/);
    expect(() => Expr.make('exp', 3, [x])).toThrow(/carries no value/);
    expect(() => Expr.make('nope' as never, 0, [])).toThrow(/unknown/);
  });

  it('have a structural hash that does not depend on construction order or process', () => {
    const e = sum(4096, mul(x, inv(sqrt(add(mul(sum(4096, mul(x, x)), constant(1 / 4096)), constant(1e-6))))));
    expect(e.hash).toMatch(/^[0-9a-f]{16}$/);
    // A fixed value: the hash is computed from kinds, payload bits and operand hashes only.
    expect(mul(x, w).hash).toBe('283269e10d62966f');
    expect(mul(x, w).hash).not.toBe(mul(w, x).hash);
    expect(constant(1).hash).not.toBe(input(1).hash);
    expect(e.size).toBe(13);
  });

  it('list subterms once, operands first', () => {
    const s = mul(add(x, w), add(x, w));
    expect(subterms([s]).map((t) => t.pretty())).toEqual(['v0', 'v1', 'v0 + v1', '(v0 + v1) * (v0 + v1)']);
  });

  it('print infix and parse back to the same term', () => {
    const terms = [
      div(sum(4096, mul(x, w)), sqrt(add(mul(sum(4096, mul(x, x)), constant(1 / 4096)), constant(1e-6)))),
      exp(add(sum(64, mul(x, w)), mul(constant(-1), max(sum(64, mul(x, w)))))),
      mul(x, mul(w, constant(2))),
      add(x, add(w, x)),
      mul(div(x, w), inv(add(x, w))),
      unary('silu', mul(constant(-0.5), x)),
      mul(constant(1e-7), unary('gelu', unary('relu', x))),
    ];
    for (const t of terms) expect(parseExpr(t.pretty())).toBe(t);
    expect(terms[0]!.pretty()).toBe('sum[4096](v0 * v1) / sqrt(sum[4096](v0 * v0) * 0.000244140625 + 0.000001)');
    expect(terms[2]!.pretty()).toBe('v0 * (v1 * 2)');
  });

  it('parse errors name the position', () => {
    expect(() => parseExpr('v0 +')).toThrow(/unexpected end/);
    expect(() => parseExpr('foo(v0)')).toThrow(/expected a term/);
    expect(() => parseExpr('v0 v1')).toThrow(/trailing input/);
    expect(() => parseExpr('sum[x](v0)')).toThrow(/expected a number/);
  });
});
