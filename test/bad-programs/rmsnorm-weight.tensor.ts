import { tensorProgram } from 'mugraph';

export default tensorProgram('rmsnorm_weight', (g) => {
  const x = g.input('x', [2, 8]);
  const w = g.input('w', [4]);
  return { y: g.rmsNorm(x, { weight: w }) }; // error: rmsNorm: weight must broadcast to the shape of x \(shapes \[2, 8\], \[4\]\)
});
