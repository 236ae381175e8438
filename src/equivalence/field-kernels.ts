/**
 * Lane kernels of the verifier: one lane (residues mod m in a Float64Array) at a time,
 * over whole tensors or tiles, with numpy broadcasting. Shapes are padded to rank 4 so
 * that every kernel is four plain nested loops with the operation chosen outside the
 * innermost one (a call per element would cost more than the arithmetic).
 *
 * Residues stay canonical, in [0, m), after every kernel. Sums of residues are exact in
 * float64 for up to 2^33 terms, so a reduction reduces once per output.
 */
import { numel, type Shape, stridesOf } from '../ir/shape.js';
import { EXP_LOW_BITS, expSplit, inverseTable, P } from './field.js';

export type LaneBinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** A shape padded to rank 4 with leading 1s. */
export function pad4(shape: Shape): [number, number, number, number] {
  const padded = [1, 1, 1, 1];
  for (let i = 0; i < shape.length; i++) padded[4 - shape.length + i] = shape[i]!;
  return padded as [number, number, number, number];
}

/** Element strides of a tensor of shape `own` seen from rank-4-padded `out` under broadcasting (0 on broadcast dims). */
export function broadcastStrides4(out: Shape, own: Shape): [number, number, number, number] {
  const ownPadded = pad4(own);
  const strides = stridesOf(ownPadded);
  const outPadded = pad4(out);
  return [0, 1, 2, 3].map((d) => (ownPadded[d] === 1 && outPadded[d] !== 1 ? 0 : strides[d]!)) as [number, number, number, number];
}

const canonical = (x: number, m: number) => (x >= m ? x - m : x);

/**
 * x mod m for an exact integer 0 <= x < 2^53, via one multiplication by 1/m (about 3x
 * faster than `%` on doubles here); the quotient can be off by one, hence the correction.
 */
export function modOf(x: number, m: number, inverse: number): number {
  const r = x - Math.floor(x * inverse) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}

/** out = a ∘ b over `outShape`, each operand broadcast; `m` the lane's modulus. */
export function binaryLane(op: LaneBinaryOp, a: Float64Array, aShape: Shape, b: Float64Array, bShape: Shape, out: Float64Array, outShape: Shape, m: number): void {
  binaryKernel(op, aShape, bShape, outShape, m)(a, b, out);
}

/** A binary lane kernel for fixed shapes: what binaryLane does, with the broadcast case decided once. */
export type BinaryKernel = (a: Float64Array, b: Float64Array, out: Float64Array) => void;

/** The kernel of out = a ∘ b for operands of `aShape`, `bShape` broadcast to `outShape`, mod m. */
export function binaryKernel(op: LaneBinaryOp, aShape: Shape, bShape: Shape, outShape: Shape, m: number): BinaryKernel {
  const total = numel(outShape);
  const inverse = op === 'div' ? inverseTable(m) : undefined;
  const aFull = numel(aShape) === total && aShape.length === outShape.length;
  if (aFull && numel(bShape) === total && bShape.length === outShape.length) {
    return (a, b, out) => sameShape(op, a, b, out, total, m, inverse);
  }
  const last = outShape[outShape.length - 1] ?? 1;
  if (aFull && last > 1 && numel(bShape) * last === total && bShape.length === outShape.length && bShape[bShape.length - 1] === 1) {
    // b constant along the last dimension (a row max, a row sum, a per-row weight): the softmax case.
    return (a, b, out) => rowBroadcast(op, a, b, out, total / last, last, m, inverse);
  }
  const [n0, n1, n2, n3] = pad4(outShape);
  const [a0, a1, a2, a3] = broadcastStrides4(outShape, aShape);
  const [b0, b1, b2, b3] = broadcastStrides4(outShape, bShape);
  return (a, b, out) => {
    let o = 0;
    for (let i0 = 0; i0 < n0; i0++) {
      for (let i1 = 0; i1 < n1; i1++) {
        for (let i2 = 0; i2 < n2; i2++) {
          const ao = i0 * a0 + i1 * a1 + i2 * a2;
          const bo = i0 * b0 + i1 * b1 + i2 * b2;
          flatBinary(op, a, ao, a3, b, bo, b3, out, o, n3, m, inverse);
          o += n3;
        }
      }
    }
  };
}

/** out = a ∘ b, all three of `count` elements (out may be a or b). */
function sameShape(op: LaneBinaryOp, a: Float64Array, b: Float64Array, out: Float64Array, count: number, m: number, inverse: Uint32Array | undefined): void {
  const im = 1 / m;
  switch (op) {
    case 'add':
      for (let j = 0; j < count; j++) {
        const x = a[j]! + b[j]!;
        out[j] = x >= m ? x - m : x;
      }
      return;
    case 'sub':
      for (let j = 0; j < count; j++) {
        const x = a[j]! - b[j]!;
        out[j] = x < 0 ? x + m : x;
      }
      return;
    case 'mul':
      for (let j = 0; j < count; j++) out[j] = modOf(a[j]! * b[j]!, m, im);
      return;
    case 'div':
      for (let j = 0; j < count; j++) out[j] = modOf(a[j]! * inverse![b[j]!]!, m, im);
  }
}

/** out[r, j] = a[r, j] ∘ b[r] over `rows` rows of `last` (out may be a). */
function rowBroadcast(
  op: LaneBinaryOp, a: Float64Array, b: Float64Array, out: Float64Array, rows: number, last: number, m: number, inverse: Uint32Array | undefined,
): void {
  const im = 1 / m;
  for (let r = 0, o = 0; r < rows; r++, o += last) {
    const end = o + last;
    switch (op) {
      case 'add': {
        const c = b[r]!;
        for (let j = o; j < end; j++) {
          const x = a[j]! + c;
          out[j] = x >= m ? x - m : x;
        }
        break;
      }
      case 'sub': {
        const c = b[r]!;
        for (let j = o; j < end; j++) {
          const x = a[j]! - c;
          out[j] = x < 0 ? x + m : x;
        }
        break;
      }
      case 'mul':
      case 'div': {
        const c = op === 'mul' ? b[r]! : inverse![b[r]!]!;
        for (let j = o; j < end; j++) out[j] = modOf(a[j]! * c, m, im);
      }
    }
  }
}

function flatBinary(
  op: LaneBinaryOp, a: Float64Array, ao: number, as: number, b: Float64Array, bo: number, bs: number,
  out: Float64Array, o: number, count: number, m: number, inverse: Uint32Array | undefined,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < count; j++) out[o + j] = canonical(a[ao + j * as]! + b[bo + j * bs]!, m);
      return;
    case 'sub':
      for (let j = 0; j < count; j++) out[o + j] = canonical(a[ao + j * as]! - b[bo + j * bs]! + m, m);
      return;
    case 'mul': {
      const im = 1 / m;
      for (let j = 0; j < count; j++) out[o + j] = modOf(a[ao + j * as]! * b[bo + j * bs]!, m, im);
      return;
    }
    case 'div': {
      const im = 1 / m;
      for (let j = 0; j < count; j++) out[o + j] = modOf(a[ao + j * as]! * inverse![b[bo + j * bs]!]!, m, im);
    }
  }
}

/**
 * One step of a rescaled sum with one weight per row, in the p-lane: state[r, j] =
 * state[r, j]·scale[r] + x[r, j]·weight[r] mod p (the sum of two products is below 2^41),
 * or, on the first iteration, state = x·weight.
 */
export function rescaledFold(
  state: Float64Array, scale: Float64Array, x: Float64Array, weight: Float64Array, rows: number, last: number, first: boolean,
): void {
  const im = 1 / P;
  for (let r = 0, o = 0; r < rows; r++, o += last) {
    const s = scale[r]!;
    const w = weight[r]!;
    if (first) for (let j = o; j < o + last; j++) state[j] = modOf(x[j]! * w, P, im);
    else for (let j = o; j < o + last; j++) state[j] = modOf(state[j]! * s + x[j]! * w, P, im);
  }
}

/** out = x · c for a residue c. */
export function scaleLane(x: Float64Array, c: number, out: Float64Array, m: number): void {
  const im = 1 / m;
  for (let i = 0; i < x.length; i++) out[i] = modOf(x[i]! * c, m, im);
}

export function squareLane(x: Float64Array, out: Float64Array, m: number): void {
  const im = 1 / m;
  for (let i = 0; i < x.length; i++) out[i] = modOf(x[i]! * x[i]!, m, im);
}

/** sqrt(x) = x^((m+1)/4); with `invert`, 1/sqrt(x) (0 at 0). */
export function sqrtLane(x: Float64Array, out: Float64Array, m: number, invert: boolean): void {
  const exponent = (m + 1) / 4;
  const inverse = invert ? inverseTable(m) : undefined;
  const im = 1 / m;
  for (let i = 0; i < x.length; i++) {
    // powMod(x, exponent, m), with modOf for `%` (residues: every product is below 2^40).
    let result = 1;
    let base = x[i]!;
    for (let e = exponent; e > 0; e = Math.floor(e / 2)) {
      if (e & 1) result = modOf(result * base, m, im);
      base = modOf(base * base, m, im);
    }
    out[i] = inverse ? inverse[result]! : result;
  }
}

/** The p-lane of exp: ω^(q-lane of x), as ω^(low bits)·ω^(high bits) (field.ts expSplit). */
export function expLane(xq: Float64Array, out: Float64Array): void {
  const { low, high } = expSplit();
  const mask = low.length - 1;
  const im = 1 / P;
  for (let i = 0; i < xq.length; i++) {
    const e = xq[i]!;
    out[i] = modOf(low[e & mask]! * high[e >>> EXP_LOW_BITS]!, P, im);
  }
}

/** Σ along `dim` of a tensor of `shape` (the result laid out as with keepdim). */
export function sumLane(x: Float64Array, shape: Shape, dim: number, out: Float64Array, m: number): void {
  const outer = numel(shape.slice(0, dim));
  const size = shape[dim]!;
  const inner = numel(shape.slice(dim + 1));
  const im = 1 / m;
  if (inner === 1) {
    // Along the last dim: each row summed in a register.
    for (let o = 0, base = 0; o < outer; o++, base += size) {
      let acc = 0;
      for (let s = 0; s < size; s++) acc += x[base + s]!;
      out[o] = modOf(acc, m, im);
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    const target = o * inner;
    for (let j = 0; j < inner; j++) out[target + j] = x[base + j]!;
    for (let s = 1; s < size; s++) {
      const row = base + s * inner;
      for (let j = 0; j < inner; j++) out[target + j] = out[target + j]! + x[row + j]!;
    }
    for (let j = 0; j < inner; j++) out[target + j] = modOf(out[target + j]!, m, im);
  }
}

/** Output dimension i is input dimension perm[i] (rank <= 4). */
export function transposeLane(x: Float64Array, shape: Shape, perm: readonly number[], out: Float64Array): void {
  const inStrides = stridesOf(shape);
  const outShape = perm.map((d) => shape[d]!);
  const permuted = pad4(outShape);
  const strides = [0, 0, 0, 0];
  perm.forEach((d, i) => { strides[4 - perm.length + i] = inStrides[d]!; });
  const [s0, s1, s2, s3] = strides as [number, number, number, number];
  let o = 0;
  for (let i0 = 0; i0 < permuted[0]; i0++) {
    for (let i1 = 0; i1 < permuted[1]; i1++) {
      for (let i2 = 0; i2 < permuted[2]; i2++) {
        const base = i0 * s0 + i1 * s1 + i2 * s2;
        for (let i3 = 0; i3 < permuted[3]; i3++) out[o++] = x[base + i3 * s3]!;
      }
    }
  }
}

/**
 * Copies the block of shape `block` between `source` (shape `sourceShape`, block at
 * multi-index `sourceStarts`) and `target` (shape `targetShape`, at `targetStarts`).
 */
export function copyBlock(
  source: Float64Array, sourceShape: Shape, sourceStarts: readonly number[],
  target: Float64Array, targetShape: Shape, targetStarts: readonly number[], block: Shape,
): void {
  const offset = (starts: readonly number[], shape: Shape) => {
    const strides = stridesOf(shape);
    let total = 0;
    for (let i = 0; i < starts.length; i++) total += starts[i]! * strides[i]!;
    return total;
  };
  blockCopier(sourceShape, targetShape, block)(source, offset(sourceStarts, sourceShape), target, offset(targetStarts, targetShape));
}

/** A block copy for fixed shapes, between flat offsets (where the block starts in source and target). */
export type BlockCopy = (source: Float64Array, from: number, target: Float64Array, to: number) => void;

/** copyBlock with the shapes decided once: the block of shape `block` from a tensor of `sourceShape` to one of `targetShape`. */
export function blockCopier(sourceShape: Shape, targetShape: Shape, block: Shape): BlockCopy {
  const [n0, n1, n2, n3] = pad4(block);
  const [s0, s1, s2] = stridesOf(pad4(sourceShape)) as [number, number, number, number];
  const [t0, t1, t2] = stridesOf(pad4(targetShape)) as [number, number, number, number];
  const contiguousRows = s2 === n3 && t2 === n3;
  return (source, from, target, to) => {
    for (let i0 = 0; i0 < n0; i0++) {
      for (let i1 = 0; i1 < n1; i1++) {
        const sBase = from + i0 * s0 + i1 * s1;
        const tBase = to + i0 * t0 + i1 * t1;
        if (contiguousRows) {
          copyRun(source, sBase, target, tBase, n2 * n3);
          continue;
        }
        for (let i2 = 0; i2 < n2; i2++) copyRun(source, sBase + i2 * s2, target, tBase + i2 * t2, n3);
      }
    }
  };
}

/** Copies `count` contiguous doubles: a loop for short runs (a subarray per row costs more than the copy). */
export function copyRun(source: Float64Array, from: number, target: Float64Array, to: number, count: number): void {
  if (count > 256) {
    target.set(source.subarray(from, from + count), to);
    return;
  }
  for (let j = 0; j < count; j++) target[to + j] = source[from + j]!;
}

/** Joins `parts` along `dim` into `out` (shape `outShape`). */
export function concatLane(parts: readonly Float64Array[], shapes: readonly Shape[], dim: number, out: Float64Array, outShape: Shape): void {
  let start = 0;
  parts.forEach((part, i) => {
    const shape = shapes[i]!;
    copyBlock(part, shape, shape.map(() => 0), out, outShape, outShape.map((_, d) => (d === dim ? start : 0)), shape);
    start += shape[dim]!;
  });
}
