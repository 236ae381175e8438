import { tensorProgram, type GraphBuilder, type Tensor } from 'mugraph';

/** A helper of the user's: the error points inside it, where the bad call is. */
function attention(g: GraphBuilder, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const scores = g.softmax(g.matmul(q, k));
  return g.matmul(scores, v); // error: matmul: inner dimensions differ: a's last dim is 32, b's second-last is 31
}

export default tensorProgram('helper_function', (g) => {
  const q = g.input('q', [8, 16]);
  const k = g.input('k', [16, 32]);
  const v = g.input('v', [31, 16]);
  return { o: attention(g, q, k, v) };
});
