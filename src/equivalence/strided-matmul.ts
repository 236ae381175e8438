/**
 * Batched products over operands given as strided views: a materialized tensor
 * (contiguous strides) or a tile read in place from the storage tensor it is cut from
 * (the storage's strides, an offset), so that block graphs need not copy the tiles their
 * matmuls read. Rows must be contiguous (stride 1 in the last dimension), as a tile of a
 * row-major tensor always is.
 */
import { type Shape, stridesOf } from '../ir/shape.js';
import { forEachIndex } from '../ir/indexing.js';
import { matmulMod } from './wasm-matmul.js';

export interface MatrixOperand {
  readonly data: Float64Array;
  readonly offset: number;
  /** The operand's shape as the matmul sees it ([..., rows, columns]). */
  readonly shape: Shape;
  /** Element strides of each dimension of `shape` within `data`. */
  readonly strides: readonly number[];
}

export function contiguousOperand(data: Float64Array, shape: Shape): MatrixOperand {
  return { data, offset: 0, shape, strides: stridesOf(shape) };
}

/** out (contiguous, `outShape` = [...batch, m, n]) (+)= a·b mod `modulus`, batch dims broadcast. */
export function batchedMatmulMod(a: MatrixOperand, b: MatrixOperand, out: Float64Array, outShape: Shape, modulus: number, accumulate = false): void {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const batchShape = outShape.slice(0, -2);
  const lda = a.strides[a.shape.length - 2]!;
  const ldb = b.strides[b.shape.length - 2]!;
  if (batchShape.length === 0) {
    matmulMod(a.data, a.offset, lda, b.data, b.offset, ldb, out, 0, m, k, n, modulus, accumulate);
    return;
  }
  const batchOffset = (x: MatrixOperand, index: readonly number[]) => {
    const lead = index.length - (x.shape.length - 2);
    let offset = x.offset;
    for (let d = 0; d < x.shape.length - 2; d++) if (x.shape[d] !== 1) offset += index[lead + d]! * x.strides[d]!;
    return offset;
  };
  forEachIndex(batchShape, (index, batch) => {
    matmulMod(a.data, batchOffset(a, index), lda, b.data, batchOffset(b, index), ldb, out, batch * m * n, m, k, n, modulus, accumulate);
  });
}
