/**
 * Two μGraph declarations that implement their programs: one through `ugraphProgram`, and a
 * benchmark fixture's small twin re-exported as it is (a plain `{ program, graph }` case).
 */
import { ugraphProgram } from 'mugraph';
import { rmsnorm } from '../../fixtures/ugraphs/rmsnorm.js';
import { matmulProgram, tiledMatmul } from './tiled-matmul.js';

export default ugraphProgram(matmulProgram, tiledMatmul());

export const rmsnormSmall = rmsnorm.small();
