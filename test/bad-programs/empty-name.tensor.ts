import { tensorProgram } from 'mugraph';

export default tensorProgram('', (g) => ({ y: g.input('x', [4]) })); // error: program: a program needs a non-empty name
