import { tensorProgram } from 'mugraph';

export default tensorProgram('scale_overflow', (g) => {
  const x = g.input('x', [4], 'f32');
  return { y: g.scale(x, 1e39) }; // error: scale: constant c = 1e\+39 overflows f32 \(largest finite f32 is 3\.40
});
