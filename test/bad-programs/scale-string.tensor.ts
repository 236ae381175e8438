// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('scale_string', (g) => {
  const x = g.input('x', [4]);
  return { y: g.scale(x, '2') }; // error: scale: constant c must be a finite number, got 2
});
