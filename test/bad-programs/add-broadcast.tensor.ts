import { tensorProgram } from 'mugraph';

export default tensorProgram('add_broadcast', (g) => {
  const a = g.input('a', [2, 3]);
  const b = g.input('b', [4]);
  return {
    y: g.add(a, b), // error: add: shapes do not broadcast \(shapes \[2, 3\], \[4\]\)
  };
});
