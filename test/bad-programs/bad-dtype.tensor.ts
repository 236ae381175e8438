// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('bad_dtype', (g) => {
  const x = g.input('x', [4], 'f64'); // error: input "x": dtype must be 'f16' or 'f32', got "f64"
  return { y: g.relu(x) };
});
