import type { DType } from '../ir/dtype.js';
import { formatShape, type Shape } from '../ir/shape.js';
import type { CallSite } from './site.js';

export const UNARY_OPS = ['exp', 'square', 'sqrt', 'rsqrt', 'silu', 'gelu', 'relu'] as const;
export const BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const;
export const REDUCE_OPS = ['sum', 'mean', 'max'] as const;

export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Attributes of each operator. Shapes and dtypes live on the node, not here. */
export interface OpAttrs {
  input: { readonly name: string; readonly index: number };
  const: { readonly value: number };
  unary: { readonly fn: UnaryOp };
  binary: { readonly fn: BinaryOp };
  scale: { readonly c: number };
  reduce: { readonly fn: ReduceOp; readonly dim: number; readonly keepdim: boolean };
  matmul: Record<string, never>;
  reshape: Record<string, never>;
  transpose: { readonly perm: readonly number[] };
  concat: { readonly dim: number };
  /** Composite: x * rsqrt(mean(x^2, dim) + eps) [* weight]; inputs are x and optionally weight. */
  rmsNorm: { readonly dim: number; readonly eps: number };
  /** Composite: exp(x - max(x, dim)) / sum(exp(x - max(x, dim)), dim). */
  softmax: { readonly dim: number };
}

export type Op = keyof OpAttrs;

/** Operators that `expand` rewrites into primitives before search and lowering. */
export function isComposite(node: Tensor): boolean {
  return node.op === 'rmsNorm' || node.op === 'softmax' || (node.op === 'reduce' && node.attrs.fn === 'mean');
}

type NodeOf<O extends Op> = Tensor & { readonly op: O; readonly attrs: OpAttrs[O] };

/**
 * A program input as the type system sees it: its name and dtype. Types only; nothing at
 * run time has this shape.
 */
export interface InputTag<Name extends string = string, D extends DType = DType> {
  readonly name: Name;
  readonly dtype: D;
}

/** The key of Tensor's phantom member (types only: no such property exists at run time). */
declare const INPUTS: unique symbol;

/**
 * The inputs a tensor (or a number: none) is computed from, as InputTags. A definition's
 * outputs name every input the program needs, so `tensorProgram` types `run()` from them.
 */
export type TensorInputs<T> = T extends Tensor<infer I> ? I : never;

/**
 * A node of the tensor program: an immutable value. Its operands are other nodes, so a
 * node is the root of the DAG that computes it. Construction is done by the builder,
 * which validates shapes and dtypes; `Tensor` itself only freezes what it is given.
 *
 * `Inputs` is a type only: the tags of the program inputs the node is computed from
 * (`Tensor<InputTag<'x', 'f16'> | InputTag<'w', 'f16'>>`). The builder's operators join their
 * operands' tags, so the type of a definition's return value names the inputs of the
 * program. A plain `Tensor` (any inputs) is what code that does not track them sees.
 */
export class Tensor<Inputs extends InputTag = InputTag> {
  /** Types only (never set): carries `Inputs`, covariantly, so Tensor<A> is a Tensor<A | B>. */
  declare readonly [INPUTS]?: Inputs;
  /** Identifies the program (builder) that made the node; a foreign node is an error. */
  readonly owner: object;
  readonly site: CallSite | undefined;
  private cachedKey: string | undefined;

  constructor(
    readonly op: Op,
    readonly attrs: Readonly<Record<string, unknown>>,
    readonly inputs: readonly Tensor[],
    readonly shape: Shape,
    readonly dtype: DType,
    owner: object,
    site: CallSite | undefined,
  ) {
    this.owner = owner;
    this.site = site;
    Object.freeze(attrs);
    Object.freeze(inputs);
    Object.freeze(shape);
  }

  is<O extends Op>(op: O): this is NodeOf<O> {
    return this.op === op;
  }

  /** Structural key of this node alone (operator, attributes, shape, dtype): no names, no sites. */
  get key(): string {
    this.cachedKey ??= JSON.stringify([this.op, canonicalAttrs(this), this.shape, this.dtype]);
    return this.cachedKey;
  }

  /** One-line description, e.g. `matmul f16[16, 6144]`. */
  describe(): string {
    const attrs = Object.entries(this.attrs)
      .filter(([k]) => !(this.op === 'input' && k === 'index'))
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
    const label = this.op === 'unary' || this.op === 'binary' || this.op === 'reduce' ? String(this.attrs.fn) : this.op;
    const rest = attrs.filter((a) => !a.startsWith('fn='));
    return `${label}${rest.length > 0 ? `{${rest.join(' ')}}` : ''} ${this.dtype}${formatShape(this.shape)}`;
  }

  toString(): string {
    return `Tensor(${this.describe()})`;
  }
}

/** Attributes that define the function computed: an input's name is not one of them, its position is. */
function canonicalAttrs(node: Tensor): unknown {
  if (node.op === 'input') return { index: node.attrs.index };
  return node.attrs;
}
