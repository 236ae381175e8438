/** A valid μGraph that computes the wrong numbers (a stray +1 in the epilogue): check must FAIL it. */
import { ugraphProgram } from 'mugraph';
import { matmulProgram, tiledMatmul } from './tiled-matmul.js';

export default ugraphProgram(matmulProgram, tiledMatmul({ strayBias: 1 }));
