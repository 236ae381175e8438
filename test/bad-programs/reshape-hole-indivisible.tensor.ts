import { tensorProgram } from 'mugraph';

export default tensorProgram('reshape_hole_indivisible', (g) => {
  const a = g.input('a', [4, 6]);
  return { b: g.reshape(a, [5, -1]) }; // error: reshape: cannot infer the -1 in \[5, -1\]: 24 elements are not a multiple of 5
});
