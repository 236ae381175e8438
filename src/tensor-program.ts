import { buildProgram, type Program, type ProgramDefinition } from './frontend/program.js';
import { lowerPerOperator } from './lower/per-op.js';
import { loadCompiled } from './runtime/loader.js';
import type { LoadedProgram, LoadOptions } from './runtime/types.js';

/**
 * What a `*.tensor.ts` module exports. Without the build plugin, `load()` lowers the
 * program at run time (one kernel per operator); the plugin replaces the module with
 * precompiled kernels behind the same interface.
 */
export interface TensorProgram {
  readonly name: string;
  readonly program: Program;
  load(device: GPUDevice, options?: LoadOptions): Promise<LoadedProgram>;
}

/**
 * Defines a tensor program. The definition runs once, now: shapes and dtypes are
 * checked immediately and any error names the line that caused it.
 *
 *   export default tensorProgram('rmsnorm_linear', (g) => {
 *     const x = g.input('x', [16, 4096], 'f16');
 *     const w = g.input('w', [4096, 6144], 'f16');
 *     return { y: g.matmul(g.rmsNorm(x), w) };
 *   });
 */
export function tensorProgram(name: string, define: ProgramDefinition): TensorProgram {
  return tensorProgramOf(buildProgram(name, define));
}

/** The TensorProgram of a built program: `load()` lowers it at run time, one kernel per operator. */
export function tensorProgramOf(program: Program): TensorProgram {
  return Object.freeze({
    name: program.name,
    program,
    load: (device: GPUDevice, options?: LoadOptions) => loadCompiled(lowerPerOperator(program), device, options),
  });
}
