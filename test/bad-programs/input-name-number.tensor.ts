// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('input_number', (g) => {
  const x = g.input(7, [4]); // error: input: input name must be an identifier .*got number
  return { y: g.relu(x) };
});
