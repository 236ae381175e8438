/**
 * The edges of a block graph: input iterators (storage tensor -> per-iteration tile) and
 * output savers (post-accumulation tile -> slice of a storage tensor).
 *
 * Iterator: for workgroup (bx, by, bz) and loop iteration i, dimension d of the tile is
 *   [ g·(size_d / G) + (d == fmap ? i·tile_d : 0) , + tile_d )   where
 *   G = grid size of the axis that imap maps to d (g its workgroup index), else G = 1, g = 0;
 *   tile_d = size_d / G / (d == fmap ? forloopRange : 1).
 * The grid splits a dimension first, the loop walks inside a workgroup's share.
 *
 * Saver: every grid axis > 1 maps (omap) to a distinct dimension of the tile; the stored
 * tensor is the tile with those dimensions multiplied by their grid sizes, and workgroup g
 * writes block g along each. So results are concatenated, never reduced across
 * workgroups: a cross-workgroup reduction is a second kernel.
 */
import { type DType } from '../ir/dtype.js';
import { formatShape, type Shape } from '../ir/shape.js';
import { expectDType, expectInteger, expectRecord, fail } from './check.js';
import { type Phase, describePhase } from './block-ops.js';
import { GRID_AXES, type Grid, type GridMap, formatGridMap, parseGridMap } from './grid.js';

export interface InputIteratorSpec {
  /** Per grid axis: the dimension it splits, or null (the tensor is replicated along that axis). */
  readonly imap: GridMap;
  /** The dimension the for-loop walks, or null (the same tile every iteration). */
  readonly fmap: number | null;
}

export interface OutputSaverSpec {
  /** The block tensor saved (post-accumulation). */
  readonly tensor: number;
  /** Per grid axis: the output dimension its workgroups are concatenated along (null only for axes of size 1). */
  readonly omap: GridMap;
  /** Storage dtype of the kernel output. */
  readonly dtype: DType;
}

/** Checks an iterator over a tensor of `shape`; returns it canonical with its tile shape. */
export function parseIterator(
  raw: unknown, shape: Shape, grid: Grid, forloopRange: number, where: string,
): { spec: InputIteratorSpec; tile: Shape } {
  const r = expectRecord(raw, where, ['imap', 'fmap']);
  const imap = parseGridMap(r.imap, shape.length, where, 'imap');
  const tile = [...shape];
  imap.forEach((dim, axis) => {
    if (dim === null) return;
    const size = grid[axis]!;
    if (size === 1) fail(where, `imap maps grid axis ${GRID_AXES[axis]} to dimension ${dim}, but grid.${GRID_AXES[axis]} is 1; leave axes of size 1 unmapped`);
    if (shape[dim]! % size !== 0) {
      fail(where, `imap: dimension ${dim} of ${formatShape(shape)} (size ${shape[dim]}) does not divide by grid.${GRID_AXES[axis]} = ${size}`);
    }
    tile[dim] = shape[dim]! / size;
  });
  const fmap = r.fmap === null || r.fmap === undefined ? null : expectInteger(r.fmap, where, 'fmap', 0, shape.length - 1);
  if (fmap !== null) {
    if (forloopRange === 1) fail(where, `fmap walks dimension ${fmap} but forloopRange is 1; use fmap null`);
    if (tile[fmap]! % forloopRange !== 0) {
      fail(where, `fmap: dimension ${fmap} of ${formatShape(shape)} (${tile[fmap]} per workgroup) does not divide by forloopRange ${forloopRange}`);
    }
    tile[fmap] = tile[fmap]! / forloopRange;
  }
  return { spec: Object.freeze({ imap, fmap }), tile: Object.freeze(tile) };
}

/** Checks a saver of a tile (`tileShape`, `phase`); returns it canonical with the stored tensor's shape. */
export function parseSaver(
  raw: unknown, tensors: readonly { shape: Shape; phase: Phase }[], grid: Grid, where: string,
): { spec: OutputSaverSpec; shape: Shape } {
  const r = expectRecord(raw, where, ['tensor', 'omap', 'dtype']);
  const tensor = expectInteger(r.tensor, where, 'tensor', 0, tensors.length - 1);
  const { shape: tileShape, phase } = tensors[tensor]!;
  if (phase !== 'post') fail(where, `savers take post-accumulation tensors, but t${tensor} is ${describePhase(phase)}`);
  const omap = parseGridMap(r.omap, tileShape.length, where, 'omap');
  const shape = [...tileShape];
  omap.forEach((dim, axis) => {
    const size = grid[axis]!;
    const name = `grid.${GRID_AXES[axis]}`;
    if (size > 1 && dim === null) {
      fail(where, `${name} = ${size} but omap ${formatGridMap(omap)} does not map it; every grid axis > 1 needs its own output dimension (workgroup results are concatenated, never reduced)`);
    }
    if (size === 1 && dim !== null) fail(where, `omap maps ${name} to dimension ${dim}, but ${name} is 1; leave axes of size 1 unmapped`);
    if (dim !== null) shape[dim] = tileShape[dim]! * size;
  });
  const dtype = expectDType(r.dtype, where, 'dtype');
  return { spec: Object.freeze({ tensor, omap, dtype }), shape: Object.freeze(shape) };
}
