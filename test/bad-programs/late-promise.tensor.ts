import { tensorProgram } from 'mugraph';

export default tensorProgram('late_promise', (g) => {
  const x = g.input('x', [4]);
  void Promise.resolve().then(() => g.exp(x)); // error: exp: program "late_promise" is already built
  return { y: g.relu(x) };
});
