// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('output_number', (g) => { // error: program: output "y" is number 3, not a tensor
  g.input('x', [4]);
  return { y: 3 };
});
