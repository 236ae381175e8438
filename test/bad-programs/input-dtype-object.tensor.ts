// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('input_dtype_object', (g) => {
  const x = g.input('x', [4], { dtype: 'f32' }); // error: input: input "x": dtype must be 'f16' or 'f32'
  return { y: g.relu(x) };
});
