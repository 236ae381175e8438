/**
 * The finite-field verifier (src/equivalence, docs/equivalence.md) as the build uses it:
 * whether a μGraph may serve its program, and what a lock entry records of the answer.
 * Not to be confused with the GPU reference check (reference-check.ts), which runs the
 * compiled kernels on an adapter and compares floats.
 *
 * A μGraph may serve its program when the verifier, at the μGraph's full shape with its
 * default two seeds, finds it 'equivalent'; or when it finds it 'unverifiable' (an exp of an
 * exp: the field cannot evaluate it soundly) and the μGraph is exactly the program's
 * per-operator lowering, which is trusted by construction (one pre-defined kernel per
 * operator of the program, each kernel tested against the float64 reference): the only
 * μGraph used without the verifier's 'equivalent' as a whole, recorded honestly as
 * 'unverifiable'. Or, for a μGraph the search stitched from parts (an exp of an exp is cut
 * between the exps, docs/search.md §6.5), when every part verifies against its subprogram
 * (verifyParts: 'equivalent', or unverifiable and that part's per-operator lowering); the
 * entry records how to cut again (`parts`), so that a lock hit is verified the same way.
 * Never when 'different'. The per-operator lowering is also the fallback when the chosen
 * μGraph may not serve (`chooseVerified`).
 */
import type { Program } from '../frontend/program.js';
import { verify, type VerifyResult } from '../equivalence/verify.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { EquivalenceRecord, PartsRecord } from '../cache/entry.js';
import { type CompileOutcome, compilePerOperator } from './compiler.js';

export interface EquivalenceFinding {
  /** The verifier's answer, as verify() returned it (its wall time in `ms`). */
  readonly result: VerifyResult;
  /** What an entry of this μGraph records, when it may serve the program. */
  readonly record?: EquivalenceRecord;
  /** Why it may not, when it may not: one line naming the difference or the reason. */
  readonly problem?: string;
}

/**
 * Verifies `ugraph` against `program` at full shape and says whether it may serve it (see the
 * header). `known`: verify()'s answer as the search got it; `parts`: how the search stitched it.
 */
export async function checkEquivalence(
  program: Program, ugraph: KernelGraph, target: TargetProfile,
  known?: { readonly ugraph: KernelGraph; readonly result: VerifyResult }, parts?: PartsRecord,
): Promise<EquivalenceFinding> {
  // `known`: verify()'s answer as the search got it (the same call: full shape, default seeds), if about this very μGraph.
  const result = known && known.ugraph.hash === ugraph.hash ? known.result : await verify(program, ugraph);
  const base = { seeds: [...result.seeds], fullShape: true } as const;
  if (result.verdict === 'equivalent') return { result, record: { verdict: 'equivalent', ...base, falseAcceptBound: result.falseAcceptBound } };
  if (result.verdict === 'different') return { result, problem: `its μGraph does not compute the program: ${differenceOf(result)}` };
  if (isPerOperatorLowering(program, ugraph, target)) {
    return {
      result,
      record: {
        verdict: 'unverifiable', ...base, falseAcceptBound: 0,
        reason: `${result.reason ?? 'unverifiable'}; the μGraph is the per-operator lowering, trusted by construction`,
      },
    };
  }
  if (parts) return checkParts(program, ugraph, target, result, parts);
  return {
    result,
    problem: `the finite-field verifier cannot verify its μGraph (${result.reason ?? 'unverifiable'}), `
      + 'and only the per-operator lowering is used unverified',
  };
}

/** An unverifiable stitched μGraph, verified part by part (see the header). */
async function checkParts(program: Program, ugraph: KernelGraph, target: TargetProfile, whole: VerifyResult, parts: PartsRecord): Promise<EquivalenceFinding> {
  // Loaded only for such a μGraph: the partitioner is the search's.
  const { verifyParts } = await import('../search/verify-parts.js');
  const byParts = await verifyParts(program, ugraph, parts.storage, { partition: { maxOperators: parts.maxOperators }, target });
  const ms = whole.ms + byParts.parts.reduce((sum, p) => sum + p.result.ms, 0);
  const result = { ...whole, ms };
  if (!byParts.accepted) {
    const rejected = byParts.parts.find((p) => p.accepted === 'rejected');
    const why = byParts.problem ?? `part ${rejected?.part ?? '?'} ${rejected?.reason ?? 'does not verify'}`;
    return { result, problem: `the finite-field verifier cannot verify its μGraph whole (${whole.reason ?? 'unverifiable'}), nor part by part: ${why}` };
  }
  const count = (kind: string) => byParts.parts.filter((p) => p.accepted === kind).length;
  return {
    result,
    record: {
      verdict: 'unverifiable', seeds: [...whole.seeds], fullShape: true,
      // A union bound: the μGraph is wrong only if some part is.
      falseAcceptBound: Math.min(1, byParts.parts.reduce((sum, p) => sum + p.result.falseAcceptBound, 0)),
      reason: `${whole.reason ?? 'unverifiable'} whole; verified part by part at full shape: ${byParts.parts.length} parts, `
        + `${count('equivalent')} equivalent, ${count('per-op')} their per-operator lowering`,
      parts,
    },
  };
}

/**
 * The compiler's choice if it may serve the program, else the per-operator lowering (the
 * trusted fallback), with what the entry records; throws when neither may (a compiler bug:
 * the per-operator lowering found different).
 */
export async function chooseVerified(
  program: Program, chosen: CompileOutcome, target: TargetProfile,
): Promise<{ readonly outcome: CompileOutcome; readonly record: EquivalenceRecord; readonly ms: number; readonly fellBack?: string }> {
  const first = await checkEquivalence(program, chosen.ugraph, target, chosen.verified, chosen.parts);
  if (first.record) return { outcome: chosen, record: first.record, ms: first.result.ms };
  if (!isPerOperatorLowering(program, chosen.ugraph, target)) {
    const fallback = compilePerOperator(program, target);
    const second = await checkEquivalence(program, fallback.ugraph, target);
    if (second.record) return { outcome: fallback, record: second.record, ms: first.result.ms + second.result.ms, fellBack: first.problem! };
    throw new Error(`${program.name}: the per-operator lowering ${second.problem!.replace(/^its μGraph /, '')} (a compiler bug); no entry was written`);
  }
  throw new Error(`${program.name}: the per-operator lowering ${first.problem!.replace(/^its μGraph /, '')} (a compiler bug); no entry was written`);
}

/** Whether `ugraph` is exactly the per-operator lowering of `program` for `target`. */
export function isPerOperatorLowering(program: Program, ugraph: KernelGraph, target: TargetProfile): boolean {
  try {
    return kernelGraphFromProgram(program, target).canonicalJSON() === ugraph.canonicalJSON();
  } catch {
    return false; // the program does not lower for this target: nothing is trusted
  }
}

/** A 'different' verdict in words: the first element that differs, or the interfaces. */
function differenceOf(result: VerifyResult): string {
  const m = result.firstMismatch;
  if (!m) return `the finite-field verifier finds ${result.reason ?? 'them different'}`;
  return `the finite-field verifier finds output "${m.output}" different at [${m.index.join(', ')}] `
    + `(seed ${m.seed}: ${m.expected} in the program, ${m.actual} in the μGraph, mod p)`;
}
