// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('input_shape_number', (g) => {
  const x = g.input('x', 4); // error: input: input "x": shape must be an array of dimensions, got 4
  return { y: g.relu(x) };
});
