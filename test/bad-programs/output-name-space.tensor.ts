import { tensorProgram } from 'mugraph';

export default tensorProgram('output_space', (g) => { // error: program: output name must be an identifier .*got "hidden state"
  const x = g.input('x', [4]);
  return { 'hidden state': g.relu(x) };
});
