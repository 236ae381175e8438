import { tensorProgram } from 'mugraph';

export default tensorProgram('reshape_two_holes', (g) => {
  const a = g.input('a', [4, 6]);
  return { b: g.reshape(a, [-1, 2, -1]) }; // error: reshape: at most one dimension may be -1
});
