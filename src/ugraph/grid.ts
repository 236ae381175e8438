/**
 * Grids and grid maps of block graphs. A grid is [x, y, z] workgroup counts. A grid map
 * (Mirage's imap/omap, an int3 with -1 for "none") gives, per grid axis, the tensor
 * dimension that axis partitions, or null. Canonical form: a 3-tuple; the builder also
 * takes `{ x: 1 }` objects, which read better in hand-written μGraphs.
 */
import { fail, describeValue, expectArray, expectInteger } from './check.js';

export const GRID_AXES = ['x', 'y', 'z'] as const;
export type GridAxis = (typeof GRID_AXES)[number];
export type Grid = readonly [number, number, number];
export type GridMap = readonly [number | null, number | null, number | null];
/** Builder form of a grid map: only the mapped axes, e.g. `{ x: 1 }`. */
export type GridMapObject = Partial<Record<GridAxis, number>>;

export function parseGrid(value: unknown, where: string): Grid {
  const raw = expectArray(value, where, 'grid');
  if (raw.length !== 3) fail(where, `grid must have 3 entries [x, y, z], got ${describeValue(value)}`);
  const [x, y, z] = raw.map((n, i) => expectInteger(n, where, `grid.${GRID_AXES[i]}`, 1)) as [number, number, number];
  return Object.freeze([x, y, z] as const);
}

/** A grid given as a number or 1 to 3 sizes; missing axes are 1. */
export function gridFrom(value: number | readonly number[]): Grid {
  const sizes = typeof value === 'number' ? [value] : [...value];
  if (sizes.length < 1 || sizes.length > 3) fail('grid', `give 1 to 3 sizes, got ${describeValue(value)}`);
  while (sizes.length < 3) sizes.push(1);
  return parseGrid(sizes, 'grid');
}

export function workgroupCount(grid: Grid): number {
  return grid[0] * grid[1] * grid[2];
}

/** Checks a canonical 3-tuple map: entries are dims in [0, rank) or null, no dim twice. */
export function parseGridMap(value: unknown, rank: number, where: string, what: string): GridMap {
  const raw = expectArray(value, where, what);
  if (raw.length !== 3) fail(where, `${what} must have 3 entries (per grid axis x, y, z), got ${describeValue(value)}`);
  const map = raw.map((d, i) => (d === null ? null : expectInteger(d, where, `${what}.${GRID_AXES[i]}`, 0, rank - 1)));
  const used = map.filter((d): d is number => d !== null);
  if (new Set(used).size !== used.length) fail(where, `${what} ${formatGridMap(map as unknown as GridMap)} maps two grid axes to the same dimension`);
  return Object.freeze(map as [number | null, number | null, number | null]);
}

export function gridMapFromObject(map: GridMapObject | undefined): GridMap {
  const known = Object.keys(map ?? {}).filter((k) => !(GRID_AXES as readonly string[]).includes(k));
  if (known.length > 0) fail('grid map', `unknown axis ${known.join(', ')} (axes are x, y, z)`);
  return Object.freeze(GRID_AXES.map((axis) => map?.[axis] ?? null) as [number | null, number | null, number | null]);
}

/** `{x:1, z:0}`, or `{}` when nothing is mapped. */
export function formatGridMap(map: GridMap): string {
  const parts = GRID_AXES.flatMap((axis, i) => (map[i] === null ? [] : [`${axis}:${map[i]}`]));
  return `{${parts.join(', ')}}`;
}

/** The grid axis mapped to `dim`, or undefined. */
export function axisOfDim(map: GridMap, dim: number): number | undefined {
  const axis = map.indexOf(dim);
  return axis < 0 ? undefined : axis;
}
