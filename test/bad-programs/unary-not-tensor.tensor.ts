// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('unary_not_tensor', (g) => {
  g.input('x', [4]);
  return { y: g.exp(3) }; // error: exp: operand x is number 3, not a tensor
});
