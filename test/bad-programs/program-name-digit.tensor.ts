import { tensorProgram } from 'mugraph';

export default tensorProgram('2layer', (g) => ({ y: g.relu(g.input('x', [4])) })); // error: program: a program name .*starting with a letter or _; got "2layer"
