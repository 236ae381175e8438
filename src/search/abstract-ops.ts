/**
 * Abstract values of the operators shared by tensor programs and both μGraph levels
 * (matmul, elementwise, scale, reductions, reshape, transpose, concat), so that a program
 * and a μGraph computing the same thing get the same terms. Mapping into the vocabulary
 * of expr.ts:
 *   matmul            sum[k](a·b), k the contracted size (a tile's k inside a block)
 *   sub / div         a + (-1)·b / a·inv(b)
 *   square / rsqrt    x·x / inv(sqrt(x))
 *   scale(x, c)       x·c
 *   sum over a dim    sum[size](x)
 *   max over a dim    max(x): sizeless, a stabilizer (abstract-ugraph.ts, docs/search.md)
 *   reshape, transpose, broadcasting   shape only: the term is unchanged
 */
import type { BinaryOp, UnaryOp } from '../frontend/tensor.js';
import type { Shape } from '../ir/shape.js';
import type { CommonOpSpec } from '../ugraph/common-ops.js';
import {
  type AbstractValue, concatValues, map1, map2, matmulValue, reduceSum, reduceWith, reshapeValue, term, transposeValue,
} from './abstract-value.js';
import { add, constant, div, type Expr, inv, max, mul, sub, unary } from './expr.js';

export function unaryExpr(fn: UnaryOp, x: Expr): Expr {
  switch (fn) {
    case 'square': return mul(x, x);
    case 'rsqrt': return inv(unary('sqrt', x));
    default: return unary(fn, x);
  }
}

export function binaryExpr(fn: BinaryOp, a: Expr, b: Expr): Expr {
  switch (fn) {
    case 'add': return add(a, b);
    case 'sub': return sub(a, b);
    case 'mul': return mul(a, b);
    case 'div': return div(a, b);
  }
}

/** The value of a common op from its operands' values and shapes. */
export function commonOpValue(spec: CommonOpSpec, inputs: readonly AbstractValue[], shapes: readonly Shape[]): AbstractValue {
  const x = inputs[0]!;
  switch (spec.op) {
    case 'matmul': {
      const a = shapes[0]!;
      return matmulValue(x, inputs[1]!, a[a.length - 1]!);
    }
    case 'unary': return map1(x, (e) => unaryExpr(spec.fn, e));
    case 'binary': return map2(x, inputs[1]!, (p, q) => binaryExpr(spec.fn, p, q));
    case 'scale': return map1(x, (e) => mul(e, constant(spec.c)));
    case 'reduce': return reduceValue(spec.fn, x, shapes[0]!, spec.dim, spec.keepdim);
  }
}

export function reduceValue(fn: 'sum' | 'max', x: AbstractValue, shape: Shape, dim: number, keepdim: boolean): AbstractValue {
  const axis = shape.length - 1 - dim;
  return fn === 'sum' ? reduceSum(x, axis, shape[dim]!, keepdim) : reduceWith(x, axis, keepdim, max);
}

export function constantValue(value: number): AbstractValue {
  return term(constant(value));
}

export function reshapeOpValue(x: AbstractValue, from: Shape, to: Shape): AbstractValue {
  return reshapeValue(x, from, to);
}

export function transposeOpValue(x: AbstractValue, perm: readonly number[]): AbstractValue {
  return transposeValue(x, perm);
}

/** concat along `dim` of operands with shapes `shapes`. */
export function concatOpValue(inputs: readonly AbstractValue[], shapes: readonly Shape[], dim: number): AbstractValue {
  const rank = shapes[0]!.length;
  return concatValues(inputs, shapes.map((s) => s[dim]!), rank - 1 - dim);
}
