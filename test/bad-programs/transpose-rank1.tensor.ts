import { tensorProgram } from 'mugraph';

export default tensorProgram('transpose_rank1', (g) => {
  const x = g.input('x', [8]);
  return { y: g.transpose(x) }; // error: transpose: needs rank >= 2 to swap the last two dims \(shapes \[8\]\)
});
