import { tensorProgram } from 'mugraph';

export default tensorProgram('p */ x', (g) => ({ y: g.relu(g.input('x', [4])) })); // error: program: a program name .*got "p \*/ x"
