import { tensorProgram } from 'mugraph';

export default tensorProgram('reshape_negative', (g) => {
  const x = g.input('x', [8]);
  return { y: g.reshape(x, [-2, -4]) }; // error: reshape: target shape: dimension 0 is -2: dimensions must be positive
});
