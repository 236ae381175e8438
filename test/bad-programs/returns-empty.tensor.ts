import { tensorProgram } from 'mugraph';

export default tensorProgram('returns_empty', (g) => { // error: program: the definition returned no outputs
  g.input('x', [4]);
  return {};
});
