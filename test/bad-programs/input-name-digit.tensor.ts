import { tensorProgram } from 'mugraph';

export default tensorProgram('input_digit', (g) => {
  const x = g.input('1x', [4]); // error: input: input name must be an identifier .*got "1x"
  return { y: g.relu(x) };
});
