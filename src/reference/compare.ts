/**
 * Judges a GPU result against the float64 reference (interpreter.ts).
 *
 * The pass criterion is the relative L2 error ||actual - expected||₂ / ||expected||₂, which
 * is insensitive to a few tiny elements (where relative error per element is meaningless)
 * yet catches any wrong index, missing term or wrong constant, which move it to O(1).
 *
 * Tolerances:
 * - f32, 1e-4: the GPU computes in f32 (unit roundoff 6e-8) and sums in a different order
 *   (tiles, tree reductions) than the reference; over reductions of a few thousand terms the
 *   typical relative error is ~1e-6, so 1e-4 leaves two orders of margin while any real bug
 *   is far above it.
 * - f16, 1e-2: inputs and intermediates are stored in f16 (unit roundoff 4.9e-4) and
 *   accumulated in f32; each stored intermediate adds up to 4.9e-4 relative error, and
 *   through a few ops (plus exp/rsqrt amplification) that grows to ~1e-3, so 1e-2 is the
 *   bound. Inputs are rounded to f16 before the reference sees them (roundInputsForVariant),
 *   so the input rounding itself is not counted.
 *
 * Non-finite values: a NaN/Inf in the reference must be matched by the same non-finite
 * value (NaN by NaN, +Inf by +Inf) at the same position and vice versa; such agreeing pairs
 * are left out of the error norms, disagreeing ones are counted in `nanMismatch`.
 */
import type { Program } from '../frontend/program.js';
import { roundToF16 } from '../runtime/f16.js';

export type Variant = 'f16' | 'f32';

export interface Comparison {
  /** max |actual - expected| over finite pairs. */
  readonly maxAbsError: number;
  /** max |actual - expected| / max(|expected|, 1e-6 · max|expected|) over finite pairs. */
  readonly maxRelError: number;
  /** ||actual - expected||₂ / max(||expected||₂, 1e-30) over finite pairs: the pass criterion. */
  readonly relL2Error: number;
  readonly tolerance: number;
  /** Positions where actual and expected are not the same non-finite value while one of them is non-finite. */
  readonly nanMismatch: number;
  /** Of those, f16-variant positions where the true value exceeds the f16 range (|e| > 65504): overflow, not a bug. */
  readonly f16Overflow: number;
  readonly pass: boolean;
}

/** The largest finite f16. */
const F16_MAX = 65504;

export const TOLERANCE: Record<Variant, number> = { f32: 1e-4, f16: 1e-2 };

/** Keeps the relative L2 error finite when the expected tensor is all zeros. */
const TINY_NORM = 1e-30;
/** Per-element relative error divides by at least this fraction of the largest |expected|. */
const RELATIVE_FLOOR = 1e-6;

/**
 * Compares `actual` (the GPU's output) with `expected` (the reference's). Different lengths
 * never pass; every error is then reported as Infinity.
 */
export function compareToReference(actual: ArrayLike<number>, expected: ArrayLike<number>, variant: Variant): Comparison {
  const tolerance = TOLERANCE[variant];
  if (actual.length !== expected.length) {
    return { maxAbsError: Infinity, maxRelError: Infinity, relL2Error: Infinity, tolerance, nanMismatch: 0, f16Overflow: 0, pass: false };
  }
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(expected[i]!);
    if (Number.isFinite(e) && e > scale) scale = e;
  }
  const relativeFloor = Math.max(RELATIVE_FLOOR * scale, Number.MIN_VALUE);
  let nanMismatch = 0;
  let f16Overflow = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  let errorSquares = 0;
  let expectedSquares = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (!Object.is(a, e)) nanMismatch++;
      if (variant === 'f16' && Number.isFinite(e) && Math.abs(e) > F16_MAX) f16Overflow++;
      continue;
    }
    const error = Math.abs(a - e);
    maxAbsError = Math.max(maxAbsError, error);
    maxRelError = Math.max(maxRelError, error / Math.max(Math.abs(e), relativeFloor));
    errorSquares += error * error;
    expectedSquares += e * e;
  }
  const relL2Error = Math.sqrt(errorSquares) / Math.max(Math.sqrt(expectedSquares), TINY_NORM);
  const pass = nanMismatch === 0 && relL2Error <= tolerance;
  return { maxAbsError, maxRelError, relL2Error, tolerance, nanMismatch, f16Overflow, pass };
}

/**
 * The inputs as the GPU will see them: for the f16 variant, every input the program declares
 * f16 is rounded through f16 (it is uploaded as f16), so the reference computes on identical
 * values. The f32 variant stores every tensor as f32 and gets the inputs unchanged. Names the
 * program does not declare pass through untouched.
 */
export function roundInputsForVariant(
  inputs: Readonly<Record<string, ArrayLike<number>>>,
  program: Program,
  variant: Variant,
): Record<string, ArrayLike<number>> {
  const rounded: Record<string, ArrayLike<number>> = { ...inputs };
  if (variant === 'f32') return rounded;
  for (const spec of program.inputSpecs) {
    const values = inputs[spec.name];
    if (spec.dtype === 'f16' && values !== undefined) rounded[spec.name] = roundToF16(values);
  }
  return rounded;
}
