import { tensorProgram } from 'mugraph';

export default tensorProgram('duplicate_input', (g) => {
  const a = g.input('x', [8]);
  const b = g.input('x', [8]); // error: input: duplicate input name "x"
  return { y: g.add(a, b) };
});
