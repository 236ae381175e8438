import { tensorProgram } from 'mugraph';

export default tensorProgram('output_ls', (g) => { // error: program: output name must be an identifier .*got "y\\u2028z"
  const x = g.input('x', [4]);
  return { ['y\u2028z']: g.relu(x) };
});
