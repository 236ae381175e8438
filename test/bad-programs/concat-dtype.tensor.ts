import { tensorProgram } from 'mugraph';

export default tensorProgram('concat_dtype', (g) => {
  const a = g.input('a', [4], 'f16');
  const b = g.input('b', [4], 'f32');
  return { y: g.concat([a, b], 0) }; // error: concat: dtypes differ
});
