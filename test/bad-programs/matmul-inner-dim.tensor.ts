import { tensorProgram } from 'mugraph';

export default tensorProgram('matmul_inner_dim', (g) => {
  const x = g.input('x', [16, 4096], 'f16');
  const w = g.input('w', [4095, 64], 'f16');
  return { y: g.matmul(x, w) }; // error: matmul: inner dimensions differ.*\[16, 4096\], \[4095, 64\]
});
