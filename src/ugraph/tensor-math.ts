/**
 * Tensor kernels over any number domain, on row-major flat arrays: what the μGraph
 * interpreter runs for pre-defined kernels and, on tiles, for block-graph operators.
 * Written for clarity on small shapes, not speed.
 */
import { numel, type Shape, stridesOf } from '../ir/shape.js';
import { broadcastOffset, forEachIndex } from '../ir/indexing.js';
import type { NumberDomain } from './domain.js';

export interface TensorValue<T> {
  readonly shape: Shape;
  readonly data: T[];
}



export function mapTensor<T>(x: TensorValue<T>, f: (v: T) => T): TensorValue<T> {
  return { shape: x.shape, data: x.data.map(f) };
}

/** out[i] = f(a[i], b[i]) over `outShape`, each operand broadcast to it. */
export function broadcastCombine<T>(outShape: Shape, a: TensorValue<T>, b: TensorValue<T>, f: (a: T, b: T) => T): TensorValue<T> {
  const data = new Array<T>(numel(outShape));
  const aStrides = stridesOf(a.shape);
  const bStrides = stridesOf(b.shape);
  forEachIndex(outShape, (index, flat) => {
    data[flat] = f(a.data[broadcastOffset(index, a.shape, aStrides)]!, b.data[broadcastOffset(index, b.shape, bStrides)]!);
  });
  return { shape: outShape, data };
}

/** Folds `dim` with `combine`, starting from the first element (no identity needed: max has none in a field). */
export function reduceAlong<T>(x: TensorValue<T>, dim: number, keepdim: boolean, combine: (acc: T, v: T) => T): TensorValue<T> {
  const keptShape = x.shape.map((s, i) => (i === dim ? 1 : s));
  const strides = stridesOf(keptShape);
  const data = new Array<T>(numel(keptShape));
  forEachIndex(x.shape, (index, flat) => {
    const target = broadcastOffset(index, keptShape, strides);
    data[target] = index[dim] === 0 ? x.data[flat]! : combine(data[target]!, x.data[flat]!);
  });
  return { shape: keepdim ? keptShape : x.shape.filter((_, i) => i !== dim), data };
}

/** [...batchA, m, k] · [...batchB, k, n] -> `outShape` = [...broadcast batch, m, n]; sums p = 0..k-1 in order. */
export function matmul<T>(d: NumberDomain<T>, a: TensorValue<T>, b: TensorValue<T>, outShape: Shape): TensorValue<T> {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const aStrides = stridesOf(aBatch);
  const bStrides = stridesOf(bBatch);
  const data = new Array<T>(numel(outShape));
  forEachIndex(outShape.slice(0, -2), (batchIndex, batch) => {
    const aBase = broadcastOffset(batchIndex, aBatch, aStrides) * m * k;
    const bBase = broadcastOffset(batchIndex, bBatch, bStrides) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = d.zero;
        for (let p = 0; p < k; p++) acc = d.add(acc, d.mul(a.data[aBase + i * k + p]!, b.data[bBase + p * n + j]!));
        data[batch * m * n + i * n + j] = acc;
      }
    }
  });
  return { shape: outShape, data };
}

/** Output dimension i is input dimension perm[i]. */
export function transpose<T>(x: TensorValue<T>, perm: readonly number[], outShape: Shape): TensorValue<T> {
  const inStrides = stridesOf(x.shape);
  const data = new Array<T>(numel(outShape));
  forEachIndex(outShape, (index, flat) => {
    let offset = 0;
    for (let i = 0; i < perm.length; i++) offset += index[i]! * inStrides[perm[i]!]!;
    data[flat] = x.data[offset]!;
  });
  return { shape: outShape, data };
}

export function concat<T>(parts: readonly TensorValue<T>[], dim: number, outShape: Shape): TensorValue<T> {
  const out: TensorValue<T> = { shape: outShape, data: new Array<T>(numel(outShape)) };
  let start = 0;
  for (const part of parts) {
    writeBlock(out, outShape.map((_, d) => (d === dim ? start : 0)), part);
    start += part.shape[dim]!;
  }
  return out;
}

/** The sub-tensor of `x` of shape `tileShape` whose first element is at multi-index `starts`. */
export function readBlock<T>(x: TensorValue<T>, starts: readonly number[], tileShape: Shape): TensorValue<T> {
  const strides = stridesOf(x.shape);
  const data = new Array<T>(numel(tileShape));
  forEachIndex(tileShape, (index, flat) => {
    let offset = 0;
    for (let d = 0; d < index.length; d++) offset += (starts[d]! + index[d]!) * strides[d]!;
    data[flat] = x.data[offset]!;
  });
  return { shape: tileShape, data };
}

/** Writes `tile` into `target` with its first element at multi-index `starts`. */
export function writeBlock<T>(target: TensorValue<T>, starts: readonly number[], tile: TensorValue<T>): void {
  const strides = stridesOf(target.shape);
  forEachIndex(tile.shape, (index, flat) => {
    let offset = 0;
    for (let d = 0; d < index.length; d++) offset += (starts[d]! + index[d]!) * strides[d]!;
    target.data[offset] = tile.data[flat]!;
  });
}
