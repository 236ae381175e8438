import { tensorProgram, type Tensor } from 'mugraph';

let leaked: Tensor | undefined;

export const first = tensorProgram('first', (g) => {
  leaked = g.input('x', [4]);
  return { y: g.relu(leaked) };
});

export const second = tensorProgram('second', (g) => { // error: program: output "y" is a tensor of another program
  g.input('z', [4]);
  return { y: leaked! };
});
