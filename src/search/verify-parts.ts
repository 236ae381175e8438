/**
 * Verification part by part (docs/search.md §6.5), for a stitched μGraph that verify()
 * cannot take whole (a program with an exp of an exp is 'unverifiable' against any
 * μGraph). The program is partitioned again (partitionProgram is a function of the
 * program and its options), each part's kernels are taken back out of the stitched graph
 * (`sliceGraph`, through the storage map the search reported), and each is verified
 * against its subprogram. A part is accepted when it is 'equivalent', or when it is
 * 'unverifiable' and exactly its subprogram's per-operator lowering (the one μGraph the
 * build trusts unverified, src/build/equivalence-check.ts). The parts compose to the
 * program by construction: each subprogram is the program's own operators, and one map
 * names every storage tensor for the part writing it and the parts reading it.
 */
import type { Program } from '../frontend/program.js';
import { verify, type VerifyResult } from '../equivalence/verify.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import { type TargetProfile, webgpuDefaults } from '../ugraph/target.js';
import { partitionProgram, type PartitionOptions } from './partition.js';
import { sliceGraph } from './stitch.js';

export interface PartVerdict {
  readonly part: number;
  readonly result: VerifyResult;
  /** 'equivalent', 'per-op' (unverifiable, and exactly the per-operator lowering), or 'rejected'. */
  readonly accepted: 'equivalent' | 'per-op' | 'rejected';
  readonly reason?: string;
}

export interface PartsVerification {
  /** Every part accepted, and the storage map consistent with the graph's inputs and outputs. */
  readonly accepted: boolean;
  readonly parts: readonly PartVerdict[];
  /** Why not, when a problem is not a single part's (the storage map). */
  readonly problem?: string;
}

/**
 * `storage`: the stitched graph's tensor id of each storage tensor, by the expanded
 * program's listing name (`%7`, or an input's name), as SearchReport.partition.storage gives it.
 */
export async function verifyParts(
  program: Program, graph: KernelGraph, storage: Readonly<Record<string, number>>,
  options: { readonly partition?: Partial<PartitionOptions>; readonly target?: TargetProfile } = {},
): Promise<PartsVerification> {
  const plan = partitionProgram(program, options.partition);
  const idOf = (t: Parameters<typeof plan.label>[0]) => storage[plan.label(t)];
  // Inputs and outputs by position, as verify() matches them.
  const inputsMatch = plan.expanded.inputs.every((t, i) => idOf(t) === i) && graph.inputs.length === plan.expanded.inputs.length;
  const outputsMatch = graph.outputs.length === plan.expanded.outputs.length
    && plan.expanded.outputs.every((o, j) => idOf(o.tensor) === graph.outputs[j]!.tensor);
  if (!inputsMatch || !outputsMatch) return { accepted: false, parts: [], problem: 'the storage map does not name the graph\'s inputs and outputs in program order' };
  const target = options.target ?? webgpuDefaults;
  const parts: PartVerdict[] = [];
  for (const part of plan.parts) {
    const ids = [...part.sub.inputs, ...part.sub.outputs].map(idOf);
    if (ids.some((id) => id === undefined)) return { accepted: false, parts, problem: `part ${part.index}: the storage map lacks a tensor at its cut` };
    let slice: KernelGraph;
    try {
      slice = sliceGraph(graph, ids.slice(0, part.sub.inputs.length) as number[], ids.slice(part.sub.inputs.length) as number[]);
    } catch (error) {
      return { accepted: false, parts, problem: `part ${part.index}: ${error instanceof Error ? error.message : String(error)}` };
    }
    const result = await verify(part.sub.program, slice);
    const perOp = result.verdict === 'unverifiable' && isLowering(part.sub.program, slice, target);
    parts.push({
      part: part.index, result,
      accepted: result.verdict === 'equivalent' ? 'equivalent' : perOp ? 'per-op' : 'rejected',
      ...(result.reason ? { reason: result.reason } : {}),
    });
  }
  return { accepted: parts.every((p) => p.accepted !== 'rejected'), parts };
}

function isLowering(program: Program, graph: KernelGraph, target: TargetProfile): boolean {
  try {
    return kernelGraphFromProgram(program, target).canonicalJSON() === graph.canonicalJSON();
  } catch {
    return false;
  }
}
