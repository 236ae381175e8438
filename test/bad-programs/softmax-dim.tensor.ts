import { tensorProgram } from 'mugraph';

export default tensorProgram('softmax_dim', (g) => {
  const scores = g.input('scores', [8, 32]);
  return { p: g.softmax(scores, 2) }; // error: softmax: dim 2 is out of range for rank 2
});
