import { tensorProgram } from 'mugraph';

export default tensorProgram('add_infinity', (g) => {
  const a = g.input('a', [4, 6]);
  return { b: g.add(a, 1 / 0) }; // error: add: constant b must be a finite number, got Infinity
});
