/** Static tensor shapes: rank 0 (a scalar) to 4, every dimension a positive integer. */
export type Shape = readonly number[];

export const MAX_RANK = 4;

/** Tensors are indexed with u32 in WGSL; keep every element count well inside it. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Why a value is not a valid shape, or undefined when it is. */
export function shapeProblem(shape: unknown): string | undefined {
  if (!Array.isArray(shape)) return `shape must be an array of dimensions, got ${describe(shape)}`;
  if (shape.length > MAX_RANK) return `rank ${shape.length} exceeds the maximum rank ${MAX_RANK}`;
  for (const [i, d] of shape.entries()) {
    if (typeof d !== 'number' || !Number.isInteger(d)) return `dimension ${i} is ${describe(d)}, not an integer`;
    if (d <= 0) return `dimension ${i} is ${d}: dimensions must be positive (zero-sized tensors are not supported)`;
  }
  if (numel(shape as number[]) > MAX_ELEMENTS) return `${numel(shape as number[])} elements exceed the limit of ${MAX_ELEMENTS}`;
  return undefined;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Numpy broadcasting: align from the right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape): Shape | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = Math.max(da, db);
  }
  return out;
}

/** Normalizes a possibly negative axis; undefined when out of range. */
export function normalizeDim(dim: number, rank: number): number | undefined {
  if (!Number.isInteger(dim)) return undefined;
  const d = dim < 0 ? dim + rank : dim;
  return d >= 0 && d < rank ? d : undefined;
}

/** The shape after reducing `dim`: removed, or kept with size 1. */
export function reducedShape(shape: Shape, dim: number, keepdim: boolean): number[] {
  return keepdim ? shape.map((s, i) => (i === dim ? 1 : s)) : shape.filter((_, i) => i !== dim);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}
