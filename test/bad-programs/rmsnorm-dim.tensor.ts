import { tensorProgram } from 'mugraph';

export default tensorProgram('rmsnorm_dim', (g) => {
  const x = g.input('x', [2, 8]);
  return { y: g.rmsNorm(x, { dim: 2 }) }; // error: rmsNorm: dim 2 is out of range for rank 2
});
