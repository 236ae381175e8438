import { tensorProgram } from 'mugraph';

export default tensorProgram('rmsnorm_negative_eps', (g) => {
  const x = g.input('x', [2, 64], 'f16');
  return { y: g.rmsNorm(x, { eps: -1e-6 }) }; // error: rmsNorm: eps must be >= 0, got -0\.000001
});
