import { tensorProgram } from 'mugraph';

export default tensorProgram('eps_overflow', (g) => {
  const x = g.input('x', [2, 4], 'f16');
  return { y: g.rmsNorm(x, { eps: 1e5 }) }; // error: rmsNorm: constant eps = 100000 overflows f16
});
