import { tensorProgram } from 'mugraph';

export default tensorProgram('input_proto', (g) => {
  const x = g.input('__proto__', [4]); // error: input: input name "__proto__" is reserved
  return { y: g.relu(x) };
});
