// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('keepdim_string', (g) => {
  const x = g.input('x', [4, 2]);
  return { y: g.sum(x, 0, { keepdim: 'yes' }) }; // error: sum: keepdim must be a boolean
});
