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
