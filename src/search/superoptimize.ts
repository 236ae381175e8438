/**
 * superoptimize(program): the search, end to end (docs/search.md §4).
 *
 *   1. target      saturate the e-graph of the program's abstract expressions (subexpr.ts)
 *   2. generate    enumerate μGraphs depth first, pruned by expressions and labels (generator.ts)
 *   3. screen      test each complete candidate on sampled outputs in the finite field (Screener)
 *   4. size        re-tile each screened structure, thread configs by the rules (sizing.ts)
 *   5. select      rank the candidates by the cost estimate (cost.ts)
 *   6. verify      verify() the best at full shape, two seeds; the next one if it fails (only
 *                  those estimated cheaper than the per-operator lowering)
 * and the per-operator lowering when nothing verifies. Limits are explicit and the report
 * says why the search stopped and what each phase cost. A program the search cannot take
 * whole (operators it has no form of, an exp of an exp, too many operators) is cut into
 * parts first, each searched this way, and the parts' μGraphs stitched (partition.ts,
 * part-search.ts; docs/search.md §6.5). Each search runs on a worker thread (search-pool.ts),
 * parts at once, unless `threads` is 0.
 */
import type { Program } from '../frontend/program.js';
import { Screener } from '../equivalence/screen.js';
import { verify, type VerifyResult } from '../equivalence/verify.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { kernelGraphFromProgram } from '../ugraph/lower-naive.js';
import { type TargetProfile, webgpuDefaults } from '../ugraph/target.js';
import { abstractProgram } from './abstract-program.js';
import type { StorageTensor } from './block-search.js';
import { DEFAULT_GENERATOR_LIMITS, Generator, type GeneratorCounters, type GeneratorLimits } from './generator.js';
import { programLabels, UNIT } from './labels.js';
import { opMenu } from './op-menu.js';
import { partitionProgram } from './partition.js';
import { type PartitionReport, searchParts, type SearchWhole, wholeProgramReport } from './part-search.js';
import { ProgramGuide } from './program-guide.js';
import { defaultSearchThreads, searchWholeOnWorker } from './search-pool.js';
import { type RunnerLimits } from './runner.js';
import { estimateCost } from './cost.js';
import { MIN_WORKGROUPS, sizeGraph } from './sizing.js';
import { SubexpressionOracle } from './subexpr.js';

export interface SearchLimits extends GeneratorLimits {
  /** Wall-clock budget of the generator, in ms. */
  readonly timeMs: number;
  /** Stop generating after this many candidates passed screening. */
  readonly maxCandidates: number;
  /** Limits of the e-graph's saturation. */
  readonly saturation?: Partial<RunnerLimits>;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = Object.freeze({ ...DEFAULT_GENERATOR_LIMITS, timeMs: 40_000, maxCandidates: 16 });

export interface SearchOptions {
  readonly target?: TargetProfile;
  readonly limits?: Partial<SearchLimits>;
  /** Progress, about every 250 ms of generation and at each phase. */
  readonly onProgress?: (progress: SearchProgress) => void;
  /**
   * Searches run at once on worker threads (search-pool.ts): the parts of a partitioned
   * program; 0 runs every search on the calling thread. The μGraph found is the same
   * whatever the number. @default one per core (at most MAX_SEARCH_THREADS)
   */
  readonly threads?: number;
}

export interface SearchProgress {
  readonly phase: PhaseName;
  readonly explored: number;
  readonly prunedByExpression: number;
  readonly screened: number;
  readonly verified: number;
  readonly bestCost: number | undefined;
  readonly elapsedMs: number;
}

export type PhaseName = 'target' | 'generate' | 'screen' | 'select' | 'verify';

export type StopReason = 'exhausted' | 'time-limit' | 'work-limit' | 'candidate-limit';

export interface SearchReport {
  readonly stopReason: StopReason;
  /** Partial block graphs reached. */
  readonly explored: number;
  /** Operators tried. */
  readonly tried: number;
  readonly prunedByExpression: number;
  readonly prunedByStructure: number;
  readonly prunedByGuide: number;
  /** Complete μGraphs generated (before screening). */
  readonly complete: number;
  readonly overTarget: number;
  /** The first of those μGraphs' first problem with the target, in words. */
  readonly overTargetExample?: string;
  /** Rejected by screening or by verify(). */
  readonly rejectedByVerifier: number;
  /** Passed screening. */
  readonly screened: number;
  /** Verified at full shape (the chosen one, and any before it that failed). */
  readonly verified: number;
  readonly saturation: { readonly nodes: number; readonly classes: number; readonly iterations: number; readonly stopReason: string; readonly ms: number };
  readonly phases: readonly { readonly phase: PhaseName; readonly ms: number }[];
  /** How the μGraph was picked, in words. */
  readonly pick: string;
  /** Where and why the program was cut, and what each part came to (one part, no cuts, when searched whole). */
  readonly partition: PartitionReport;
  readonly totalMs: number;
}

export interface SearchCandidate {
  readonly ugraph: KernelGraph;
  readonly cost: number;
}

export interface SearchResult {
  readonly ugraph: KernelGraph;
  /** 'search': a verified searched μGraph; 'per-op-fallback': nothing verified, the per-operator lowering. */
  readonly source: 'search' | 'per-op-fallback';
  /** Every candidate that passed screening, cheapest first. */
  readonly candidates: readonly SearchCandidate[];
  /** verify()'s record of the chosen μGraph (absent for the fallback). */
  readonly verification?: VerifyResult;
  readonly report: SearchReport;
}

export async function superoptimize(program: Program, options: SearchOptions = {}): Promise<SearchResult> {
  const t0 = performance.now();
  const limits: SearchLimits = { ...DEFAULT_SEARCH_LIMITS, ...options.limits };
  // A part holds at most what one block graph may (maxBlockOps): larger ones are cut (partition.ts).
  const plan = partitionProgram(program, { maxOperators: limits.maxBlockOps });
  const partitionMs = performance.now() - t0;
  const threads = options.threads ?? defaultSearchThreads();
  const search: SearchWhole = threads > 0 ? searchWholeOnWorker : searchWhole;
  if (plan.parts.length > 1) return searchParts(program, plan, options, { searchWhole: search, concurrency: Math.max(1, threads), budgetMs: limits.timeMs, partitionMs });
  const result = await search(program, options);
  return { ...result, report: { ...result.report, partition: wholeProgramReport(plan, result, partitionMs) } };
}

/** A search's result before superoptimize adds how the program was partitioned. */
export type WholeSearchResult = Omit<SearchResult, 'report'> & { readonly report: Omit<SearchReport, 'partition'> };

/** The search of a whole program as one part (steps 1-6 above). */
export async function searchWhole(program: Program, options: SearchOptions): Promise<WholeSearchResult> {
  const start = performance.now();
  const target = options.target ?? webgpuDefaults;
  const limits: SearchLimits = { ...DEFAULT_SEARCH_LIMITS, ...options.limits };
  const phases: { phase: PhaseName; ms: number }[] = [];
  const timed = <T>(phase: PhaseName, f: () => T): T => {
    const t0 = performance.now();
    try { return f(); } finally { phases.push({ phase, ms: performance.now() - t0 }); }
  };
  const counters: GeneratorCounters = { tried: 0, prunedByExpression: 0, prunedByStructure: 0, prunedByGuide: 0, explored: 0, complete: 0, overTarget: 0 };
  let screenedCount = 0;
  let rejected = 0;
  let verifiedCount = 0;
  const progress = (phase: PhaseName, bestCost?: number) => options.onProgress?.({
    phase, explored: counters.explored, prunedByExpression: counters.prunedByExpression, screened: screenedCount, verified: verifiedCount, bestCost, elapsedMs: performance.now() - start,
  });

  // 1. target: the e-graph of the program's outputs, saturated once.
  const oracle = timed('target', () => {
    const o = SubexpressionOracle.forProgram(program, { limits: limits.saturation });
    o.saturate();
    return o;
  });
  progress('target');

  // 2-3. generate and screen.
  const expanded = abstractProgram(program);
  // The same expanded program for both (expansion returns a primitive program unchanged).
  const labels = programLabels(expanded.program);
  const menu = opMenu(expanded.program, labels);
  const inputs: StorageTensor[] = labels.program.inputs.map((t, i) => ({
    id: i, shape: t.shape, dtype: t.dtype, labels: labels.of.get(t)!, value: expanded.values.get(t)!,
  }));
  const parallel = new Set(labels.program.outputs.flatMap((o) => labels.of.get(o.tensor)!.filter((l) => l !== UNIT)));
  const batch = new Set(labels.program.outputs.flatMap((o) => labels.of.get(o.tensor)!.slice(0, -2).filter((l) => l !== UNIT)));
  const screener = new Screener(program);
  const screened: KernelGraph[] = [];
  const seen = new Set<string>();
  let lastReport = performance.now();
  let stopReason: StopReason = 'exhausted';
  const generateStart = performance.now();
  const generator = new Generator({
    program, target, oracle, menu, inputs, limits, counters, guide: new ProgramGuide(expanded, labels, oracle),
    plans: { sizes: labels.sizes, parallel, reduced: labels.reduced, batch },
    deadline: generateStart + limits.timeMs,
    onTick: () => { if (performance.now() - lastReport > 250) { lastReport = performance.now(); progress('generate'); } },
  });
  generator.run((graph) => {
    if (seen.has(graph.hash)) return true;
    seen.add(graph.hash);
    const result = screener.screen(graph);
    if (result.verdict === 'pass') { screened.push(graph); screenedCount++; } else rejected++;
    if (performance.now() - lastReport > 250) { lastReport = performance.now(); progress('generate'); }
    if (screened.length >= limits.maxCandidates) { stopReason = 'candidate-limit'; return false; }
    return true;
  });
  // The candidate limit is ours; the generator knows whether it ran out of time or work.
  if (stopReason === 'exhausted' && generator.stopReason !== 'caller') stopReason = generator.stopReason;
  phases.push({ phase: 'generate', ms: performance.now() - generateStart });
  progress('screen');

  // 4-5. size and select: each structure re-tiled to its best estimated sizes, cheapest first.
  const candidates = timed('select', () => screened
    .flatMap((ugraph) => { try { return [sizeGraph(ugraph, target)]; } catch { return []; } })
    .map(({ graph, cost }) => ({ ugraph: graph, cost }))
    .sort((a, b) => Number(busy(b.ugraph)) - Number(busy(a.ugraph)) || a.cost - b.cost || (a.ugraph.hash < b.ugraph.hash ? -1 : 1)));
  progress('select', candidates[0]?.cost);

  // 6. verify the best at full shape; fall back to the next. Only candidates estimated cheaper
  // than the per-operator lowering: that lowering is the fallback anyway, and shipping a
  // fused μGraph estimated slower than it would make the search a pessimization.
  const perOperator = kernelGraphFromProgram(program, target);
  const perOperatorCost = estimateCost(perOperator, target).score;
  const worthwhile = candidates.filter((c) => c.cost < perOperatorCost);
  const verifyStart = performance.now();
  let chosen: { candidate: SearchCandidate; verification: VerifyResult } | undefined;
  for (const candidate of worthwhile) {
    const verification = await verify(program, candidate.ugraph);
    if (verification.verdict === 'equivalent') { verifiedCount++; chosen = { candidate, verification }; break; }
    rejected++;
  }
  phases.push({ phase: 'verify', ms: performance.now() - verifyStart });
  progress('verify', chosen?.candidate.cost);

  const saturation = oracle.figures;
  const report: Omit<SearchReport, 'partition'> = {
    stopReason,
    explored: counters.explored,
    tried: counters.tried,
    prunedByExpression: counters.prunedByExpression,
    prunedByStructure: counters.prunedByStructure,
    prunedByGuide: counters.prunedByGuide,
    complete: counters.complete,
    overTarget: counters.overTarget,
    ...(generator.firstOverTarget === undefined ? {} : { overTargetExample: generator.firstOverTarget }),
    rejectedByVerifier: rejected,
    screened: screenedCount,
    verified: verifiedCount,
    saturation: { nodes: saturation.nodes, classes: saturation.classes, iterations: saturation.iterations, stopReason: saturation.stopReason, ms: saturation.ms },
    phases,
    pick: chosen
      ? `the lowest estimated cost (${chosen.candidate.cost.toFixed(1)} µs on the nominal device, cost.ts; per-operator lowering ${perOperatorCost.toFixed(1)} µs) of ${candidates.length} screened candidates after sizing (those with at least ${MIN_WORKGROUPS} workgroups per kernel first), verified at full shape`
      : worthwhile.length < candidates.length
        ? `no verified candidate estimated cheaper than the per-operator lowering (${perOperatorCost.toFixed(1)} µs; ${candidates.length - worthwhile.length} of ${candidates.length} screened estimated no cheaper, the cheapest ${Math.min(...candidates.map((c) => c.cost)).toFixed(1)} µs): the per-operator lowering`
        : `no candidate verified (${candidates.length} screened): the per-operator lowering`,
    totalMs: performance.now() - start,
  };
  if (!chosen) return { ugraph: perOperator, source: 'per-op-fallback', candidates, report };
  return { ugraph: chosen.candidate.ugraph, source: 'search', candidates, verification: chosen.verification, report };
}

/** Every custom kernel has at least MIN_WORKGROUPS workgroups (sizing.ts): such candidates rank first. */
function busy(graph: KernelGraph): boolean {
  return graph.customKernels.every(({ node }) => node.block.grid[0] * node.block.grid[1] * node.block.grid[2] >= MIN_WORKGROUPS);
}
