import { tensorProgram } from 'mugraph';

export default tensorProgram('dtype_mismatch', (g) => {
  const a = g.input('a', [8, 8], 'f16');
  const b = g.input('b', [8, 8], 'f32');
  return { y: g.add(a, b) }; // error: add: dtypes differ \(f16 vs f32\)
});
