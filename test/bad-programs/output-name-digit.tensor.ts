import { tensorProgram } from 'mugraph';

export default tensorProgram('output_digit', (g) => { // error: program: output name must be an identifier .*got "0"
  const x = g.input('x', [4]);
  return [g.relu(x)].reduce((o, t, i) => ({ ...o, [i]: t }), {});
});
