import { tensorProgram } from 'mugraph';

export default tensorProgram('transpose_perm', (g) => {
  const x = g.input('x', [2, 8, 32]);
  return { t: g.transpose(x, [0, 1, 1]) }; // error: transpose: perm \[0,1,1\] is not a permutation of 3 dims
});
