// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('returns_array', (g) => { // error: program: the definition must return an object of named output tensors
  const x = g.input('x', [4]);
  return [g.relu(x)];
});
