import { tensorProgram } from 'mugraph';

export default tensorProgram('output_proto', (g) => { // error: program: output name "__proto__" is reserved
  const x = g.input('x', [4]);
  return { ['__proto__']: g.relu(x) };
});
