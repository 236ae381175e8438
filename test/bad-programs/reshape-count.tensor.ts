import { tensorProgram } from 'mugraph';

export default tensorProgram('reshape_count', (g) => {
  const a = g.input('a', [4, 6]);
  const b = g.reshape(a, [5, 5]); // error: reshape: cannot reshape 24 elements into \[5, 5\] \(25 elements\)
  return { b };
});
