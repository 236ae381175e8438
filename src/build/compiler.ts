/**
 * The compiler as the cache sees it: `compileProgram` chooses a μGraph for a program (the
 * expensive step a lock entry saves), `regenerate` turns a μGraph back into WGSL and the
 * runtime's CompiledProgram (cheap; done on every build, so WGSL is never read from a
 * lock file). Both go through `compile()`; until it searches, the chosen μGraph is the
 * naive one-kernel-per-operator lowering, and the entry's verification record says so.
 */
import { performance } from 'node:perf_hooks';
import { compile } from '../compile.js';
import type { Program } from '../frontend/program.js';
import type { CompiledProgram } from '../runtime/types.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { CompileRecord, Verification } from '../cache/entry.js';
import type { SearchConfig } from './options.js';

/** Names the pipeline below; part of every cache key (bump when its output changes). */
export const COMPILER_ID = 'naive-1';

/** How a per-operator lowering was chosen, as its entry records it. */
const PER_OPERATOR = { method: 'per-operator-lowering', note: 'no search: the μGraph is the one-kernel-per-operator lowering of the program' } as const;

export interface CompileOutcome {
  readonly ugraph: KernelGraph;
  readonly compiled: CompiledProgram;
  /** What goes into the entry: a function of the program, configuration and compiler only. */
  readonly record: CompileRecord;
  /** How the μGraph was chosen; the build adds what the finite-field verifier finds (equivalence-check.ts). */
  readonly verification: Omit<Verification, 'equivalence'>;
  /** How long compiling took: reported, never stored in the entry (it differs between runs). */
  readonly compileSeconds: number;
}

export function compileProgram(program: Program, search: SearchConfig, target: TargetProfile): CompileOutcome {
  void search; // compile() takes no search configuration yet: it only keys the cache.
  const start = performance.now();
  const { ugraph, compiled, report } = compile(program, { target });
  const compileSeconds = Math.round(performance.now() - start) / 1000;
  return {
    ugraph,
    compiled: relabel(compiled, program),
    // Field by field: a field compile() adds later must not reach entries unnoticed (the entry schema is strict).
    record: { compiler: COMPILER_ID, ...kernelCounts(compiled, ugraph), source: report.source },
    verification: PER_OPERATOR,
    compileSeconds,
  };
}

/**
 * The per-operator lowering of `program` for `target`, compiled: the fallback when the
 * compiler's choice may not serve the program (equivalence-check.ts).
 */
export function compilePerOperator(program: Program, target: TargetProfile): CompileOutcome {
  const start = performance.now();
  const ugraph = kernelGraphFromProgram(program, target);
  const { compiled } = compile(program, { ugraph, target });
  return {
    ugraph,
    compiled: relabel(compiled, program),
    record: { compiler: COMPILER_ID, ...kernelCounts(compiled, ugraph), source: 'naive-lowering' },
    verification: PER_OPERATOR,
    compileSeconds: Math.round(performance.now() - start) / 1000,
  };
}

export interface KernelCounts {
  /** Kernel launches per run: the one count warm, verify and the build report (ProgramEvent.kernels). */
  readonly kernels: number;
  /** Distinct shaders (identical launches share one pipeline). */
  readonly pipelines: number;
  readonly customKernels: number;
}

/** Kernel launches per run of `compiled`: the count warm, verify and the build print. */
export function kernelLaunches(compiled: CompiledProgram): number {
  return compiled.dispatches.length;
}

export function kernelCounts(compiled: CompiledProgram, ugraph: KernelGraph): KernelCounts {
  return { kernels: kernelLaunches(compiled), pipelines: compiled.kernels.length, customKernels: ugraph.customKernels.length };
}

/**
 * The μGraph `compileProgram` chooses for `program`, when recomputing that choice is cheap
 * enough for every lock hit to check its entry against it; undefined when it is not.
 * Without a search the choice is the per-operator lowering, a pure function of the program
 * and the target (what compile() lowers to), so an entry of this compiler must hold exactly
 * it, and one edited and re-sealed into computing something else is caught on the hit.
 * With a search this returns undefined; the finite-field verifier, which every lock hit
 * runs unless this machine verified the entry before (build-module.ts), then catches such
 * an entry.
 */
export function reproducibleUGraph(program: Program, search: SearchConfig, target: TargetProfile): KernelGraph | undefined {
  void search; // no search yet (see compileProgram)
  return kernelGraphFromProgram(program, target);
}

/**
 * WGSL and buffer plan from the μGraph, labelled with `program`'s names: an entry is keyed
 * without names, so it may have been built from a program whose inputs were named differently.
 */
export function regenerate(ugraph: KernelGraph, program: Program): CompiledProgram {
  return relabel(compile(program, { ugraph }).compiled, program);
}

function relabel(compiled: CompiledProgram, program: Program): CompiledProgram {
  const inputs = program.inputSpecs;
  const outputs = program.outputSpecs;
  if (compiled.inputs.length !== inputs.length || compiled.outputs.length !== outputs.length) {
    throw new Error(`${program.name}: the μGraph has ${compiled.inputs.length} inputs and ${compiled.outputs.length} outputs, `
      + `the program ${inputs.length} and ${outputs.length}`);
  }
  return {
    ...compiled,
    name: program.name,
    inputs: compiled.inputs.map((t, i) => ({ ...t, name: inputs[i]!.name })),
    outputs: compiled.outputs.map((t, i) => ({ ...t, name: outputs[i]!.name })),
  };
}
