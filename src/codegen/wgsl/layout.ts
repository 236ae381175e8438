/**
 * Layout kernels: transpose (a gather: each output element reads its permuted source) and
 * concat (one copy kernel per operand, writing its slice of the output; this keeps every
 * kernel at two bindings however many operands there are, where one kernel reading all of
 * them would hit the 8-storage-buffer default limit). Both are map kernels from
 * elementwise.ts with strided index expressions.
 */
import type { ElementType, Variant } from '../../runtime/types.js';
import { numel, stridesOf } from '../../ir/shape.js';
import { type KernelSource, stridedIndex, u32 } from './common.js';
import { mapKernel } from './elementwise.js';

export interface TransposeSpec {
  readonly inShape: readonly number[];
  readonly perm: readonly number[];
  readonly dtype: ElementType;
}

/** Output dim d is input dim perm[d]. Bindings: input, output. */
export function transposeKernel(spec: TransposeSpec, variant: Variant): KernelSource {
  const inStrides = stridesOf(spec.inShape);
  const outShape = spec.perm.map((p) => spec.inShape[p]!);
  const strides = spec.perm.map((p) => inStrides[p]!);
  return mapKernel({
    count: numel(outShape),
    inputs: [{ dtype: spec.dtype, index: (i) => stridedIndex(outShape, strides, i) }],
    output: { dtype: spec.dtype, index: (i) => i },
    value: ([x]) => x!,
  }, variant);
}

export interface ConcatSliceSpec {
  /** Shape of this operand. */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  readonly dim: number;
  /** Where this operand starts along `dim` in the output. */
  readonly offset: number;
  readonly dtype: ElementType;
}

/** Copies one concat operand into its slice of the output. Bindings: operand, output. */
export function concatSliceKernel(spec: ConcatSliceSpec, variant: Variant): KernelSource {
  const outStrides = stridesOf(spec.outShape);
  const base = spec.offset * outStrides[spec.dim]!;
  return mapKernel({
    count: numel(spec.inShape),
    inputs: [{ dtype: spec.dtype, index: (i) => i }],
    output: {
      dtype: spec.dtype,
      index: (i) => (base === 0 ? stridedIndex(spec.inShape, outStrides, i) : `${u32(base)} + ${stridedIndex(spec.inShape, outStrides, i)}`),
    },
    value: ([x]) => x!,
  }, variant);
}
