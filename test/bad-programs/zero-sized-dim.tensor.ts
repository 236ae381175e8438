import { tensorProgram } from 'mugraph';

export default tensorProgram('zero_sized_dim', (g) => {
  const a = g.input('a', [4, 0]); // error: dimension 1 is 0: .*zero-sized tensors are not supported
  return { y: g.relu(a) };
});
