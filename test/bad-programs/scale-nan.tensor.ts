import { tensorProgram } from 'mugraph';

const headDim = 0;

export default tensorProgram('scale_nan', (g) => {
  const a = g.input('a', [4, 6]);
  return { b: g.scale(a, headDim / headDim) }; // error: scale: constant c must be a finite number, got NaN
});
