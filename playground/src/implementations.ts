/**
 * The implementations of one benchmark that the page compares, each as a μGraph (for the
 * diagram) plus its CompiledProgram (for the WGSL and for running):
 *   - build:        the tensor module as the app imports it. Under the mugraph plugin it
 *                   holds the kernels chosen at build time; without it, `load()` lowers
 *                   per operator at run time.
 *   - perOp:        the per-operator lowering (one kernel per primitive), the baseline.
 *   - handWritten:  the hand-written μGraph of fixtures/ugraphs/, compiled by compile().
 * The hand-written μGraph counts only if its program has the same structural hash and
 * input names as the benchmark's.
 */
import { isProgram, type CompiledProgram, type LoadedProgram, type LoadOptions, type Program, type TensorProgram } from 'mugraph';
import type { UGraphCase } from '../../fixtures/ugraphs/index.js';
import { compile } from '../../src/compile.js';
import { lowerPerOperator } from '../../src/lower/per-op.js';
import { loadCompiled, missingRequirements } from '../../src/runtime/loader.js';
import { KernelGraph, type KernelGraphJSON, kernelGraphFromProgram } from '../../src/ugraph/index.js';
import type { BenchmarkPrograms } from './benchmark-list.js';

export type ImplementationId = 'build' | 'perOp' | 'handWritten';

export const IMPLEMENTATION_LABELS: Readonly<Record<ImplementationId, string>> = {
  build: 'build (chosen μGraph)',
  perOp: 'per-operator lowering',
  handWritten: 'hand-written μGraph',
};

export interface AvailableImplementation {
  readonly id: ImplementationId;
  /** Where it comes from, in a few words. */
  readonly note: string;
  readonly graph: KernelGraph;
  readonly compiled: CompiledProgram;
  /** `options.variant` forces a variant (the demo runs both); by default the loader picks. */
  load(device: GPUDevice, options?: LoadOptions): Promise<LoadedProgram>;
}

export interface UnavailableImplementation {
  readonly id: ImplementationId;
  readonly unavailable: string;
}

export type Implementation = AvailableImplementation | UnavailableImplementation;

export function isAvailable(impl: Implementation): impl is AvailableImplementation {
  return !('unavailable' in impl);
}

/**
 * What a module compiled by the plugin carries besides the TensorProgram interface when its
 * `artifacts` option is on (playground/mugraph.config.js turns it on): the μGraph the build
 * chose, as the lock entry holds it, and the CompiledProgram its `load()` runs.
 */
interface BuildArtifacts {
  readonly compiled?: CompiledProgram;
  readonly ugraph?: KernelGraphJSON;
}

/** `device` (where there is one) rules out implementations whose kernels need what it lacks (e.g. subgroups). */
export function implementationsOf({ module, program, handWritten: hand }: BenchmarkPrograms, device?: GPUDevice): Implementation[] {
  const perOp = perOperator(program);
  let handWritten: Implementation;
  if (hand === undefined) {
    handWritten = { id: 'handWritten', unavailable: 'not available yet' };
  } else if (hand.program.hash !== program.hash || !sameInputs(hand, program)) {
    handWritten = { id: 'handWritten', unavailable: `not at these shapes: fixtures/ugraphs/ has ${hand.name}${signature(hand.program)}` };
  } else {
    handWritten = fromCompile('handWritten', 'fixtures/ugraphs/, compiled by compile()', compile(program, { ugraph: hand.graph }));
    const missing = device === undefined ? [] : missingRequirements(handWritten.compiled, device);
    if (missing.length > 0) handWritten = { id: 'handWritten', unavailable: `needs ${missing.join(' and ')}, which this device lacks` };
  }
  return [buildImplementation(module, program, perOp), perOp, handWritten];
}

function perOperator(program: Program): AvailableImplementation {
  const compiled = lowerPerOperator(program);
  return {
    id: 'perOp',
    note: 'one kernel per primitive operator',
    graph: kernelGraphFromProgram(program),
    compiled,
    load: (device, options) => loadCompiled(compiled, device, options),
  };
}

function buildImplementation(module: TensorProgram, program: Program, perOp: AvailableImplementation): AvailableImplementation {
  const { compiled, ugraph } = module as TensorProgram & BuildArtifacts;
  const load = (device: GPUDevice, options?: LoadOptions) => module.load(device, options);
  if (compiled !== undefined && ugraph !== undefined) {
    return { id: 'build', note: 'chosen at build time by the mugraph plugin (its μGraph and WGSL, from the module)', graph: KernelGraph.fromJSON(ugraph), compiled, load };
  }
  if (isProgram(module.program)) return { ...perOp, id: 'build', note: 'no build plugin: load() lowers per operator at run time', load };
  const chosen = fromCompile('build', 'compiled by the mugraph plugin; μGraph and WGSL shown from compile() (the plugin\'s `artifacts` option is off)', compile(program));
  return { ...chosen, load };
}

function fromCompile(id: ImplementationId, note: string, result: ReturnType<typeof compile>): AvailableImplementation {
  const { ugraph, compiled } = result;
  return { id, note, graph: ugraph, compiled, load: (device, options) => loadCompiled(compiled, device, options) };
}

/** compile() names tensors after the μGraph's inputs; run() passes the program's names. */
function sameInputs(hand: UGraphCase, program: Program): boolean {
  const names = program.inputSpecs.map((s) => s.name);
  return hand.graph.inputs.length === names.length && hand.graph.inputs.every((input, i) => input.name === names[i]);
}

function signature(program: Program): string {
  return `(${program.inputSpecs.map((s) => `${s.name}: [${s.shape.join(', ')}]`).join(', ')})`;
}
