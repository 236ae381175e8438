import { tensorProgram } from 'mugraph';

export default tensorProgram('input_backtick', (g) => {
  const x = g.input('x`${1}`', [4]); // error: input: input name must be an identifier
  return { y: g.relu(x) };
});
