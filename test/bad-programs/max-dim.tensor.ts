import { tensorProgram } from 'mugraph';

export default tensorProgram('max_dim', (g) => {
  const x = g.input('x', [4, 2]);
  return { y: g.max(x, 2) }; // error: max: dim 2 is out of range for rank 2
});
