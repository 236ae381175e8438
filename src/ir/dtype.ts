/** Element types a tensor program can declare. f16 is stored as f16 and accumulated in f32. */
export type DType = 'f16' | 'f32';

export const DTYPES: readonly DType[] = ['f16', 'f32'];

export function isDType(value: unknown): value is DType {
  return value === 'f16' || value === 'f32';
}

/** Bytes per element when stored in a GPU buffer. */
export function dtypeBytes(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

/** The largest finite value of each dtype. */
export const DTYPE_MAX: Readonly<Record<DType, number>> = { f16: 65504, f32: 3.4028234663852886e38 };

/**
 * Whether `value` stays finite when rounded to `dtype` (round to nearest even): above the
 * largest finite value by at least half a unit in the last place, it rounds to infinity.
 */
export function isFiniteIn(value: number, dtype: DType): boolean {
  if (!Number.isFinite(value)) return false;
  return dtype === 'f32' ? Number.isFinite(Math.fround(value)) : Math.abs(value) < 65520;
}
