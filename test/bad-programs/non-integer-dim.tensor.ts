import { tensorProgram } from 'mugraph';

const hidden = 4096 / 3;

export default tensorProgram('non_integer_dim', (g) => {
  const a = g.input('a', [4, hidden]); // error: dimension 1 is 1365\.33+\d*, not an integer
  return { y: g.relu(a) };
});
