import { tensorProgram } from 'mugraph';

export default tensorProgram('matmul_rank1', (g) => {
  const x = g.input('x', [64]);
  const w = g.input('w', [64, 8]);
  const y = g.matmul(x, w); // error: matmul: both operands need rank >= 2
  return { y };
});
