/**
 * Abstract expressions (after Mirage): what each element of a tensor is, as a term over the
 * program's inputs, with the tiling forgotten except through reduction sizes. Search prunes
 * a partial μGraph whose tensors' terms are not subexpressions of the target's (subexpr.ts);
 * the finite-field verifier decides equivalence, so the check only needs to over-approximate.
 *
 * The vocabulary is deliberately small, so the rules stay few:
 *   v<i>          program input i (by position: names are labels)
 *   constants     finite numbers
 *   add, mul      binary, no sub or div: a - b = a + (-1)·b, a / b = a · inv(b)
 *   inv           1/x;  rsqrt(x) = inv(sqrt(x)), square(x) = x·x, scale(x, c) = x·c
 *   exp, sqrt, silu, gelu, relu   unary; only inv and sqrt take part in rules
 *   max           the max reduction, sizeless and opaque: a stabilizer (abstract-ugraph.ts)
 *   sum[n]        a sum of n terms (a reduction of size n, or a loop of n iterations)
 *
 * Terms are immutable and hash-consed: one object per structure, so structural equality is
 * `===` and maps can key on terms. The few simplifications the constructors make
 * (sum[1](x) = x, sum[m](sum[n](x)) = sum[mn](x), max(max(x)) = max(x)) apply to target and
 * candidate alike, so they never make two equal terms look different.
 */
export const EXPR_KINDS = ['input', 'const', 'add', 'mul', 'inv', 'exp', 'sqrt', 'silu', 'gelu', 'relu', 'max', 'sum'] as const;
export type ExprKind = (typeof EXPR_KINDS)[number];

/** The unary functions; only inv, sqrt and max have rules of their own (rules.ts). */
export const UNARY_KINDS = ['inv', 'exp', 'sqrt', 'silu', 'gelu', 'relu', 'max'] as const;
export type UnaryKind = (typeof UNARY_KINDS)[number];

const ARITY: Record<ExprKind, number> = {
  input: 0, const: 0, add: 2, mul: 2, inv: 1, exp: 1, sqrt: 1, silu: 1, gelu: 1, relu: 1, max: 1, sum: 1,
};

export function arityOf(kind: ExprKind): number {
  return ARITY[kind];
}

/** Kinds that carry a number: the input index, the constant's value, the sum's size. */
export function hasPayload(kind: ExprKind): boolean {
  return kind === 'input' || kind === 'const' || kind === 'sum';
}

export class ExprError extends Error {
  override readonly name = 'ExprError';
}

/** A hash-consed term. Build with the functions below, never with `new`. */
export class Expr {
  /** Payload: input index, constant value or sum size; 0 for other kinds. */
  readonly value: number;
  /** 64-bit structural hash as 16 hex digits: equal structures hash equal across processes. */
  readonly hash: string;
  /** Nodes of the term as a tree (shared subterms counted once per use). */
  readonly size: number;
  /** The two 32-bit lanes of `hash`, combined into parents' hashes. */
  private readonly hashHi: number;
  private readonly hashLo: number;
  private printed: string | undefined;

  private constructor(readonly kind: ExprKind, value: number, readonly args: readonly Expr[], hi: number, lo: number) {
    this.value = value;
    this.hash = (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
    this.size = args.reduce((total, a) => total + a.size, 1);
    this.hashHi = hi;
    this.hashLo = lo;
    Object.freeze(this.args);
  }

  /** The interning point: validates and returns the one term with this structure. */
  static make(kind: ExprKind, value: number, args: readonly Expr[]): Expr {
    if (!(EXPR_KINDS as readonly string[]).includes(kind)) throw new ExprError(`unknown expression kind ${JSON.stringify(kind)}`);
    if (args.length !== ARITY[kind]) throw new ExprError(`${kind} takes ${ARITY[kind]} operand(s), got ${args.length}`);
    if (args.some((a) => !(a instanceof Expr))) throw new ExprError(`${kind}: operands must be expressions`);
    if (!hasPayload(kind) && value !== 0) throw new ExprError(`${kind} carries no value`);
    if (kind === 'const' && !Number.isFinite(value)) throw new ExprError(`constants must be finite, got ${value}`);
    if (kind === 'input' && !(Number.isInteger(value) && value >= 0)) throw new ExprError(`input index must be a non-negative integer, got ${value}`);
    if (kind === 'sum' && !(Number.isInteger(value) && value >= 2)) throw new ExprError(`sum size must be an integer >= 2, got ${value}`);
    const payload = kind === 'const' && Object.is(value, -0) ? 0 : value;
    const key = internKey(kind, payload, args);
    const found = interned.get(key);
    if (found) return found;
    const [hi, lo] = structuralHash(kind, payload, args.map((a) => [a.hashHi, a.hashLo] as const));
    const expr = new Expr(kind, payload, args, hi, lo);
    interned.set(key, expr);
    return expr;
  }

  /** Infix form, e.g. `sum[4096](v0 * v1) / sqrt(sum[4096](v0 * v0) * 0.000244140625 + 0.000001)`. */
  pretty(): string {
    this.printed ??= print(this, 0);
    return this.printed;
  }

  toString(): string {
    return this.pretty();
  }
}

/** Interning table; intern ids are private to the process (hashes are not). */
const interned = new Map<string, Expr>();
const ids = new WeakMap<Expr, number>();
let nextId = 0;

function idOf(e: Expr): number {
  let id = ids.get(e);
  if (id === undefined) {
    id = nextId++;
    ids.set(e, id);
  }
  return id;
}

function internKey(kind: ExprKind, value: number, args: readonly Expr[]): string {
  return `${kind}:${value}:${args.map(idOf).join(',')}`;
}

/** Two FNV-style 32-bit lanes over kind, payload bits and the operands' hashes. */
function structuralHash(kind: ExprKind, value: number, args: readonly (readonly [number, number])[]): [number, number] {
  let hi = 0x811c9dc5 | 0;
  let lo = 0x9e3779b9 | 0;
  const mix = (x: number) => {
    hi = Math.imul(hi ^ x, 0x01000193);
    lo = Math.imul(lo ^ x, 0x5bd1e995);
    lo ^= lo >>> 15;
  };
  mix(EXPR_KINDS.indexOf(kind) + 1);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, value);
  mix(bits.getInt32(0));
  mix(bits.getInt32(4));
  for (const [h, l] of args) {
    mix(h);
    mix(l);
  }
  hi = Math.imul(hi ^ (hi >>> 16), 0x85ebca6b);
  lo = Math.imul(lo ^ (lo >>> 13), 0xc2b2ae35);
  return [hi ^ (hi >>> 16), lo ^ (lo >>> 16)];
}

// ---- constructors -------------------------------------------------------------------------

export const input = (index: number): Expr => Expr.make('input', index, []);
export const constant = (value: number): Expr => Expr.make('const', value, []);
export const add = (a: Expr, b: Expr): Expr => Expr.make('add', 0, [a, b]);
export const mul = (a: Expr, b: Expr): Expr => Expr.make('mul', 0, [a, b]);
export const inv = (a: Expr): Expr => Expr.make('inv', 0, [a]);
export const exp = (a: Expr): Expr => Expr.make('exp', 0, [a]);
export const sqrt = (a: Expr): Expr => Expr.make('sqrt', 0, [a]);
export const unary = (kind: UnaryKind, a: Expr): Expr => (kind === 'max' ? max(a) : Expr.make(kind, 0, [a]));

/** a - b = a + (-1)·b. */
export const sub = (a: Expr, b: Expr): Expr => add(a, mul(constant(-1), b));
/** a / b = a · inv(b). */
export const div = (a: Expr, b: Expr): Expr => mul(a, inv(b));

/** The max reduction: a stabilizer whose size does not matter; max of a max is that max. */
export function max(a: Expr): Expr {
  return a.kind === 'max' ? a : Expr.make('max', 0, [a]);
}

/** A sum of n terms; sum[1] is the term itself, directly nested sums merge. */
export function sum(n: number, a: Expr): Expr {
  if (!(Number.isInteger(n) && n >= 1)) throw new ExprError(`sum size must be a positive integer, got ${n}`);
  if (n === 1) return a;
  if (a.kind === 'sum') return Expr.make('sum', n * a.value, [a.args[0]!]);
  return Expr.make('sum', n, [a]);
}

/** Every distinct subterm, operands before users. */
export function subterms(roots: readonly Expr[]): Expr[] {
  const seen = new Set<Expr>();
  const order: Expr[] = [];
  const visit = (e: Expr): void => {
    if (seen.has(e)) return;
    seen.add(e);
    for (const a of e.args) visit(a);
    order.push(e);
  };
  for (const r of roots) visit(r);
  return order;
}

// ---- printing -----------------------------------------------------------------------------

const PRECEDENCE = { add: 1, mul: 2 } as const;

function print(e: Expr, context: number): string {
  switch (e.kind) {
    case 'input': return `v${e.value}`;
    case 'const': return e.value < 0 && context > 0 ? `(${e.value})` : String(e.value);
    case 'sum': return `sum[${e.value}](${print(e.args[0]!, 0)})`;
    case 'add': return wrap(`${print(e.args[0]!, 1)} + ${print(e.args[1]!, 2)}`, PRECEDENCE.add, context);
    case 'mul': {
      const [a, b] = e.args as [Expr, Expr];
      // mul(a, inv(b)) reads as a / b, and parses back to the same term.
      const text = b.kind === 'inv' ? `${print(a, 2)} / ${print(b.args[0]!, 3)}` : `${print(a, 2)} * ${print(b, 3)}`;
      return wrap(text, PRECEDENCE.mul, context);
    }
    default: return `${e.kind}(${print(e.args[0]!, 0)})`;
  }
}

function wrap(text: string, precedence: number, context: number): string {
  return precedence < context ? `(${text})` : text;
}
