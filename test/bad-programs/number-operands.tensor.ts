import { tensorProgram } from 'mugraph';

export default tensorProgram('number_operands', (g) => {
  const x = g.input('x', [4]);
  const two = g.mul(2, 3); // error: mul: at least one operand must be a tensor
  return { y: g.add(x, two) };
});
