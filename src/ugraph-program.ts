/**
 * A μGraph declared together with the tensor program it implements: how a module hands a
 * hand-written (later: searched) μGraph to `mugraph check --mugraph`, and how it runs.
 *
 *   // rmsnorm.ugraph.ts
 *   import { KernelGraphBuilder, tensorProgram, ugraphProgram } from 'mugraph';
 *   const program = tensorProgram('rmsnorm_linear', (g) => ...);
 *   const g = new KernelGraphBuilder();
 *   ...
 *   export default ugraphProgram(program, g.build());
 *
 * The result is a TensorProgram whose `load()` runs the given μGraph (instead of the
 * per-operator lowering), so it can also be imported and run like any program. The
 * μGraph must have the program's inputs and outputs, by name, with the same shapes and
 * dtypes; anything else is an error at the call, naming the mismatch.
 */
import { compile } from './compile.js';
import { isProgram, type Program } from './frontend/program.js';
import { loadCompiled } from './runtime/loader.js';
import type { CompiledProgram, InputDTypes, LoadOptions } from './runtime/types.js';
import type { TensorProgram } from './tensor-program.js';
import { UGraphError } from './ugraph/errors.js';
import { interfaceMismatches } from './ugraph/implements.js';
import { KernelGraph } from './ugraph/kernel-graph.js';

/** A TensorProgram whose `load()` runs a given μGraph; typed like the program it implements. */
export interface UGraphProgram<Inputs extends InputDTypes = InputDTypes, Outputs extends string = string> extends TensorProgram<Inputs, Outputs> {
  /** The μGraph `load()` compiles. */
  readonly ugraph: KernelGraph;
}

/** What `ugraphProgram()` makes at run time: its `program` is the DSL's Program (see DslTensorProgram). */
export interface DslUGraphProgram extends UGraphProgram {
  readonly program: Program;
}

/** Marks our values across copies of this package (a module may bundle its own). */
const UGRAPH_PROGRAM_BRAND = Symbol.for('mugraph.ugraph-program');

export function ugraphProgram<Inputs extends InputDTypes, Outputs extends string>(program: TensorProgram<Inputs, Outputs>, graph: KernelGraph): UGraphProgram<Inputs, Outputs>;
export function ugraphProgram(program: Program, graph: KernelGraph): DslUGraphProgram;
export function ugraphProgram(program: TensorProgram | Program, graph: KernelGraph): DslUGraphProgram {
  return declareUGraph(program, graph);
}

/** ugraphProgram for a value of either kind (the overloads above only keep the types). */
function declareUGraph(program: TensorProgram | Program, graph: KernelGraph): DslUGraphProgram {
  const p: unknown = isProgram(program) ? program : (program as Partial<TensorProgram> | null)?.program;
  if (!isProgram(p)) throw new UGraphError('ugraphProgram', 'the first argument must be a tensor program (what tensorProgram(...) returns)');
  const ugraph = ownKernelGraph(graph);
  const mismatches = interfaceMismatches(p, ugraph);
  if (mismatches.length > 0) {
    throw new UGraphError(`ugraphProgram("${p.name}")`, `the μGraph does not implement the program: ${mismatches.join('; ')}`);
  }
  // Compiled on first load rather than here, so that importing a module of μGraphs stays cheap.
  let compiled: CompiledProgram | undefined;
  const load = (device: GPUDevice, options?: LoadOptions) => {
    compiled ??= compile(p, { ugraph }).compiled;
    return loadCompiled(compiled, device, options);
  };
  return Object.freeze({ [UGRAPH_PROGRAM_BRAND]: true, name: p.name, program: p, ugraph, load });
}

/** Whether `value` came from `ugraphProgram()` (of any copy of this package): its `program` is then a DSL Program. */
export function isUGraphProgram(value: unknown): value is DslUGraphProgram {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[UGRAPH_PROGRAM_BRAND] === true;
}

/**
 * What a module export declares, as a UGraphProgram of this copy of the package: a
 * `ugraphProgram(...)` value, or a plain `{ program, graph }` object (the shape of the
 * benchmark fixtures' cases); undefined for anything else. Throws when a declaration's
 * μGraph does not implement its program.
 */
export function asUGraphProgram(value: unknown): DslUGraphProgram | undefined {
  if (isUGraphProgram(value)) return declareUGraph(value.program, value.ugraph);
  const candidate = value as { program?: unknown; graph?: unknown } | null;
  if (typeof candidate !== 'object' || candidate === null || !isKernelGraphLike(candidate.graph)) return undefined;
  const { program } = candidate;
  const isTensorProgram = typeof program === 'object' && program !== null && isProgram((program as { program?: unknown }).program);
  return isProgram(program) || isTensorProgram ? declareUGraph(program as Program | TensorProgram, candidate.graph) : undefined;
}

/**
 * A KernelGraph of this copy of the package. A module that imports the IR by relative path
 * bundles its own copy of the class, so `instanceof` fails on its graphs; those are rebuilt
 * from their canonical JSON, which validates them exactly as construction does.
 */
function ownKernelGraph(graph: unknown): KernelGraph {
  if (graph instanceof KernelGraph) return graph;
  if (!isKernelGraphLike(graph)) throw new UGraphError('ugraphProgram', 'the second argument must be a μGraph (a KernelGraph, e.g. from KernelGraphBuilder.build())');
  return KernelGraph.fromJSON(JSON.parse(JSON.stringify(graph.toJSON())) as unknown);
}

function isKernelGraphLike(value: unknown): value is KernelGraph {
  if (value instanceof KernelGraph) return true;
  const g = value as Partial<Record<'toJSON' | 'nodes' | 'inputs' | 'outputs', unknown>> | null;
  return typeof g === 'object' && g !== null && typeof g.toJSON === 'function'
    && Array.isArray(g.nodes) && Array.isArray(g.inputs) && Array.isArray(g.outputs);
}
