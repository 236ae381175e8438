/**
 * Reads the infix form that `Expr.pretty()` prints, so tests, reports and bug reports can
 * write terms as text: `sum[64](v0 * v1) / sqrt(v2)`. The round trip parse(pretty(e)) is
 * the identity. Grammar (left-associative, * and / bind tighter than +):
 *   expr   := term ('+' term)*
 *   term   := factor (('*' | '/') factor)*
 *   factor := number | '-' number | 'v' index | name '(' expr ')' | 'sum' '[' size ']' '(' expr ')' | '(' expr ')'
 */
import { add, constant, div, type Expr, ExprError, input, mul, sum, unary, UNARY_KINDS, type UnaryKind } from './expr.js';

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\S))/y;

export function parseExpr(text: string): Expr {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const m = TOKEN.exec(text);
    if (!m) break;
    const token = m[1] ?? m[2] ?? m[3];
    if (token !== undefined) tokens.push(token);
  }
  let at = 0;
  const fail = (message: string): never => {
    throw new ExprError(`cannot parse ${JSON.stringify(text)}: ${message} at token ${at} (${JSON.stringify(tokens[at] ?? 'end')})`);
  };
  const expect = (token: string) => {
    if (tokens[at] !== token) fail(`expected ${JSON.stringify(token)}`);
    at++;
  };
  const number = (): number => {
    const t = tokens[at++];
    const value = t === undefined ? NaN : Number(t);
    return Number.isFinite(value) && /^[\d.]/.test(t!) ? value : fail('expected a number');
  };
  const parseSum = (): Expr => {
    let left = parseTerm();
    while (tokens[at] === '+') {
      at++;
      left = add(left, parseTerm());
    }
    return left;
  };
  const parseTerm = (): Expr => {
    let left = parseFactor();
    for (;;) {
      const op = tokens[at];
      if (op !== '*' && op !== '/') return left;
      at++;
      const right = parseFactor();
      left = op === '*' ? mul(left, right) : div(left, right);
    }
  };
  const parseFactor = (): Expr => {
    const t = tokens[at];
    if (t === undefined) return fail('unexpected end');
    if (t === '(') {
      at++;
      const inner = parseSum();
      expect(')');
      return inner;
    }
    if (t === '-') {
      at++;
      return constant(-number());
    }
    if (/^[\d.]/.test(t)) return constant(number());
    if (/^v\d+$/.test(t)) {
      at++;
      return input(Number(t.slice(1)));
    }
    if (t === 'sum') {
      at++;
      expect('[');
      const n = number();
      expect(']');
      expect('(');
      const inner = parseSum();
      expect(')');
      return sum(n, inner);
    }
    if ((UNARY_KINDS as readonly string[]).includes(t)) {
      at++;
      expect('(');
      const inner = parseSum();
      expect(')');
      return unary(t as UnaryKind, inner);
    }
    return fail('expected a term');
  };
  const result = parseSum();
  if (at !== tokens.length) fail('trailing input');
  return result;
}
