import { tensorProgram } from 'mugraph';

export default tensorProgram('rank5_input', (g) => {
  const a = g.input('a', [2, 2, 2, 2, 2]); // error: input "a": rank 5 exceeds the maximum rank 4
  return { y: g.relu(a) };
});
