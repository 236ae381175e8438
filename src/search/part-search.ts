/**
 * The search of a partitioned program (docs/search.md §6.5): each part of the plan
 * (partition.ts) is searched on its own, or lowered per operator directly; the parts'
 * μGraphs are stitched into one (stitch.ts), which verify() checks whole at full shape.
 * The report keeps superoptimize's fields, summed over the parts, and says where and why
 * the program was cut and what each part came to.
 */
import type { Program } from '../frontend/program.js';
import { verify, type VerifyResult } from '../equivalence/verify.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import { webgpuDefaults } from '../ugraph/target.js';
import { estimateCost } from './cost.js';
import type { Cut, PartitionPlan } from './partition.js';
import { mapConcurrently } from '../map-concurrently.js';
import { stitchParts } from './stitch.js';
import type { PhaseName, SearchOptions, SearchProgress, SearchReport, SearchResult, StopReason, WholeSearchResult } from './superoptimize.js';

export interface PartReport {
  readonly index: number;
  readonly operators: number;
  /** Storage tensors it reads and writes, by the expanded program's listing names. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** 'search': its searched, verified μGraph; 'per-op': its per-operator lowering. */
  readonly source: 'search' | 'per-op';
  readonly why: string;
  readonly kernels: number;
  readonly customKernels: number;
  readonly ms: number;
}

export interface PartitionReport {
  readonly parts: readonly PartReport[];
  readonly cuts: readonly Cut[];
  /** The μGraph's tensor id of every storage tensor at a cut, program input and output, by listing name (what verifyParts takes). */
  readonly storage: Readonly<Record<string, number>>;
  readonly maxOperators: number;
  readonly ms: number;
}

export type SearchWhole = (program: Program, options: SearchOptions) => Promise<WholeSearchResult>;

type PartSearchReport = Omit<SearchReport, 'partition'>;

/** A program of one part: the whole search's result, with the partition saying so. */
export function wholeProgramReport(plan: PartitionPlan, result: WholeSearchResult, ms: number): PartitionReport {
  const operators = plan.parts[0]?.nodes.length ?? 0;
  return {
    parts: [{
      index: 0, operators, inputs: plan.expanded.inputs.map(plan.label), outputs: plan.expanded.outputs.map((o) => plan.label(o.tensor)),
      source: result.source === 'search' ? 'search' : 'per-op', why: 'the whole program', kernels: result.ugraph.nodes.length,
      customKernels: result.ugraph.customKernels.length, ms: result.report.totalMs,
    }],
    cuts: [], storage: {}, maxOperators: plan.options.maxOperators, ms,
  };
}

/**
 * `how.searchWhole`: superoptimize's search of one program (on a worker thread or here);
 * `concurrency`: how many parts are searched at once; `budgetMs`: the generator's time
 * limit for the whole program, shared equally by the searched parts; `partitionMs`: what
 * partitioning took (counted in totalMs). The parts' searches are independent, and their
 * results are taken in part order, so the μGraph does not depend on the concurrency.
 */
export async function searchParts(
  program: Program, plan: PartitionPlan, options: SearchOptions,
  how: { readonly searchWhole: SearchWhole; readonly concurrency: number; readonly budgetMs: number; readonly partitionMs: number },
): Promise<SearchResult> {
  const { searchWhole, budgetMs: budget, partitionMs } = how;
  const start = performance.now() - partitionMs;
  const target = options.target ?? webgpuDefaults;
  const timeMs = Math.max(1, budget / plan.parts.filter((p) => p.plan === 'search').length);
  // The progress of the whole: the latest of each part's searches, summed.
  const latest = new Map<number, SearchProgress>();
  const progressOf = (index: number) => (p: SearchProgress) => {
    latest.set(index, p);
    const sum = (f: (q: SearchProgress) => number) => [...latest.values()].reduce((n, q) => n + f(q), 0);
    options.onProgress!({
      ...p, explored: sum((q) => q.explored), prunedByExpression: sum((q) => q.prunedByExpression),
      screened: sum((q) => q.screened), verified: sum((q) => q.verified), elapsedMs: performance.now() - start,
    });
  };
  const results = await mapConcurrently(plan.parts, how.concurrency, async (part) => {
    const t0 = performance.now();
    const result = part.plan !== 'search' ? undefined : await searchWhole(part.sub.program, {
      ...options,
      limits: { ...options.limits, timeMs },
      ...(options.onProgress ? { onProgress: progressOf(part.index) } : {}),
    });
    return { result, ms: performance.now() - t0 };
  });
  const reports: PartSearchReport[] = results.flatMap(({ result }) => (result ? [result.report] : []));
  const done = plan.parts.map((part, i) => {
    const { result, ms } = results[i]!;
    const ugraph = result?.ugraph ?? kernelGraphFromProgram(part.sub.program, target);
    const source: PartReport['source'] = result?.source === 'search' ? 'search' : 'per-op';
    const why = !result ? part.why
      : result.source === 'search' ? `searched (${part.nodes.length} operators): ${result.report.pick}` : `searched, nothing verified: ${result.report.pick}`;
    const report: PartReport = {
      index: part.index, operators: part.nodes.length, inputs: part.sub.inputs.map(plan.label), outputs: part.sub.outputs.map(plan.label),
      source, why, kernels: ugraph.nodes.length, customKernels: ugraph.customKernels.length, ms,
    };
    return { sub: part.sub, ugraph, report };
  });

  const searched = done.filter((d) => d.report.source === 'search').length;
  const summary = `${plan.parts.length} parts (${searched} searched and verified, ${plan.parts.length - searched} per-operator), cut at ${describeCuts(plan.cuts)}`;
  const perOperator = (why: string, verification?: VerifyResult): SearchResult => ({
    ugraph: kernelGraphFromProgram(program, target), source: 'per-op-fallback', candidates: [],
    report: merged(reports, `${summary}: ${why}: the per-operator lowering`, partitionReport(plan, done, {}, partitionMs), start, verification),
  });
  if (searched === 0) return perOperator('no part found a verified μGraph');

  const stitched = stitchParts(plan.expanded, done);
  const storage = Object.fromEntries([...stitched.storage].map(([t, id]) => [plan.label(t), id]));
  const verification = await verify(program, stitched.graph);
  if (verification.verdict === 'different') return perOperator(`the stitched μGraph is different (${verification.reason ?? 'a stitching bug'})`, verification);
  const verdict = verification.verdict === 'equivalent'
    ? 'the stitched μGraph verified whole at full shape'
    : `the stitched μGraph is unverifiable whole (${verification.reason ?? ''}); each searched part verified against its subprogram (verifyParts checks them again)`;
  const cost = estimateCost(stitched.graph, target).score;
  return {
    ugraph: stitched.graph, source: 'search', candidates: [{ ugraph: stitched.graph, cost }], verification,
    report: merged(reports, `${summary}; ${verdict}; estimated ${cost.toFixed(1)} µs`, partitionReport(plan, done, storage, partitionMs), start, verification),
  };
}

function partitionReport(plan: PartitionPlan, done: readonly { report: PartReport }[], storage: Record<string, number>, ms: number): PartitionReport {
  return { parts: done.map((d) => d.report), cuts: plan.cuts, storage, maxOperators: plan.options.maxOperators, ms };
}

function describeCuts(cuts: readonly Cut[]): string {
  const counts = new Map<string, number>();
  for (const cut of cuts) counts.set(cut.reason, (counts.get(cut.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}

type Counts = Pick<SearchReport, 'explored' | 'tried' | 'prunedByExpression' | 'prunedByStructure' | 'prunedByGuide' | 'complete' | 'overTarget' | 'rejectedByVerifier' | 'screened' | 'verified'>;

function totals(reports: readonly PartSearchReport[]): Counts {
  const sum = (f: (r: PartSearchReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  return {
    explored: sum((r) => r.explored), tried: sum((r) => r.tried), prunedByExpression: sum((r) => r.prunedByExpression),
    prunedByStructure: sum((r) => r.prunedByStructure), prunedByGuide: sum((r) => r.prunedByGuide), complete: sum((r) => r.complete),
    overTarget: sum((r) => r.overTarget), rejectedByVerifier: sum((r) => r.rejectedByVerifier), screened: sum((r) => r.screened), verified: sum((r) => r.verified),
  };
}

/** The parts' reports as one: counts and phase times summed, the stop reason the most limiting. */
function merged(reports: readonly PartSearchReport[], pick: string, partition: PartitionReport, start: number, verification?: VerifyResult): SearchReport {
  const stops: StopReason[] = ['time-limit', 'work-limit', 'candidate-limit'];
  const stopReason = stops.find((s) => reports.some((r) => r.stopReason === s)) ?? 'exhausted';
  const phases = new Map<PhaseName, number>();
  for (const r of reports) for (const p of r.phases) phases.set(p.phase, (phases.get(p.phase) ?? 0) + p.ms);
  if (verification) phases.set('verify', (phases.get('verify') ?? 0) + verification.ms);
  const sat = reports.map((r) => r.saturation);
  const sum = (f: (s: SearchReport['saturation']) => number) => sat.reduce((s, x) => s + f(x), 0);
  return {
    stopReason, ...totals(reports),
    saturation: {
      nodes: sum((s) => s.nodes), classes: sum((s) => s.classes), iterations: sum((s) => s.iterations),
      stopReason: [...new Set(sat.map((s) => s.stopReason))].join(', ') || 'none', ms: sum((s) => s.ms),
    },
    phases: [...phases].map(([phase, ms]) => ({ phase, ms })),
    pick, partition, totalMs: performance.now() - start,
  };
}
