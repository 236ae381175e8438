/**
 * The compiler's entry point: tensor program -> μGraph -> WGSL (a CompiledProgram the
 * runtime loader runs). Until the search exists the μGraph is the naive lowering (one
 * pre-defined kernel per primitive); the search will plug in here, and the result keeps
 * its shape: the μGraph chosen, the compiled program, and a report on its kernels.
 */
import { compileKernelGraph } from './codegen/ugraph/compile-graph.js';
import type { Program } from './frontend/program.js';
import type { CompiledProgram } from './runtime/types.js';
import type { KernelGraph } from './ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from './ugraph/lower-naive.js';
import type { TargetProfile } from './ugraph/target.js';

export interface CompileOptions {
  /** Limits the μGraph must fit; default WebGPU's minimums. */
  readonly target?: TargetProfile;
  /** Compile this μGraph (which must implement the program) instead of choosing one. */
  readonly ugraph?: KernelGraph;
}

export interface CompileReport {
  /** Kernel launches per run (a concat launches one per operand; reshape and folded constants none). */
  readonly kernels: number;
  /** Distinct shaders (identical launches share one pipeline). */
  readonly pipelines: number;
  readonly customKernels: number;
  /** How the μGraph was chosen. */
  readonly source: 'naive-lowering' | 'given';
}

export interface CompileResult {
  readonly ugraph: KernelGraph;
  readonly compiled: CompiledProgram;
  readonly report: CompileReport;
}

export function compile(program: Program, options: CompileOptions = {}): CompileResult {
  const ugraph = options.ugraph ?? kernelGraphFromProgram(program, options.target);
  const compiled = compileKernelGraph(ugraph, program.name);
  const report: CompileReport = {
    kernels: compiled.dispatches.length,
    pipelines: compiled.kernels.length,
    customKernels: ugraph.customKernels.length,
    source: options.ugraph ? 'given' : 'naive-lowering',
  };
  return { ugraph, compiled, report };
}
