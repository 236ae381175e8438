/**
 * Row-major index arithmetic shared by the CPU interpreters (the float64 reference and
 * the μGraph interpreter). Static shapes, flat arrays.
 */
import { numel, type Shape } from './shape.js';

/** Calls `visit(index, flat)` for every multi-index of `shape`, in row-major order (`index` is reused). */
export function forEachIndex(shape: Shape, visit: (index: readonly number[], flat: number) => void): void {
  const index = new Array<number>(shape.length).fill(0);
  const total = numel(shape);
  for (let flat = 0; flat < total; flat++) {
    visit(index, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
}

/**
 * Flat offset, in a row-major tensor of `shape`, of the element that numpy broadcasting
 * maps to `index` (an index of the broadcast result, whose rank may be larger): shapes
 * align from the right and size-1 dimensions always read element 0.
 */
export function broadcastOffset(index: readonly number[], shape: Shape, strides: readonly number[]): number {
  const lead = index.length - shape.length;
  let offset = 0;
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) offset += index[lead + d]! * strides[d]!;
  return offset;
}

/**
 * Strides of a tensor of shape `own` (element strides `strides`) seen from an iteration over
 * `shape` under numpy broadcasting: aligned from the right, 0 where `own` has size 1 or
 * lacks the dimension.
 */
export function broadcastStrides(shape: Shape, own: Shape, strides: readonly number[]): number[] {
  const lead = shape.length - own.length;
  return shape.map((_, d) => {
    const k = d - lead;
    return k < 0 || own[k] === 1 ? 0 : strides[k]!;
  });
}
