/**
 * Evaluation of the operators shared by both levels (common-ops.ts) in a number domain:
 * the interpreter runs pre-defined kernels and block-graph body operators through this
 * one function.
 */
import type { Shape } from '../ir/shape.js';
import type { CommonOpSpec } from './common-ops.js';
import { binaryIn, type NumberDomain, unaryIn } from './domain.js';
import { broadcastCombine, mapTensor, matmul, reduceAlong, type TensorValue } from './tensor-math.js';

export function evaluateCommonOp<T>(d: NumberDomain<T>, spec: CommonOpSpec, operands: readonly TensorValue<T>[], outShape: Shape): TensorValue<T> {
  const [x, y] = operands as [TensorValue<T>, TensorValue<T> | undefined];
  switch (spec.op) {
    case 'matmul': return matmul(d, x, y!, outShape);
    case 'unary': return mapTensor(x, unaryIn(d, spec.fn));
    case 'binary': return broadcastCombine(outShape, x, y!, binaryIn(d, spec.fn));
    case 'scale': {
      const c = d.fromConstant(spec.c);
      return mapTensor(x, (v) => d.mul(v, c));
    }
    case 'reduce': {
      const combine = spec.fn === 'sum' ? (a: T, b: T) => d.add(a, b) : (a: T, b: T) => d.max(a, b);
      return reduceAlong(x, spec.dim, spec.keepdim, combine);
    }
  }
}
