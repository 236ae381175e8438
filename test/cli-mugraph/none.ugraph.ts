/** A module with a tensor program but no μGraph: `check --mugraph` has nothing to check. */
export { matmulProgram } from './tiled-matmul.js';
