// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram(42, (g) => ({ y: g.relu(g.input('x', [4])) })); // error: program: a program name .*got number
