import { tensorProgram } from 'mugraph';

export default tensorProgram('matmul_dtype', (g) => {
  const a = g.input('a', [4, 8], 'f16');
  const b = g.input('b', [8, 4], 'f32');
  return { y: g.matmul(a, b) }; // error: matmul: dtypes differ \(f16 vs f32\)
});
