import { tensorProgram } from 'mugraph';

export default tensorProgram('n'.repeat(129), (g) => ({ y: g.relu(g.input('x', [4])) })); // error: program: a program name is 1 to 128 characters
