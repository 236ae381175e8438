import { tensorProgram } from 'mugraph';

export default tensorProgram('invalid_input_name', (g) => {
  const a = g.input('hidden state', [8]); // error: input name must be an identifier .*got "hidden state"
  return { y: g.relu(a) };
});
