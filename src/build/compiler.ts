/**
 * The compiler as the cache sees it: `compileProgram` chooses a μGraph for a program (the
 * expensive step a lock entry saves: the search, src/search/superoptimize.ts), `regenerate`
 * turns a μGraph back into WGSL and the runtime's CompiledProgram (cheap; done on every
 * build, so WGSL is never read from a lock file). Both go through `compile()`.
 */
import { performance } from 'node:perf_hooks';
import { compile } from '../compile.js';
import type { VerifyResult } from '../equivalence/verify.js';
import type { Program } from '../frontend/program.js';
import type { CompiledProgram } from '../runtime/types.js';
import type { SearchLimits, SearchProgress, SearchResult } from '../search/superoptimize.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { CompileRecord, PartsRecord, SearchRecord, Verification } from '../cache/entry.js';
import { SEARCH_LIMIT_NAMES, type SearchConfig } from './options.js';

/** Names the pipeline below; part of every cache key (bump when its output changes). */
export const COMPILER_ID = 'search-1';

/** How a per-operator lowering was chosen without a search, as its entry records it. */
const PER_OPERATOR = { method: 'per-operator-lowering', note: 'search off: the μGraph is the one-kernel-per-operator lowering of the program' } as const;

export interface CompileOutcome {
  readonly ugraph: KernelGraph;
  readonly compiled: CompiledProgram;
  /** What goes into the entry: a function of the program, configuration and compiler only. */
  readonly record: CompileRecord;
  /** How the μGraph was chosen; the build adds what the finite-field verifier finds (equivalence-check.ts). */
  readonly verification: Omit<Verification, 'equivalence'>;
  /** verify()'s answer when the search already asked it, and the μGraph it is about (the build does not ask twice). */
  readonly verified?: { readonly ugraph: KernelGraph; readonly result: VerifyResult };
  /** How the search stitched the μGraph from parts, when it did: the build may verify it part by part (equivalence-check.ts). */
  readonly parts?: PartsRecord;
  /** The search's figures when it ran, for the build's report (its times are never stored in the entry). */
  readonly search?: { readonly result: SearchResult; readonly failure?: string };
  /** How long compiling took: reported, never stored in the entry (it differs between runs). */
  readonly compileSeconds: number;
}

/** Whether `search` asks for a search (`search: false` resolves to `{ enabled: false }`). */
export function searches(search: SearchConfig): boolean {
  return search.enabled !== false;
}

/**
 * The μGraph for `program` on `target`: the search's verified pick, the per-operator
 * lowering when nothing verified or the search is off. A search that throws (a bug of ours,
 * never the user's: the program was validated when it was built) is not the user's build
 * failing: its per-operator lowering is used, and the entry and the report say why.
 */
export async function compileProgram(
  program: Program, search: SearchConfig, target: TargetProfile, onProgress?: (progress: SearchProgress) => void,
): Promise<CompileOutcome> {
  if (!searches(search)) return compilePerOperator(program, target, PER_OPERATOR, 'naive-lowering');
  const start = performance.now();
  // Loaded on a compile only: a build served from the lock never pays for the search's modules.
  const { superoptimize } = await import('../search/superoptimize.js');
  let result: SearchResult;
  try {
    result = await superoptimize(program, { target, limits: buildSearchLimits(search), ...(onProgress ? { onProgress } : {}) });
  } catch (error) {
    const failure = `the search failed (${error instanceof Error ? error.message : String(error)})`;
    const fallback = compilePerOperator(program, target, { method: 'per-operator-lowering', note: `${failure}: the per-operator lowering` }, 'per-op-fallback');
    return { ...fallback, compileSeconds: seconds(start) };
  }
  const found = result.source === 'search';
  const { compiled } = compile(program, { ugraph: result.ugraph, target });
  return {
    ugraph: result.ugraph,
    compiled: relabel(compiled, program),
    // Field by field: a field compile() adds later must not reach entries unnoticed (the entry schema is strict).
    record: { compiler: COMPILER_ID, ...kernelCounts(compiled, result.ugraph), source: result.source, search: searchRecord(result) },
    verification: found
      ? { method: 'search', note: result.report.pick }
      : { method: 'per-operator-lowering', note: `the search found no verified μGraph: ${result.report.pick}` },
    ...(result.verification ? { verified: { ugraph: result.ugraph, result: result.verification } } : {}),
    ...(found && result.report.partition.cuts.length > 0
      ? { parts: { maxOperators: result.report.partition.maxOperators, storage: result.report.partition.storage } } : {}),
    search: { result },
    compileSeconds: seconds(start),
  };
}

/**
 * The limits `search` sets, by name; the rest keep the search's defaults, except its time
 * limits: a build's search is cut by time only when the configuration says so (`timeMs`), so
 * that an entry is a function of the program, configuration and compiler, the same on a
 * slow machine as on a fast one. Without it the search ends on its other limits, which
 * count work, not time.
 */
export function buildSearchLimits(search: SearchConfig): Partial<SearchLimits> {
  const configured = Object.fromEntries(SEARCH_LIMIT_NAMES.flatMap((name) => (search[name] === undefined ? [] : [[name, search[name]]])));
  // The e-graph's saturation likewise: bounded by its node and iteration limits, not by the clock.
  return { timeMs: Number.POSITIVE_INFINITY, ...configured, saturation: { timeLimitMs: Number.POSITIVE_INFINITY } };
}

/** The search's report as the entry records it: counts and the pick, no times. */
function searchRecord({ report }: SearchResult): SearchRecord {
  return {
    stopReason: report.stopReason,
    explored: report.explored,
    prunedByExpression: report.prunedByExpression,
    prunedByStructure: report.prunedByStructure,
    prunedByGuide: report.prunedByGuide,
    complete: report.complete,
    screened: report.screened,
    rejectedByVerifier: report.rejectedByVerifier,
    verified: report.verified,
    pick: report.pick,
  };
}

function seconds(since: number): number {
  return Math.round(performance.now() - since) / 1000;
}

/**
 * The per-operator lowering of `program` for `target`, compiled: the fallback when the
 * compiler's choice may not serve the program (equivalence-check.ts), and the choice when the
 * search is off.
 */
export function compilePerOperator(
  program: Program, target: TargetProfile,
  verification: Omit<Verification, 'equivalence'> = { method: 'per-operator-lowering', note: 'the searched μGraph may not serve the program: the per-operator lowering' },
  source: CompileRecord['source'] = 'per-op-fallback',
): CompileOutcome {
  const start = performance.now();
  const ugraph = kernelGraphFromProgram(program, target);
  const { compiled } = compile(program, { ugraph, target });
  return {
    ugraph,
    compiled: relabel(compiled, program),
    record: { compiler: COMPILER_ID, ...kernelCounts(compiled, ugraph), source },
    verification,
    compileSeconds: seconds(start),
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
 * enough for every lock hit to check its entry against it; undefined when it is not. With
 * the search off the choice is the per-operator lowering, a pure function of the program and
 * the target, so an entry must hold exactly it, and one edited and re-sealed into computing
 * something else is caught on the hit. With the search on this returns undefined; the
 * finite-field verifier, which every lock hit runs unless this machine verified the entry
 * before (build-module.ts), then catches such an entry.
 */
export function reproducibleUGraph(program: Program, search: SearchConfig, target: TargetProfile): KernelGraph | undefined {
  return searches(search) ? undefined : kernelGraphFromProgram(program, target);
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
