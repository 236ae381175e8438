// error: module: no tensor program exported
export const headDim = 64;
export default { name: 'not a program' };
