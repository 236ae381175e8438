import { tensorProgram } from 'mugraph';

export default tensorProgram('concat_empty', (g) => {
  g.input('x', [4]);
  return { y: g.concat([], 0) }; // error: concat: needs a non-empty array of tensors
});
