import { expect } from 'vitest';

/** max |actual - expected| relative to the largest |expected|: for exact-arithmetic comparisons (1e-9). */
export function relativeMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let error = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    error = Math.max(error, Math.abs(actual[i]! - expected[i]!));
  }
  return error / Math.max(scale, 1e-300);
}
