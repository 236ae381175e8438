import { tensorProgram } from 'mugraph';

export default tensorProgram('add_overflow', (g) => {
  const x = g.input('x', [4], 'f16');
  return { y: g.add(x, 70000) }; // error: add: constant b = 70000 overflows f16 \(largest finite f16 is 65504\)
});
