/**
 * What a lock entry must pass before it serves a program: `checkLockHit`, the one function
 * behind both the build's lookup (build-module.ts) and `mugraph verify`. The store has
 * already validated the file (entry.ts: bounded JSON, content hash, typed records, a valid
 * μGraph, the key recomputed). Here, against the program and target of this build:
 *
 * 0. it was compiled by this mugraph's compiler (otherwise an OutdatedEntryError: the key
 *    leaves the compiler out, so an entry of another version is found and replaced);
 * 1. the entry records this program (the same canonical JSON; otherwise a key collision);
 * 2. its μGraph has the program's interface by position: as many inputs and outputs, each
 *    with the program's shape and dtype. Names are not compared: entries are keyed without
 *    names, so an entry compiled from a program whose tensors had other names is reused and
 *    relabelled (`regenerate`);
 * 3. its μGraph fits the target's limits (`targetProblems`);
 * 4. where the compiler's choice can be recomputed cheaply (`reproducibleUGraph`: without a
 *    search, the per-operator lowering), the μGraph is exactly that choice.
 *
 * `regenerateEntry` then compiles the μGraph to WGSL, a failure there being a rejection too,
 * and checks the entry's report against what it compiled to: the kernel count a reviewer
 * reads in the entry is the one warm, verify and the build print.
 * Each rejection is a CorruptEntryError naming the file and the reason.
 *
 * The content hash only detects damage: anyone can edit an entry and re-seal it. Checks 1-3
 * catch a re-sealed μGraph that does not fit the program or the device; check 4 catches one
 * that computes something else, but only while the compiler does not search. Once it does,
 * and until the equivalence verifier lands, only `mugraph verify` (the float64 reference
 * check on a WebGPU adapter) catches a re-sealed μGraph with the right interface that
 * computes something else.
 */
import { COMPILER_ID, type KernelCounts, kernelCounts, regenerate, reproducibleUGraph } from '../build/compiler.js';
import type { Program, TensorSpec } from '../frontend/program.js';
import { formatShape } from '../ir/shape.js';
import type { CompiledProgram } from '../runtime/types.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { describeValue } from '../ugraph/check.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { CorruptEntryError, OutdatedEntryError } from './entry.js';
import type { StoredEntry } from './store.js';

/** Throws CorruptEntryError (naming the entry file) unless `stored` may serve `program` on `target`. */
export function checkLockHit(stored: StoredEntry, program: Program, target: TargetProfile): void {
  const reject = (reason: string): never => {
    throw new CorruptEntryError(stored.file, reason);
  };
  const { compiler } = stored.entry.config.compiler; // its format and μGraph schema were checked on reading (entry-schema.ts)
  // Quoted (describeValue): the name comes from the file, and control characters must not reach a terminal.
  if (compiler !== COMPILER_ID) throw new OutdatedEntryError(stored.file, `it was compiled by ${describeValue(compiler)}; this mugraph compiles with "${COMPILER_ID}"`);
  if (JSON.stringify(stored.entry.program.canonical) !== program.canonicalJSON()) {
    reject('it records a different program under the same key (hash collision)');
  }
  const mismatches = interfaceMismatchesByPosition(program, stored.ugraph);
  if (mismatches.length > 0) reject(`its μGraph does not have the program's interface: ${mismatches.join('; ')}`);
  const problems = targetProblems(stored.ugraph, target);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    reject(`its μGraph does not fit target "${target.name}": ${problems[0]!.message}${more}`);
  }
  let expected: KernelGraph | undefined;
  try {
    expected = reproducibleUGraph(program, stored.entry.config.search, target);
  } catch (error) {
    reject(`the compiler cannot compile this program for target "${target.name}" (${(error as Error).message}), so it wrote no such entry`);
  }
  if (expected !== undefined && expected.canonicalJSON() !== stored.ugraph.canonicalJSON()) {
    reject(`its μGraph is not the one the compiler (${stored.entry.config.compiler.compiler}) produces for this program: it was edited and re-sealed`);
  }
}

/**
 * The entry's μGraph compiled to WGSL and labelled with `program`'s names; a failure, or a
 * report whose counts are not the compiled program's, is a CorruptEntryError naming the file.
 */
export function regenerateEntry(stored: StoredEntry, program: Program): CompiledProgram {
  let compiled: CompiledProgram;
  try {
    compiled = regenerate(stored.ugraph, program);
  } catch (error) {
    throw new CorruptEntryError(stored.file, `its μGraph does not compile to WGSL: ${(error as Error).message}`);
  }
  const actual = kernelCounts(compiled, stored.ugraph);
  const wrong = (Object.keys(actual) as (keyof KernelCounts)[]).find((field) => stored.entry.report[field] !== actual[field]);
  if (wrong !== undefined) {
    throw new CorruptEntryError(stored.file, `its report says ${wrong} ${stored.entry.report[wrong]}, its μGraph compiles to ${actual[wrong]}`);
  }
  return compiled;
}

/** Every way the μGraph's inputs and outputs differ from the program's in number, shape or dtype, by position; names are labels. */
function interfaceMismatchesByPosition(program: Program, graph: KernelGraph): string[] {
  const outputs = graph.outputs.map(({ tensor }) => graph.tensors[tensor]!);
  return [...compareByPosition('input', program.inputSpecs, graph.inputs), ...compareByPosition('output', program.outputSpecs, outputs)];
}

function compareByPosition(kind: 'input' | 'output', expected: readonly TensorSpec[], actual: readonly Pick<TensorSpec, 'shape' | 'dtype'>[]): string[] {
  const typed = (t: Pick<TensorSpec, 'shape' | 'dtype'>) => `${t.dtype}${formatShape(t.shape)}`;
  if (expected.length !== actual.length) return [`the program has ${expected.length} ${kind}(s), the μGraph ${actual.length}`];
  return expected.flatMap((e, i) => (typed(e) === typed(actual[i]!)
    ? []
    : [`${kind} ${i} ("${e.name}") is ${typed(e)} in the program but ${typed(actual[i]!)} in the μGraph`]));
}
