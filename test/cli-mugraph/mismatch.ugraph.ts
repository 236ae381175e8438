/** A μGraph whose inputs are f16 where the program's are f32: it does not implement the program. */
import { ugraphProgram } from 'mugraph';
import { matmulProgram, tiledMatmul } from './tiled-matmul.js';

export default ugraphProgram(matmulProgram, tiledMatmul({ inputDtype: 'f16' }));
