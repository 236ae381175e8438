import { tensorProgram } from 'mugraph';

// The name would end a // comment in generated code.
export default tensorProgram('p\nglobalThis.PWNED = 1;\n//', (g) => ({ y: g.relu(g.input('x', [4])) })); // error: program: a program name is 1 to 128 characters .*got "p\\nglobalThis
