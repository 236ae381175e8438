/**
 * What a lock entry must pass before it serves a program: the one set of checks behind
 * both the build's lookup (build-module.ts) and `mugraph verify`, in this order. The store
 * has already validated the file (entry.ts: bounded JSON, content hash, typed records, a
 * valid μGraph, the key recomputed). Here, against the program and target of this build:
 *
 * `checkLockHit`:
 * 0. it was compiled by this mugraph's compiler (otherwise an OutdatedEntryError: the key
 *    leaves the compiler out, so an entry of another version is found and replaced);
 * 1. the entry records this program (the same canonical JSON; otherwise a key collision);
 * 2. its μGraph has the program's interface by position: as many inputs and outputs, each
 *    with the program's shape and dtype. Names are not compared: entries are keyed without
 *    names, so an entry compiled from a program whose tensors had other names is reused and
 *    relabelled (`regenerate`);
 * 3. its μGraph fits the target's limits (`targetProblems`).
 *
 * `regenerateEntry` then compiles the μGraph to WGSL, a failure there being a rejection too,
 * and checks the entry's report against what it compiled to: the kernel count a reviewer
 * reads in the entry is the one warm, verify and the build print.
 *
 * `verifyLockHit`: the finite-field verifier (build/equivalence-check.ts) finds the μGraph
 * equivalent to the program at full shape (or it is the per-operator lowering, trusted
 * when unverifiable), and the entry records that verdict. Skipped when this machine's
 * scratch cache records this exact entry, by content hash, as verified here
 * (verified.ts): a teammate's rebuild pays one small read per program, a fresh machine
 * verifies each entry once. `mugraph verify` always runs it.
 *
 * `checkCompilerChoice`: where the compiler's choice can be recomputed cheaply
 * (`reproducibleUGraph`: without a search, the per-operator lowering), the μGraph is exactly
 * that choice (an equivalent μGraph edited in is not what this compiler writes).
 *
 * Each rejection is a CorruptEntryError naming the file and the reason.
 *
 * The content hash only detects damage: anyone can edit an entry and re-seal it. Checks 1-3
 * catch a re-sealed μGraph that does not fit the program or the device; the verifier one
 * that computes something else, whatever the compiler (an `add` turned into a `sub`, a
 * scale times 10), with the chance of a wrong acceptance its bound states
 * (docs/equivalence.md §3).
 */
import { performance } from 'node:perf_hooks';
import { COMPILER_ID, type KernelCounts, kernelCounts, regenerate, reproducibleUGraph } from '../build/compiler.js';
import type { Program, TensorSpec } from '../frontend/program.js';
import { formatShape } from '../ir/shape.js';
import type { CompiledProgram } from '../runtime/types.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { describeValue } from '../ugraph/check.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { checkEquivalence, type EquivalenceFinding } from '../build/equivalence-check.js';
import { CorruptEntryError, type EquivalenceRecord, OutdatedEntryError } from './entry.js';
import type { StoredEntry } from './store.js';
import type { VerifiedEntries } from './verified.js';

/** Checks 0-3 (see the header): throws CorruptEntryError naming the entry file unless `stored` may serve `program` on `target`. */
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
}

/** Throws CorruptEntryError (naming the entry file) when the compiler's choice for `program` is cheap to recompute and is not the entry's μGraph. */
export function checkCompilerChoice(stored: StoredEntry, program: Program, target: TargetProfile): void {
  const reject = (reason: string): never => {
    throw new CorruptEntryError(stored.file, reason);
  };
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

/** How a lock hit's equivalence was established in this build. */
export interface HitEquivalence {
  /** 'verifier': the finite-field verifier ran; 'mark': this machine had verified this exact entry before (verified.ts), so it did not run. */
  readonly by: 'verifier' | 'mark';
  readonly verdict: EquivalenceRecord['verdict'];
  /** The verifier's wall time, or the time to read the mark. Reported, never written into the entry. */
  readonly ms: number;
  /** The verifier's answer, when it ran. */
  readonly finding?: EquivalenceFinding;
}

/**
 * The finite-field check of a hit (see the header): throws CorruptEntryError naming the
 * file when the μGraph may not serve the program or the entry records another verdict;
 * records the entry as verified here on success. `verified` undefined, or `force`, always
 * runs the verifier (`mugraph verify`).
 */
export async function verifyLockHit(
  stored: StoredEntry, program: Program, target: TargetProfile, verified: VerifiedEntries | undefined, options: { readonly force?: boolean } = {},
): Promise<HitEquivalence> {
  const start = performance.now();
  const recorded = stored.entry.verification.equivalence.verdict;
  if (!options.force && await verified?.has(stored.entry.contentHash)) return { by: 'mark', verdict: recorded, ms: performance.now() - start };
  let finding: EquivalenceFinding;
  try {
    finding = await checkEquivalence(program, stored.ugraph, target, undefined, stored.entry.verification.equivalence.parts);
  } catch (error) {
    throw new CorruptEntryError(stored.file, `the finite-field verifier could not evaluate its μGraph (${(error as Error).message})`);
  }
  if (finding.problem !== undefined) throw new CorruptEntryError(stored.file, finding.problem);
  const found = finding.record!.verdict;
  if (found !== recorded) {
    throw new CorruptEntryError(stored.file, `its verification record says "${recorded}", the finite-field verifier finds "${found}"`);
  }
  await verified?.mark(stored.entry.contentHash);
  return { by: 'verifier', verdict: found, ms: finding.result.ms, finding };
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
