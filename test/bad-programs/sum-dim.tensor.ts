import { tensorProgram } from 'mugraph';

export default tensorProgram('sum_dim', (g) => {
  const x = g.input('x', [8, 32]);
  return { s: g.sum(x, -3) }; // error: sum: dim -3 is out of range for rank 2
});
