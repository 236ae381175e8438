import { DTYPE_MAX, type DType, isDType, isFiniteIn } from '../ir/dtype.js';
import { broadcastShapes, formatShape, normalizeDim, numel, reducedShape, type Shape, shapeProblem } from '../ir/shape.js';
import { ProgramError } from './errors.js';
import { captureCallSite, type CallSite } from './site.js';
import { checkIdentifier } from './names.js';
import { type BinaryOp, type InputTag, type OpAttrs, type ReduceOp, Tensor, type UnaryOp } from './tensor.js';

/** A tensor operand, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand<Inputs extends InputTag = InputTag> = Tensor<Inputs> | number;

/**
 * A node before the public method that made it states its type: Tensor<never> is assignable
 * to every Tensor<Inputs>, and each operator's signature says which inputs its result is
 * computed from (its operands'), so no method needs a cast.
 */
type NewNode = Tensor<never>;

export interface ReduceOptions {
  /** Keep the reduced dimension with size 1 (default false). */
  readonly keepdim?: boolean;
}

export interface RmsNormOptions<Weight extends Tensor = Tensor> {
  /** Dimension to normalize over (default -1, the last). */
  readonly dim?: number;
  /** Added to the mean of squares before the square root (default 1e-6). */
  readonly eps?: number;
  /** Optional elementwise weight, broadcast against the normalized tensor. */
  readonly weight?: Weight;
}

/**
 * The `g` handed to a program definition: every operator of the DSL. Each method
 * checks its operands and infers the result's shape and dtype; any problem throws a
 * ProgramError that names the caller's file and line, the operator and the shapes.
 *
 * The signatures carry names for the type checker: `input('x', shape, 'f16')` is a
 * `Tensor<InputTag<'x', 'f16'>>`, and every operator's result is tagged with the inputs of
 * its operands, so the outputs a definition returns name the program's inputs (see
 * `tensorProgram`). None of this exists at run time.
 */
export class GraphBuilder {
  readonly inputs: Tensor[] = [];
  /** Set once the definition has returned: later calls would not be part of the program. */
  sealed = false;

  /**
   * @param callSite where the operator being built was called: the user's line by default;
   *   replaying a program evaluated elsewhere (replay.ts) supplies the recorded sites.
   */
  constructor(readonly programName: string, private readonly callSite: () => CallSite | undefined = captureCallSite) {}

  // NoInfer: the dtype is the argument's, else 'f32'; never one guessed from where the call stands
  // (in `g.relu(g.input('x', [4]))` relu's parameter would otherwise make it any DType).
  input<Name extends string, D extends DType = 'f32'>(name: Name, shape: Shape, dtype: D = 'f32' as D): Tensor<InputTag<Name, NoInfer<D>>> {
    const site = this.callSite();
    this.checkOpen('input', site);
    checkIdentifier(name, 'input name', 'input', site);
    if (this.inputs.some((t) => t.attrs.name === name)) {
      throw new ProgramError(`duplicate input name "${name}"`, 'input', site);
    }
    const problem = shapeProblem(shape);
    if (problem) throw new ProgramError(`input "${name}": ${problem}`, 'input', site);
    if (!isDType(dtype)) {
      throw new ProgramError(`input "${name}": dtype must be 'f16' or 'f32', got ${JSON.stringify(dtype)}`, 'input', site);
    }
    const node = this.node('input', { name, index: this.inputs.length }, [], [...shape], dtype, site);
    this.inputs.push(node);
    return node;
  }

  // Elementwise binary operators, with numpy broadcasting.
  // A and B are the operands' own types (a number has no tags), and the result's tags are
  // spelled out here rather than through TensorInputs so that editors show them resolved.
  add<A extends Operand, B extends Operand>(a: A, b: B): Tensor<(A extends Tensor<infer I> ? I : never) | (B extends Tensor<infer J> ? J : never)> {
    return this.binary('add', a, b);
  }
  sub<A extends Operand, B extends Operand>(a: A, b: B): Tensor<(A extends Tensor<infer I> ? I : never) | (B extends Tensor<infer J> ? J : never)> {
    return this.binary('sub', a, b);
  }
  mul<A extends Operand, B extends Operand>(a: A, b: B): Tensor<(A extends Tensor<infer I> ? I : never) | (B extends Tensor<infer J> ? J : never)> {
    return this.binary('mul', a, b);
  }
  div<A extends Operand, B extends Operand>(a: A, b: B): Tensor<(A extends Tensor<infer I> ? I : never) | (B extends Tensor<infer J> ? J : never)> {
    return this.binary('div', a, b);
  }

  // Elementwise unary operators.
  exp<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('exp', x); }
  square<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('square', x); }
  sqrt<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('sqrt', x); }
  rsqrt<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('rsqrt', x); }
  /** x * sigmoid(x). */
  silu<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('silu', x); }
  /** The tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  gelu<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('gelu', x); }
  relu<I extends InputTag>(x: Tensor<I>): Tensor<I> { return this.unary('relu', x); }

  /** x * c for a finite constant c. */
  scale<I extends InputTag>(x: Tensor<I>, c: number): Tensor<I> {
    const site = this.callSite();
    this.checkTensor('scale', x, 'x', site);
    this.checkFinite('scale', c, 'c', site, [x.shape], x.dtype);
    return this.node('scale', { c }, [x], x.shape, x.dtype, site);
  }

  sum<I extends InputTag>(x: Tensor<I>, dim: number, options?: ReduceOptions): Tensor<I> { return this.reduce('sum', x, dim, options); }
  mean<I extends InputTag>(x: Tensor<I>, dim: number, options?: ReduceOptions): Tensor<I> { return this.reduce('mean', x, dim, options); }
  max<I extends InputTag>(x: Tensor<I>, dim: number, options?: ReduceOptions): Tensor<I> { return this.reduce('max', x, dim, options); }

  /**
   * Batched matrix product: contracts the last dim of `a` with the second-last of `b`.
   * Both need rank >= 2; leading (batch) dimensions broadcast.
   */
  matmul<A extends InputTag, B extends InputTag>(a: Tensor<A>, b: Tensor<B>): Tensor<A | B> {
    const site = this.callSite();
    this.checkTensor('matmul', a, 'a', site);
    this.checkTensor('matmul', b, 'b', site);
    const shapes = [a.shape, b.shape];
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new ProgramError('both operands need rank >= 2 (reshape vectors to [1, n] or [n, 1])', 'matmul', site, shapes);
    }
    this.checkSameDtype('matmul', [a, b], site);
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    if (k !== k2) {
      throw new ProgramError(`inner dimensions differ: a's last dim is ${k}, b's second-last is ${k2}`, 'matmul', site, shapes);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (!batch) throw new ProgramError('batch dimensions do not broadcast', 'matmul', site, shapes);
    return this.node('matmul', {}, [a, b], [...batch, m, n], a.dtype, site);
  }

  /** Same elements, new shape; one dimension may be -1 (inferred). */
  reshape<I extends InputTag>(x: Tensor<I>, shape: readonly number[]): Tensor<I> {
    const site = this.callSite();
    this.checkTensor('reshape', x, 'x', site);
    const resolved = Array.isArray(shape) ? [...shape] : shape;
    if (Array.isArray(resolved)) {
      const holes = resolved.filter((d) => d === -1).length;
      if (holes > 1) throw new ProgramError('at most one dimension may be -1', 'reshape', site, [x.shape]);
      if (holes === 1) {
        const known = resolved.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
        if (known > 0 && numel(x.shape) % known === 0) resolved[resolved.indexOf(-1)] = numel(x.shape) / known;
        else if (known > 0) {
          throw new ProgramError(
            `cannot infer the -1 in ${formatShape(shape)}: ${numel(x.shape)} elements are not a multiple of ${known}`, 'reshape', site, [x.shape],
          );
        }
      }
    }
    const problem = shapeProblem(resolved);
    if (problem) throw new ProgramError(`target shape: ${problem}`, 'reshape', site, [x.shape]);
    if (numel(resolved) !== numel(x.shape)) {
      throw new ProgramError(
        `cannot reshape ${numel(x.shape)} elements into ${formatShape(shape)} (${numel(resolved)} elements)`,
        'reshape', site, [x.shape],
      );
    }
    return this.node('reshape', {}, [x], resolved, x.dtype, site);
  }

  /** Permutes dimensions; without `perm`, swaps the last two. */
  transpose<I extends InputTag>(x: Tensor<I>, perm?: readonly number[]): Tensor<I> {
    const site = this.callSite();
    this.checkTensor('transpose', x, 'x', site);
    const rank = x.shape.length;
    if (perm === undefined && rank < 2) throw new ProgramError('needs rank >= 2 to swap the last two dims', 'transpose', site, [x.shape]);
    const p = perm ?? [...Array(rank).keys()].map((i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
    const normalized = Array.isArray(p) ? p.map((d) => normalizeDim(d, rank)) : [];
    const valid = normalized.length === rank && normalized.every((d) => d !== undefined) && new Set(normalized).size === rank;
    if (!valid) {
      throw new ProgramError(`perm ${JSON.stringify(p)} is not a permutation of ${rank} dims`, 'transpose', site, [x.shape]);
    }
    const dims = normalized as number[];
    return this.node('transpose', { perm: dims }, [x], dims.map((d) => x.shape[d]!), x.dtype, site);
  }

  /** Joins tensors along `dim`; all other dims must match. */
  concat<X extends Tensor>(xs: readonly X[], dim: number): Tensor<X extends Tensor<infer I> ? I : never> {
    const site = this.callSite();
    if (!Array.isArray(xs) || xs.length === 0) throw new ProgramError('needs a non-empty array of tensors', 'concat', site);
    xs.forEach((x, i) => this.checkTensor('concat', x, `xs[${i}]`, site));
    const shapes = xs.map((x) => x.shape);
    const rank = xs[0]!.shape.length;
    const d = normalizeDim(dim, rank);
    if (d === undefined) throw new ProgramError(`dim ${dim} is out of range for rank ${rank}`, 'concat', site, shapes);
    this.checkSameDtype('concat', xs, site);
    const mismatch = xs.some((x) => x.shape.length !== rank || x.shape.some((s: number, i: number) => i !== d && s !== xs[0]!.shape[i]));
    if (mismatch) throw new ProgramError(`all dims but dim ${d} must match`, 'concat', site, shapes);
    const shape = [...xs[0]!.shape];
    shape[d] = xs.reduce((total, x) => total + x.shape[d]!, 0);
    const problem = shapeProblem(shape);
    if (problem) throw new ProgramError(problem, 'concat', site, shapes);
    return this.node('concat', { dim: d }, xs, shape, xs[0]!.dtype, site);
  }

  /** x / sqrt(mean(x^2, dim) + eps), times `weight` when given. */
  rmsNorm<I extends InputTag, W extends Tensor = never>(x: Tensor<I>, options: RmsNormOptions<W> = {}): Tensor<I | (W extends Tensor<infer J> ? J : never)> {
    const site = this.callSite();
    this.checkTensor('rmsNorm', x, 'x', site);
    const { dim = -1, eps = 1e-6, weight } = options;
    const d = normalizeDim(dim, x.shape.length);
    if (d === undefined) throw new ProgramError(`dim ${dim} is out of range for rank ${x.shape.length}`, 'rmsNorm', site, [x.shape]);
    this.checkFinite('rmsNorm', eps, 'eps', site, [x.shape], x.dtype);
    if (eps < 0) throw new ProgramError(`eps must be >= 0, got ${eps}`, 'rmsNorm', site, [x.shape]);
    const inputs: Tensor[] = [x];
    if (weight !== undefined) {
      this.checkTensor('rmsNorm', weight, 'weight', site);
      this.checkSameDtype('rmsNorm', [x, weight], site);
      const shape = broadcastShapes(x.shape, weight.shape);
      if (!shape || shape.length !== x.shape.length || shape.some((s, i) => s !== x.shape[i])) {
        throw new ProgramError('weight must broadcast to the shape of x', 'rmsNorm', site, [x.shape, weight.shape]);
      }
      inputs.push(weight);
    }
    return this.node('rmsNorm', { dim: d, eps }, inputs, x.shape, x.dtype, site);
  }

  /** exp(x - max) / sum(exp(x - max)) over `dim` (default -1). */
  softmax<I extends InputTag>(x: Tensor<I>, dim = -1): Tensor<I> {
    const site = this.callSite();
    this.checkTensor('softmax', x, 'x', site);
    const d = normalizeDim(dim, x.shape.length);
    if (d === undefined) throw new ProgramError(`dim ${dim} is out of range for rank ${x.shape.length}`, 'softmax', site, [x.shape]);
    return this.node('softmax', { dim: d }, [x], x.shape, x.dtype, site);
  }

  /** Checks one value returned by the definition as an output of this program. */
  checkOutput(name: string, value: unknown, site: CallSite | undefined): Tensor {
    if (!(value instanceof Tensor)) {
      throw new ProgramError(`output "${name}" is ${describeValue(value)}, not a tensor`, 'program', site);
    }
    if (value.owner !== this) {
      throw new ProgramError(`output "${name}" is a tensor of another program`, 'program', site, [value.shape]);
    }
    return value;
  }

  private unary(fn: UnaryOp, x: Tensor): NewNode {
    const site = this.callSite();
    this.checkTensor(fn, x, 'x', site);
    return this.node('unary', { fn }, [x], x.shape, x.dtype, site);
  }

  private binary(fn: BinaryOp, a: Operand, b: Operand): NewNode {
    const site = this.callSite();
    if (typeof a === 'number' && typeof b === 'number') {
      throw new ProgramError('at least one operand must be a tensor', fn, site);
    }
    if (typeof a !== 'number') this.checkTensor(fn, a, 'a', site);
    if (typeof b !== 'number') this.checkTensor(fn, b, 'b', site);
    const ta = this.operand(fn, a, 'a', b as Tensor, site);
    const tb = this.operand(fn, b, 'b', ta, site);
    this.checkSameDtype(fn, [ta, tb], site);
    const shape = broadcastShapes(ta.shape, tb.shape);
    if (!shape) throw new ProgramError('shapes do not broadcast', fn, site, [ta.shape, tb.shape]);
    return this.node('binary', { fn }, [ta, tb], shape, ta.dtype, site);
  }

  private reduce(fn: ReduceOp, x: Tensor, dim: number, options: ReduceOptions = {}): NewNode {
    const site = this.callSite();
    this.checkTensor(fn, x, 'x', site);
    const d = normalizeDim(dim, x.shape.length);
    if (d === undefined) throw new ProgramError(`dim ${dim} is out of range for rank ${x.shape.length}`, fn, site, [x.shape]);
    const keepdim = options.keepdim ?? false;
    if (typeof keepdim !== 'boolean') throw new ProgramError('keepdim must be a boolean', fn, site, [x.shape]);
    const shape = reducedShape(x.shape, d, keepdim);
    return this.node('reduce', { fn, dim: d, keepdim }, [x], shape, x.dtype, site);
  }

  /** A tensor operand as is; a number as a scalar constant with the other operand's dtype. */
  private operand(op: string, value: Operand, label: string, other: Tensor, site: CallSite | undefined): Tensor {
    if (typeof value !== 'number') return value;
    this.checkFinite(op, value, label, site, [other.shape], other.dtype);
    return this.node('const', { value }, [], [], other.dtype, site);
  }

  private node<O extends keyof OpAttrs>(
    op: O, attrs: OpAttrs[O], inputs: Tensor[], shape: Shape, dtype: DType, site: CallSite | undefined,
  ): NewNode {
    return new Tensor<never>(op, { ...attrs }, inputs, shape, dtype, this, site);
  }

  private checkOpen(op: string, site: CallSite | undefined): void {
    if (this.sealed) {
      throw new ProgramError(`program "${this.programName}" is already built; call operators inside its definition`, op, site);
    }
  }

  private checkTensor(op: string, value: unknown, label: string, site: CallSite | undefined): asserts value is Tensor {
    this.checkOpen(op, site);
    if (!(value instanceof Tensor)) throw new ProgramError(`operand ${label} is ${describeValue(value)}, not a tensor`, op, site);
    if (value.owner !== this) {
      throw new ProgramError(`operand ${label} is a tensor of another program`, op, site, [value.shape]);
    }
  }

  /** A finite number that stays finite in `dtype` (1e39 is finite in JS, infinite in f32). */
  private checkFinite(op: string, value: unknown, label: string, site: CallSite | undefined, shapes: Shape[], dtype: DType): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ProgramError(`constant ${label} must be a finite number, got ${String(value)}`, op, site, shapes);
    }
    if (!isFiniteIn(value, dtype)) {
      throw new ProgramError(
        `constant ${label} = ${value} overflows ${dtype} (largest finite ${dtype} is ${DTYPE_MAX[dtype]})`, op, site, shapes,
      );
    }
  }

  private checkSameDtype(op: string, xs: readonly Tensor[], site: CallSite | undefined): void {
    const dtypes = [...new Set(xs.map((x) => x.dtype))];
    if (dtypes.length > 1) {
      throw new ProgramError(`dtypes differ (${xs.map((x) => x.dtype).join(' vs ')}); mugraph does not cast implicitly`, op, site, xs.map((x) => x.shape));
    }
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}
