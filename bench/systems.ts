/**
 * The systems the in-process harness times. A system turns a workload into kernels that
 * record onto harness-owned buffers (LoadedProgram's `encode` contract), so that every
 * system is uploaded, dispatched, timed and read back by the same code (gpu-runner.ts).
 * `hand` runs the hand-written μGraphs of fixtures/ugraphs/ (the structures the search must
 * find or beat), compiled by the μGraph code generator; `searched` runs what the search finds
 * for the workload's program (searched.ts), compiled the same way.
 */
import { UGRAPH_FIXTURES } from '../fixtures/ugraphs/index.js';
import { compileKernelGraph } from '../src/codegen/ugraph/index.js';
import { loadCompiled } from '../src/runtime/loader.js';
import type { LoadedProgram, Variant } from '../src/runtime/types.js';
import type { EncodableProgram } from './gpu-runner.js';
import { searchedUGraph } from './searched.js';
import { type BenchWorkload, workloadLabel } from './workloads.js';

export interface Skipped {
  readonly skipped: string;
}

export interface BenchSystem {
  readonly name: string;
  /** The system's kernels for this workload and variant, or why it has none (reported, not fatal). */
  prepare(workload: BenchWorkload, variant: Variant, device: GPUDevice): Promise<EncodableProgram | Skipped>;
  /**
   * Slow work for a workload (the search), run once before any of its cells is timed, so it
   * never runs between timed cells (whose measuring lowers the thread's priority).
   * A failure is logged; `prepare` then reports it on each cell.
   */
  before?(workload: BenchWorkload, log: (line: string) => void): Promise<void>;
}

export function isSkipped(value: EncodableProgram | Skipped): value is Skipped {
  return typeof (value as Skipped).skipped === 'string';
}

/** One kernel per operator: what `tensorProgram(...).load()` does without the build plugin. */
export const perOpSystem: BenchSystem = {
  name: 'per-op',
  async prepare(workload, variant, device) {
    return checked(await workload.tensorProgram.load(device, { variant }), workload, variant);
  },
};

/** Refuses a loaded program whose variant or inputs differ from what the harness will bind. */
function checked(loaded: LoadedProgram, workload: BenchWorkload, variant: Variant): LoadedProgram | Skipped {
  const why = loaded.variant !== variant
    ? `the loader chose the ${loaded.variant} variant`
    : workload.program.inputSpecs.find((s) => !loaded.inputs.some((t) => t.name === s.name && t.shape.join() === s.shape.join()))?.name;
  if (why === undefined) return loaded;
  loaded.destroy();
  return { skipped: loaded.variant !== variant ? why : `its input "${why}" does not match the workload's` };
}

/** The hand-written μGraph of the workload (fixtures/ugraphs/), compiled to WGSL. */
export const handSystem: BenchSystem = {
  name: 'hand',
  async prepare(workload, variant, device) {
    const fixture = UGRAPH_FIXTURES.find((f) => f.benchmark === workload.name);
    if (!fixture) return { skipped: 'no hand-written μGraph' };
    const handCase = workload.shapes === 'small' ? fixture.small() : fixture.full(workload.batch);
    const loaded = await loadCompiled(compileKernelGraph(handCase.graph, handCase.name), device, { variant });
    return checked(loaded, workload, variant);
  },
};

/**
 * The μGraph the search finds for the workload's program at its shape (`superoptimize`, the
 * default target; cached per program in bench/.cache/, searched.ts), compiled to WGSL. Where
 * nothing verified, that is the per-operator lowering, as a build would ship it.
 */
export const searchedSystem: BenchSystem = {
  name: 'searched',
  async before(workload, log) {
    const searched = await searchedUGraph(workload, log);
    const { summary: s } = searched;
    const found = searched.source === 'search'
      ? `${searched.ugraph.nodes.length} kernel${searched.ugraph.nodes.length === 1 ? '' : 's'} (${searched.ugraph.customKernels.length} custom)`
      : 'nothing verified: the per-operator lowering';
    log(`${workloadLabel(workload)} searched: ${found}; ${searched.cached ? 'from bench/.cache' : `searched in ${s.seconds.toFixed(1)} s`}, `
      + `stopped: ${s.stopReason}, ${s.explored} explored, ${s.screened} screened, ${s.verified} verified`);
  },
  async prepare(workload, variant, device) {
    const { ugraph } = await searchedUGraph(workload);
    const loaded = await loadCompiled(compileKernelGraph(ugraph, workload.program.name), device, { variant });
    return checked(loaded, workload, variant);
  },
};

export const SYSTEMS: Readonly<Record<string, BenchSystem>> = Object.fromEntries([perOpSystem, handSystem, searchedSystem].map((s) => [s.name, s]));

export function parseSystems(names: readonly string[]): BenchSystem[] {
  return names.map((name) => {
    const system = SYSTEMS[name];
    if (!system) throw new Error(`bench: unknown system "${name}"; known: ${Object.keys(SYSTEMS).join(', ')} (peers run with npm run bench:peers)`);
    return system;
  });
}
