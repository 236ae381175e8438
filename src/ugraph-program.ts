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
import type { CompiledProgram, LoadOptions } from './runtime/types.js';
import type { TensorProgram } from './tensor-program.js';
import { UGraphError } from './ugraph/errors.js';
import { interfaceMismatches } from './ugraph/implements.js';
import { KernelGraph } from './ugraph/kernel-graph.js';

export interface UGraphProgram extends TensorProgram {
  /** The μGraph `load()` compiles. */
  readonly ugraph: KernelGraph;
}

/** Marks our values across copies of this package (a module may bundle its own). */
const UGRAPH_PROGRAM_BRAND = Symbol.for('mugraph.ugraph-program');

export function ugraphProgram(program: TensorProgram | Program, graph: KernelGraph): UGraphProgram {
  const p = isProgram(program) ? program : (program as Partial<TensorProgram> | null)?.program;
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

export function isUGraphProgram(value: unknown): value is UGraphProgram {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[UGRAPH_PROGRAM_BRAND] === true;
}

/**
 * What a module export declares, as a UGraphProgram of this copy of the package: a
 * `ugraphProgram(...)` value, or a plain `{ program, graph }` object (the shape of the
 * benchmark fixtures' cases); undefined for anything else. Throws when a declaration's
 * μGraph does not implement its program.
 */
export function asUGraphProgram(value: unknown): UGraphProgram | undefined {
  if (isUGraphProgram(value)) return ugraphProgram(value.program, value.ugraph);
  const candidate = value as { program?: unknown; graph?: unknown } | null;
  if (typeof candidate !== 'object' || candidate === null || !isKernelGraphLike(candidate.graph)) return undefined;
  const { program } = candidate;
  const isTensorProgram = typeof program === 'object' && program !== null && isProgram((program as { program?: unknown }).program);
  return isProgram(program) || isTensorProgram ? ugraphProgram(program as Program | TensorProgram, candidate.graph) : undefined;
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
