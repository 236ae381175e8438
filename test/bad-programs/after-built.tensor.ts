import { tensorProgram, type GraphBuilder, type Tensor } from 'mugraph';

let builder: GraphBuilder | undefined;
let input: Tensor | undefined;

export default tensorProgram('after_built', (g) => {
  builder = g;
  input = g.input('x', [4]);
  return { y: g.relu(input) };
});

export const late = builder!.exp(input!); // error: exp: program "after_built" is already built; call operators inside its definition
