import { tensorProgram, type Tensor } from 'mugraph';

let leaked: Tensor | undefined;

export const first = tensorProgram('first', (g) => {
  leaked = g.input('x', [4]);
  return { y: g.relu(leaked) };
});

export const second = tensorProgram('second', (g) => {
  const z = g.input('z', [4]);
  return { y: g.add(z, leaked!) }; // error: add: operand b is a tensor of another program
});
