// @ts-nocheck -- a plain-JS mistake the type checker would catch: the runtime must catch it too.
import { tensorProgram } from 'mugraph';

export default tensorProgram('not_a_function', { y: 1 }); // error: program: the definition must be a function
