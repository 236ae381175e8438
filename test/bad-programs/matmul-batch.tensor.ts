import { tensorProgram } from 'mugraph';

export default tensorProgram('matmul_batch', (g) => {
  const a = g.input('a', [2, 4, 8]);
  const b = g.input('b', [3, 8, 4]);
  return { y: g.matmul(a, b) }; // error: matmul: batch dimensions do not broadcast \(shapes \[2, 4, 8\], \[3, 8, 4\]\)
});
