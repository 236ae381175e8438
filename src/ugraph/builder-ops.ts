/**
 * The operator methods both μGraph builders share (kernel level and block level), so
 * that a hand-written μGraph reads like the tensor program it implements:
 * `b.div(acc, b.sqrt(b.add(b.scale(sumSq, 1 / n), eps)))`. Each level supplies how a
 * checked op is appended and how a number operand becomes a constant.
 */
import type { BinaryOp, UnaryOp } from '../frontend/tensor.js';
import { normalizeDim, type Shape } from '../ir/shape.js';
import { fail } from './check.js';
import type { ReduceFn } from './common-ops.js';

export interface TensorRef {
  readonly id: number;
  readonly shape: Shape;
}

/** An op spec before checking: the level's assembler validates it. */
export interface RawOp {
  readonly op: string;
  readonly inputs: readonly number[];
  readonly [field: string]: unknown;
}

export interface ReduceOptions {
  readonly keepdim?: boolean;
}

export abstract class CommonOpsBuilder<R extends TensorRef> {
  /** Appends a checked op reading `operands` (whose ids are in `raw.inputs`); returns its result. */
  protected abstract append(raw: RawOp, operands: readonly R[]): R;
  /** A rank-0 constant usable as the other operand of a binary op with `like`. */
  protected abstract scalar(value: number, like: R): R;
  /** Whether reductions keep the reduced dim when the caller does not say (tiles: yes; storage tensors: no, as in programs). */
  protected abstract readonly keepdimByDefault: boolean;

  matmul(a: R, b: R): R { return this.append({ op: 'matmul', inputs: [a.id, b.id] }, [a, b]); }

  exp(x: R): R { return this.unary('exp', x); }
  square(x: R): R { return this.unary('square', x); }
  sqrt(x: R): R { return this.unary('sqrt', x); }
  rsqrt(x: R): R { return this.unary('rsqrt', x); }
  silu(x: R): R { return this.unary('silu', x); }
  gelu(x: R): R { return this.unary('gelu', x); }
  relu(x: R): R { return this.unary('relu', x); }

  add(a: R | number, b: R | number): R { return this.binary('add', a, b); }
  sub(a: R | number, b: R | number): R { return this.binary('sub', a, b); }
  mul(a: R | number, b: R | number): R { return this.binary('mul', a, b); }
  div(a: R | number, b: R | number): R { return this.binary('div', a, b); }

  /** x * c. */
  scale(x: R, c: number): R { return this.append({ op: 'scale', c, inputs: [x.id] }, [x]); }

  sum(x: R, dim: number, options?: ReduceOptions): R { return this.reduce('sum', x, dim, options); }
  max(x: R, dim: number, options?: ReduceOptions): R { return this.reduce('max', x, dim, options); }

  protected unary(fn: UnaryOp, x: R): R {
    return this.append({ op: 'unary', fn, inputs: [x.id] }, [x]);
  }

  protected binary(fn: BinaryOp, a: R | number, b: R | number): R {
    if (typeof a === 'number' && typeof b === 'number') fail(fn, 'at least one operand must be a tensor');
    const left = typeof a === 'number' ? this.scalar(a, b as R) : a;
    const right = typeof b === 'number' ? this.scalar(b, left) : b;
    return this.append({ op: 'binary', fn, inputs: [left.id, right.id] }, [left, right]);
  }

  protected reduce(fn: ReduceFn, x: R, dim: number, options: ReduceOptions = {}): R {
    const d = normalizeDim(dim, x.shape.length);
    if (d === undefined) fail(fn, `dim ${dim} is out of range for rank ${x.shape.length}`);
    const keepdim = options.keepdim ?? this.keepdimByDefault;
    return this.append({ op: 'reduce', fn, dim: d, keepdim, inputs: [x.id] }, [x]);
  }
}
