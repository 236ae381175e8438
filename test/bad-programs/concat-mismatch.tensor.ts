import { tensorProgram } from 'mugraph';

export default tensorProgram('concat_mismatch', (g) => {
  const a = g.input('a', [4, 8]);
  const b = g.input('b', [5, 16]);
  return { c: g.concat([a, b], 1) }; // error: concat: all dims but dim 1 must match
});
