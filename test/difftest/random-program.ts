/**
 * Random well-formed tensor programs for differential testing (issue 20, item 6;
 * docs/testing.md). `randomProgram(seed)` is deterministic per seed (mulberry32 from
 * src/reference/random.ts) and builds through the DSL, so every program passes the DSL's own
 * shape and dtype checks.
 *
 * Shape of what comes out:
 * - one dtype per program (the DSL never casts), f16 or f32;
 * - outputs of rank 1 to 3 with dimensions from {2, 4, 8, 16, 32}; operands may be
 *   broadcast ([n], [1, n], [m, 1], scalars, outer sums), batch matmuls broadcast their batch;
 * - 1 to 8 operators by default (`maxOps`; larger counts more likely), counted as the DSL
 *   operators of the program (inputs and number constants excluded); 1 or 2 outputs, sometimes sharing work;
 * - every input is used: inputs are created as leaves of the expression the outputs are
 *   built from (top-down, from the output shape), and reused only where they fit.
 *
 * Values are kept well conditioned, because the comparison is against a float64 reference
 * at the project's tolerances (f16: 1e-2 relative L2, with every intermediate stored in
 * f16 by the per-operator lowering): inputs are uniform in [-1, 1]; an interval [lo, hi] is
 * tracked for every tensor and operands are scaled by powers of two (exact in f16) so that
 * no intermediate exceeds ±2048, exp and softmax see |x| <= 4; denominators, sqrt and
 * rsqrt operands are built positive and bounded away from zero (1 + x², exp(x),
 * relu(x) + 1/2, mean(x², dim) + c); rmsNorm sees operands that cannot vanish on a row.
 */
import type { GraphBuilder } from '../../src/frontend/builder.js';
import { buildProgram, type Program } from '../../src/frontend/program.js';
import type { Tensor } from '../../src/frontend/tensor.js';
import { expandComposites } from '../../src/frontend/expand.js';
import type { DType } from '../../src/ir/dtype.js';
import { numel } from '../../src/ir/shape.js';
import { createRng } from '../../src/reference/random.js';

/** The DSL operators the generator can emit; `exclude` leaves some out (e.g. what a search does not support). */
export const GENERATED_OPS = [
  'matmul', 'add', 'sub', 'mul', 'div', 'exp', 'square', 'sqrt', 'rsqrt', 'silu', 'gelu', 'relu', 'scale',
  'sum', 'mean', 'max', 'rmsNorm', 'softmax', 'reshape', 'transpose', 'concat',
] as const;
export type GeneratedOp = (typeof GENERATED_OPS)[number];

export interface RandomProgramOptions {
  /** Most operators a program has (the budget drawn in [1, maxOps]; a draw whose fix-ups overshoot is redrawn). @default 8 */
  readonly maxOps?: number;
  /** Operators never to emit. */
  readonly exclude?: readonly GeneratedOp[];
  /** Force the dtype instead of drawing it. */
  readonly dtype?: DType;
}

const DIMS = [2, 4, 8, 16, 32] as const;
/** No intermediate may exceed this magnitude (f16's largest finite value is 65504). */
const LIMIT = 2048;
/** exp and softmax operands are scaled into [-EXP_LIMIT, EXP_LIMIT]: f16's abs error on x becomes exp's relative error. */
const EXP_LIMIT = 4;
/** Constants that appear as operands of add, sub, mul and scale. */
const CONSTANTS = [1, 0.5, 2, -1, 0.25, 3, 0.1, 1.5, -0.5] as const;
const EPS = [undefined, 1e-5, 1e-3] as const;

export function randomProgram(seed: number, options: RandomProgramOptions = {}): Program {
  const rand = new Rand(seed);
  const dtype: DType = options.dtype ?? (rand.chance(0.5) ? 'f16' : 'f32');
  const excluded = new Set<GeneratedOp>(options.exclude ?? []);
  const maxOps = options.maxOps ?? 8;
  // Fix-ups (scales, the ops that make a denominator positive) can overshoot the budget: such a
  // draw is discarded and the next one, from the same stream, taken (still deterministic).
  for (let attempt = 0; ; attempt++) {
    // The larger of two uniform draws: more programs of many operators, still some of one.
    const program = draw(seed, rand, dtype, excluded, Math.max(rand.int(1, maxOps), rand.int(1, maxOps)));
    if (operatorCount(program) <= maxOps || attempt === 20) return program;
  }
}

function draw(seed: number, rand: Rand, dtype: DType, excluded: ReadonlySet<GeneratedOp>, budget: number): Program {
  const twoOutputs = budget >= 2 && rand.chance(0.35);
  return buildProgram(`difftest_${seed >>> 0}`, (g): Record<string, Tensor> => {
    const gen = new Generator(g, rand, dtype, excluded);
    const first = twoOutputs ? Math.max(1, Math.ceil(budget * 0.6)) : budget;
    gen.opsLeft = first;
    const y0 = gen.generate(gen.outputShape(), true);
    if (!twoOutputs) return { y0: y0.t };
    gen.opsLeft = budget - first;
    // The second output: an intermediate of the first (shared work) or a new expression that may reuse its nodes.
    const shared = gen.nodes.filter((v) => v !== y0);
    const y1 = shared.length > 0 && (gen.opsLeft <= 0 || rand.chance(0.3)) ? rand.pick(shared) : gen.generate(gen.outputShape(), true);
    return { y0: y0.t, y1: y1.t };
  });
}

/** The number of DSL operators of a program (inputs and number constants excluded). */
export function operatorCount(program: Program): number {
  return program.nodes.filter((n) => n.op !== 'input' && n.op !== 'const').length;
}

/**
 * Whether the program, after composite expansion (softmax is exp), has an exp whose operand
 * depends on another exp: the finite-field verifier reports such programs 'unverifiable'
 * (docs/equivalence.md), so the differential test accepts that verdict for them only.
 */
export function hasNestedExp(program: Program): boolean {
  const below = new Map<Tensor, boolean>();
  for (const node of expandComposites(program).nodes) {
    const operandsHaveExp = node.inputs.some((x) => below.get(x) === true);
    const isExp = node.op === 'unary' && node.attrs.fn === 'exp';
    if (isExp && operandsHaveExp) return true;
    below.set(node, isExp || operandsHaveExp);
  }
  return false;
}

/** A seeded stream of choices (mulberry32). */
class Rand {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = createRng(seed);
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('random-program: pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** One of `items`, by weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1]![0];
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/**
 * A tensor with what the generator knows of its values: every element lies in [lo, hi];
 * `typ` is a rough typical magnitude (to keep values away from f16's subnormals); `vanish`
 * says a whole row could be (nearly) zero, which rmsNorm must not normalize.
 */
interface Val {
  readonly t: Tensor;
  readonly lo: number;
  readonly hi: number;
  readonly typ: number;
  readonly vanish: boolean;
}

type Shape = number[];

const bound = (v: Pick<Val, 'lo' | 'hi'>): number => Math.max(Math.abs(v.lo), Math.abs(v.hi));

type Choice = 'unary' | 'sqrt' | 'binary' | 'div' | 'scale' | 'matmul' | 'reduce' | 'rmsNorm' | 'softmax' | 'transpose' | 'reshape' | 'concat';

class Generator {
  /** Operators this expression may still add. */
  opsLeft = 0;
  /** Every non-input value made so far, for reuse (a DAG, not a tree). */
  readonly nodes: Val[] = [];
  private readonly inputs: Val[] = [];

  constructor(
    private readonly g: GraphBuilder,
    private readonly rand: Rand,
    private readonly dtype: DType,
    private readonly excluded: ReadonlySet<GeneratedOp>,
  ) {}

  outputShape(): Shape {
    const rank = this.rand.weighted([[1, 1], [2, 4], [3, 4]] as const);
    return Array.from({ length: rank }, () => this.rand.pick(DIMS));
  }

  private allowed(op: GeneratedOp): boolean {
    return !this.excluded.has(op);
  }

  /** A value of exactly `shape`: a leaf when the budget is spent (or by chance), else an operator. */
  generate(shape: Shape, root = false): Val {
    if (this.opsLeft <= 0 || (!root && !this.rand.chance(0.8))) return this.leaf(shape);
    const choices = this.choices(shape);
    if (choices.length === 0) return this.leaf(shape);
    return this.apply(this.rand.weighted(choices), shape);
  }

  private choices(shape: Shape): [Choice, number][] {
    const rank = shape.length;
    const out: [Choice, number][] = [];
    const add = (c: Choice, w: number, ok: boolean) => { if (ok && w > 0) out.push([c, w]); };
    const unary = (['exp', 'square', 'silu', 'gelu', 'relu'] as const).some((op) => this.allowed(op));
    add('unary', 2, unary);
    add('sqrt', 1, (this.allowed('sqrt') || this.allowed('rsqrt')) && this.positiveKinds(shape).length > 0);
    add('binary', 4, this.allowed('add') || this.allowed('sub') || this.allowed('mul'));
    add('div', 1.5, this.allowed('div') && this.positiveKinds(shape).length > 0);
    add('scale', 0.5, this.allowed('scale'));
    add('matmul', 4, this.allowed('matmul') && rank >= 2);
    add('reduce', 2.5, (this.allowed('sum') || this.allowed('mean') || this.allowed('max')) && (rank <= 2 || shape.includes(1)));
    add('rmsNorm', 1.5, this.allowed('rmsNorm') && shape.some((d) => d >= 2));
    add('softmax', 1.5, this.allowed('softmax') && shape.some((d) => d >= 2));
    add('transpose', 1, this.allowed('transpose') && rank >= 2);
    add('reshape', 1, this.allowed('reshape') && numel(shape) >= 4);
    add('concat', 0.7, this.allowed('concat') && shape.some((d) => d >= 2));
    return out;
  }

  private apply(choice: Choice, shape: Shape): Val {
    this.opsLeft--;
    const r = this.rand;
    const g = this.g;
    switch (choice) {
      case 'unary': {
        const fn = r.pick((['exp', 'square', 'silu', 'gelu', 'relu'] as const).filter((op) => this.allowed(op)));
        if (fn === 'exp') return this.exp(this.generate(shape));
        const x = this.generate(shape);
        if (fn === 'square') {
          const y = this.fit(x, Math.sqrt(LIMIT));
          const b = bound(y);
          const lo = y.lo <= 0 && y.hi >= 0 ? 0 : Math.min(y.lo * y.lo, y.hi * y.hi);
          return this.made(g.square(y.t), lo, b * b, y.typ * y.typ, y.vanish);
        }
        if (fn === 'relu') return this.made(g.relu(x.t), Math.max(0, x.lo), Math.max(0, x.hi), x.typ / 2, true);
        // silu(x) >= -0.279, gelu(x) >= -0.17; both <= max(x, 0).
        const t = fn === 'silu' ? g.silu(x.t) : g.gelu(x.t);
        return this.made(t, Math.max(-0.28, Math.min(0, x.lo)), Math.max(0, x.hi), x.typ / 2, true);
      }
      case 'sqrt': {
        const p = this.positive(shape);
        const useSqrt = this.allowed('sqrt') && (!this.allowed('rsqrt') || r.chance(0.5));
        if (useSqrt) return this.made(g.sqrt(p.t), Math.sqrt(p.lo), Math.sqrt(p.hi), Math.sqrt(p.typ), false);
        return this.made(g.rsqrt(p.t), 1 / Math.sqrt(p.hi), 1 / Math.sqrt(p.lo), 1 / Math.sqrt(p.typ), false);
      }
      case 'binary': {
        const fn = r.pick((['add', 'sub', 'mul'] as const).filter((op) => this.allowed(op)));
        if (r.chance(0.2)) return this.withConstant(fn, this.generate(shape));
        const [sa, sb] = this.broadcastPair(shape);
        const swap = r.chance(0.5);
        let a = this.generate(swap ? sb : sa);
        let b = this.generate(swap ? sa : sb);
        if (fn === 'mul') {
          a = this.fit(a, Math.sqrt(LIMIT));
          b = this.fit(b, Math.sqrt(LIMIT));
          const products = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
          return this.made(g.mul(a.t, b.t), Math.min(...products), Math.max(...products), a.typ * b.typ, a.vanish || b.vanish);
        }
        a = this.fit(a, LIMIT / 2);
        b = this.fit(b, LIMIT / 2);
        const typ = Math.hypot(a.typ, b.typ);
        if (fn === 'add') return this.made(g.add(a.t, b.t), a.lo + b.lo, a.hi + b.hi, typ, a.vanish && b.vanish);
        return this.made(g.sub(a.t, b.t), a.lo - b.hi, a.hi - b.lo, typ, a.vanish && b.vanish);
      }
      case 'div': {
        if (r.chance(0.15)) {
          // A number over a positive tensor, or a tensor over a number.
          if (r.chance(0.5)) {
            const p = this.positive(shape);
            const c = r.pick([1, 2, -1, 0.5] as const);
            const ends = [c / p.lo, c / p.hi];
            return this.made(g.div(c, p.t), Math.min(...ends), Math.max(...ends), Math.abs(c) / p.typ, false);
          }
          const x = this.generate(shape);
          const c = r.pick([2, 4, -3, 0.5] as const);
          const ends = [x.lo / c, x.hi / c];
          return this.made(g.div(x.t, c), Math.min(...ends), Math.max(...ends), x.typ / Math.abs(c), x.vanish);
        }
        const [sa, sb] = this.broadcastPair(shape);
        const swap = r.chance(0.3);
        const p = this.positive(swap ? sa : sb);
        let a = this.generate(swap ? sb : sa);
        a = this.fit(a, LIMIT * p.lo);
        const ends = [a.lo / p.lo, a.lo / p.hi, a.hi / p.lo, a.hi / p.hi];
        return this.made(g.div(a.t, p.t), Math.min(...ends), Math.max(...ends), a.typ / p.typ, a.vanish);
      }
      case 'scale': {
        const x = this.generate(shape);
        const c = r.pick([0.5, 2, -1, 0.25, -1.5, 0.125, 3, 0.3] as const);
        const y = this.fit(x, LIMIT / Math.abs(c));
        const ends = [y.lo * c, y.hi * c];
        return this.made(g.scale(y.t, c), Math.min(...ends), Math.max(...ends), y.typ * Math.abs(c), y.vanish);
      }
      case 'matmul': {
        const m = shape[shape.length - 2]!;
        const n = shape[shape.length - 1]!;
        const batch = shape.slice(0, -2);
        const k = r.pick(DIMS);
        let batchA = batch;
        let batchB = batch;
        if (batch.length > 0) {
          const mode = r.weighted([['both', 3], ['shared-b', 2], ['shared-a', 1], ['one-b', 1]] as const);
          if (mode === 'shared-b') batchB = [];
          else if (mode === 'shared-a') batchA = [];
          else batchB = batch.map(() => 1);
        }
        let a = this.generate([...batchA, m, k]);
        let b = this.generate([...batchB, k, n]);
        // |result| <= k·|a|·|b| <= LIMIT.
        const each = Math.sqrt(LIMIT / k);
        a = this.fit(a, each);
        b = this.fit(b, each);
        const products = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
        const coherent = (a.lo >= 0 && b.lo >= 0) || (a.hi <= 0 && b.hi <= 0);
        return this.made(g.matmul(a.t, b.t), k * Math.min(...products, 0), k * Math.max(...products, 0),
          a.typ * b.typ * (coherent ? k : Math.sqrt(k)), a.vanish || b.vanish);
      }
      case 'reduce': {
        const fn = r.pick((['sum', 'mean', 'max'] as const).filter((op) => this.allowed(op)));
        const ones = shape.flatMap((d, i) => (d === 1 ? [i] : []));
        let dim: number;
        let operandShape: Shape;
        let keepdim: boolean;
        if (ones.length > 0 && (shape.length >= 3 || r.chance(0.6))) {
          dim = r.pick(ones);
          keepdim = true;
          operandShape = shape.map((d, i) => (i === dim ? r.pick(DIMS) : d));
        } else {
          dim = r.int(0, shape.length);
          keepdim = false;
          operandShape = [...shape.slice(0, dim), r.pick(DIMS), ...shape.slice(dim)];
        }
        const size = operandShape[dim]!;
        let x = this.generate(operandShape);
        const negative = r.chance(0.3) ? dim - operandShape.length : dim; // dims may be given from the end
        const options = keepdim ? { keepdim: true } : r.chance(0.5) ? { keepdim: false } : undefined;
        if (fn === 'sum') {
          x = this.fit(x, LIMIT / size);
          const coherent = x.lo >= 0 || x.hi <= 0;
          return this.made(g.sum(x.t, negative, options), size * x.lo, size * x.hi, x.typ * (coherent ? size : Math.sqrt(size)), x.vanish);
        }
        if (fn === 'mean') {
          const coherent = x.lo >= 0 || x.hi <= 0;
          return this.made(g.mean(x.t, negative, options), x.lo, x.hi, coherent ? x.typ : x.typ / Math.sqrt(size), x.vanish);
        }
        return this.made(g.max(x.t, negative, options), x.lo, x.hi, Math.max(x.typ, Math.abs(x.hi) / 2), x.vanish);
      }
      case 'rmsNorm': {
        const dim = this.reductionDim(shape);
        let x = this.generate(shape);
        if (x.vanish) x = this.shift(x);
        x = this.lift(x);
        const n = shape[dim]!;
        const eps = r.pick(EPS);
        const dimArg = dim === shape.length - 1 && r.chance(0.6) ? undefined : r.chance(0.5) ? dim : dim - shape.length;
        let weight: Val | undefined;
        if (r.chance(0.35) && this.opsLeft >= 0) {
          // A weight that broadcasts to the shape of x without changing its rank: [n] over the last dim, or any 1-padded shape.
          const wShape = r.chance(0.5) ? [shape[shape.length - 1]!] : shape.map((d) => (r.chance(0.5) ? d : 1));
          weight = this.fit(this.generate(wShape), 4);
        }
        const options = { ...(dimArg === undefined ? {} : { dim: dimArg }), ...(eps === undefined ? {} : { eps }), ...(weight ? { weight: weight.t } : {}) };
        const t = Object.keys(options).length === 0 && r.chance(0.5) ? g.rmsNorm(x.t) : g.rmsNorm(x.t, options);
        const w = weight ? bound(weight) : 1;
        const b = Math.sqrt(n) * w;
        return this.made(t, -b, b, weight ? weight.typ : 1, weight?.vanish ?? false);
      }
      case 'softmax': {
        const dim = this.reductionDim(shape);
        const x = this.fit(this.generate(shape), EXP_LIMIT);
        const dimArg = dim === shape.length - 1 && r.chance(0.6) ? undefined : r.chance(0.5) ? dim : dim - shape.length;
        const t = dimArg === undefined ? g.softmax(x.t) : g.softmax(x.t, dimArg);
        const n = shape[dim]!;
        return this.made(t, 0, 1, 1 / n, false);
      }
      case 'transpose': {
        const rank = shape.length;
        const swapLast = rank === 2 || r.chance(0.4);
        const perm = swapLast
          ? [...Array(rank).keys()].map((i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i))
          : this.nonIdentityPerm(rank);
        // out[i] = in[perm[i]]: the operand's dim perm[i] is shape[i].
        const operandShape = new Array<number>(rank);
        perm.forEach((p, i) => { operandShape[p] = shape[i]!; });
        const x = this.generate(operandShape);
        const t = swapLast && r.chance(0.5) ? g.transpose(x.t) : g.transpose(x.t, perm);
        return this.made(t, x.lo, x.hi, x.typ, x.vanish);
      }
      case 'reshape': {
        const operandShape = this.otherFactorization(shape);
        const x = this.generate(operandShape);
        const target = r.chance(0.25) ? shape.map((d, i) => (i === 0 ? -1 : d)) : shape;
        return this.made(g.reshape(x.t, target), x.lo, x.hi, x.typ, x.vanish);
      }
      case 'concat': {
        const dims = shape.flatMap((d, i) => (d >= 2 ? [i] : []));
        const dim = r.pick(dims);
        const total = shape[dim]!;
        const cut = r.chance(0.5) ? Math.floor(total / 2) : r.int(1, total - 1);
        const parts = [shape.map((d, i) => (i === dim ? cut : d)), shape.map((d, i) => (i === dim ? total - cut : d))];
        const xs = parts.map((p) => this.generate(p));
        const dimArg = r.chance(0.3) ? dim - shape.length : dim;
        return this.made(g.concat(xs.map((x) => x.t), dimArg), Math.min(...xs.map((x) => x.lo)), Math.max(...xs.map((x) => x.hi)),
          Math.max(...xs.map((x) => x.typ)), xs.some((x) => x.vanish));
      }
    }
  }

  /** exp(x) with x scaled into [-EXP_LIMIT, EXP_LIMIT]. */
  private exp(x: Val): Val {
    const y = this.fit(x, EXP_LIMIT);
    return this.made(this.g.exp(y.t), Math.exp(y.lo), Math.exp(y.hi), Math.exp(-Math.min(y.typ, Math.abs(y.lo))), false);
  }

  /** A binary operator with a number on one side. */
  private withConstant(fn: 'add' | 'sub' | 'mul', x: Val): Val {
    const c = this.rand.pick(CONSTANTS);
    const left = this.rand.chance(0.4);
    const g = this.g;
    if (fn === 'mul') {
      const y = this.fit(x, LIMIT / Math.abs(c));
      const ends = [y.lo * c, y.hi * c];
      return this.made(left ? g.mul(c, y.t) : g.mul(y.t, c), Math.min(...ends), Math.max(...ends), y.typ * Math.abs(c), y.vanish);
    }
    const y = this.fit(x, LIMIT / 2);
    const typ = Math.max(y.typ, Math.abs(c) / 2);
    if (fn === 'add') return this.made(left ? g.add(c, y.t) : g.add(y.t, c), y.lo + c, y.hi + c, typ, false);
    if (left) return this.made(g.sub(c, y.t), c - y.hi, c - y.lo, typ, false);
    return this.made(g.sub(y.t, c), y.lo - c, y.hi - c, typ, false);
  }

  /** Ways to make a positive value of `shape` that the excluded operators allow. */
  private positiveKinds(shape: Shape): ('square' | 'exp' | 'relu' | 'meanSquare')[] {
    const kinds: ('square' | 'exp' | 'relu' | 'meanSquare')[] = [];
    if (this.allowed('square') && this.allowed('add')) kinds.push('square');
    if (this.allowed('exp')) kinds.push('exp');
    if (this.allowed('relu') && this.allowed('add')) kinds.push('relu');
    if (shape.includes(1) && this.allowed('square') && this.allowed('add') && (this.allowed('mean') || this.allowed('sum'))) kinds.push('meanSquare');
    return kinds;
  }

  /** A value of `shape` bounded away from zero: 1 + x², exp(x), relu(x) + 1/2, or mean(x², dim) + c over a size-1 dim of `shape`. */
  private positive(shape: Shape): Val {
    const r = this.rand;
    const g = this.g;
    const kinds = this.positiveKinds(shape);
    const kind = r.pick(kinds.includes('meanSquare') && r.chance(0.5) ? ['meanSquare' as const] : kinds);
    switch (kind) {
      case 'exp':
        this.opsLeft -= 1;
        return this.exp(this.generate(shape));
      case 'square': {
        this.opsLeft -= 2;
        const x = this.fit(this.generate(shape), 16);
        const sq = this.made(g.square(x.t), 0, bound(x) ** 2, x.typ * x.typ, x.vanish);
        return this.made(r.chance(0.5) ? g.add(sq.t, 1) : g.add(1, sq.t), 1, 1 + sq.hi, 1 + sq.typ, false);
      }
      case 'relu': {
        this.opsLeft -= 2;
        const x = this.generate(shape);
        const y = this.made(g.relu(x.t), Math.max(0, x.lo), Math.max(0, x.hi), x.typ / 2, true);
        return this.made(g.add(y.t, 0.5), 0.5, y.hi + 0.5, y.typ + 0.5, false);
      }
      case 'meanSquare': {
        this.opsLeft -= 3;
        const ones = shape.flatMap((d, i) => (d === 1 ? [i] : []));
        const dim = r.pick(ones);
        const operandShape = shape.map((d, i) => (i === dim ? r.pick(DIMS) : d));
        const size = operandShape[dim]!;
        const x = this.fit(this.generate(operandShape), 16);
        const sq = this.made(g.square(x.t), 0, bound(x) ** 2, x.typ * x.typ, x.vanish);
        const useMean = this.allowed('mean') && (!this.allowed('sum') || r.chance(0.6));
        const reduced = useMean
          ? this.made(g.mean(sq.t, dim, { keepdim: true }), 0, sq.hi, sq.typ, sq.vanish)
          : this.made(g.sum(sq.t, dim, { keepdim: true }), 0, sq.hi * size, sq.typ * size, sq.vanish);
        const c = r.pick([1, 0.5, 0.25] as const);
        return this.made(g.add(reduced.t, c), c, reduced.hi + c, reduced.typ + c, false);
      }
    }
  }

  /**
   * Operands of a binary operator whose broadcast is exactly `shape`: equal shapes, one
   * operand with size-1 dims (a bias, a column, a scalar), or an outer combination.
   */
  private broadcastPair(shape: Shape): [Shape, Shape] {
    const r = this.rand;
    const mode = r.weighted([['same', 4], ['bias', 3], ['outer', 1]] as const);
    if (mode === 'same') return [[...shape], [...shape]];
    const a = [...shape];
    const b = [...shape];
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === 1) continue;
      if (mode === 'bias') { if (r.chance(0.5)) b[i] = 1; } else {
        const which = r.int(0, 2);
        if (which === 1) a[i] = 1;
        if (which === 2) b[i] = 1;
      }
    }
    // At most one operand loses leading dims, so that the broadcast keeps the rank of `shape`.
    return r.chance(0.5) ? [this.dropLeadingOnes(a), b] : [a, this.dropLeadingOnes(b)];
  }

  /** Sometimes removes leading size-1 dims (numpy aligns from the right); may leave a scalar. */
  private dropLeadingOnes(shape: Shape): Shape {
    let lead = 0;
    while (lead < shape.length && shape[lead] === 1) lead++;
    if (lead === 0 || !this.rand.chance(0.5)) return shape;
    return shape.slice(this.rand.int(1, lead));
  }

  /** A dimension of `shape` with size >= 2, the last one more often. */
  private reductionDim(shape: Shape): number {
    const dims = shape.flatMap((d, i) => (d >= 2 ? [i] : []));
    const last = shape.length - 1;
    return dims.includes(last) && this.rand.chance(0.6) ? last : this.rand.pick(dims);
  }

  private nonIdentityPerm(rank: number): number[] {
    for (;;) {
      const perm = this.rand.shuffle([...Array(rank).keys()]);
      if (perm.some((p, i) => p !== i)) return perm;
    }
  }

  /** Another shape (rank 1 to 3, dims powers of two up to 64) with the same number of elements. */
  private otherFactorization(shape: Shape): Shape {
    const total = numel(shape);
    for (let attempt = 0; attempt < 20; attempt++) {
      const rank = this.rand.int(1, 3);
      const dims: number[] = [];
      let left = total;
      for (let i = 0; i < rank - 1; i++) {
        const options = [1, 2, 4, 8, 16, 32].filter((d) => left % d === 0 && left / d <= 64 ** (rank - 1 - i));
        if (options.length === 0) break;
        const d = this.rand.pick(options);
        dims.push(d);
        left /= d;
      }
      if (left > 64 || !Number.isInteger(left)) continue;
      dims.push(left);
      if (dims.length === shape.length && dims.every((d, i) => d === shape[i])) continue;
      return dims;
    }
    return [total];
  }

  /** A leaf: an input of `shape` (new, or an existing one of that shape), sometimes an existing value of that shape. */
  private leaf(shape: Shape): Val {
    const same = (v: Val) => v.t.shape.length === shape.length && v.t.shape.every((d, i) => d === shape[i]);
    const inputs = this.inputs.filter(same);
    const nodes = this.nodes.filter(same);
    if (nodes.length > 0 && this.rand.chance(0.25)) return this.rand.pick(nodes);
    if (inputs.length > 0 && this.rand.chance(0.3)) return this.rand.pick(inputs);
    const t = this.g.input(`x${this.inputs.length}`, shape, this.dtype);
    const v: Val = { t, lo: -1, hi: 1, typ: 0.5, vanish: false };
    this.inputs.push(v);
    return v;
  }

  /** `x` scaled by a power of two (exact in f16) so that every element lies in [-limit, limit]. */
  private fit(x: Val, limit: number): Val {
    const b = bound(x);
    if (b <= limit) return x;
    const c = 2 ** -Math.ceil(Math.log2(b / limit));
    return this.made(this.g.scale(x.t, c), x.lo * c, x.hi * c, x.typ * c, x.vanish);
  }

  /** `x` scaled up by a power of two when its typical magnitude is tiny (f16 subnormals lose digits). */
  private lift(x: Val): Val {
    if (x.typ >= 1 / 16) return x;
    const k = Math.min(Math.ceil(Math.log2(1 / 16 / x.typ)), Math.floor(Math.log2(LIMIT / 4 / Math.max(bound(x), 1e-30))));
    if (k <= 0) return x;
    const c = 2 ** k;
    return this.made(this.g.scale(x.t, c), x.lo * c, x.hi * c, x.typ * c, x.vanish);
  }

  /** `x` + 1 (keeps rmsNorm away from rows that may vanish, such as relu's). */
  private shift(x: Val): Val {
    const y = this.fit(x, LIMIT / 2);
    return this.made(this.g.add(y.t, 1), y.lo + 1, y.hi + 1, Math.max(1, y.typ), false);
  }

  private made(t: Tensor, lo: number, hi: number, typ: number, vanish: boolean): Val {
    const v: Val = { t, lo, hi, typ, vanish };
    this.nodes.push(v);
    return v;
  }
}
