import { tensorProgram } from 'mugraph';

export default tensorProgram('mul_overflow', (g) => {
  const x = g.input('x', [4]);
  return { y: g.mul(-1e40, x) }; // error: mul: constant a = -1e\+40 overflows f32
});
