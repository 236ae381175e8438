/**
 * Equality saturation with limits, after egg's Runner: each iteration searches every rule
 * against the rebuilt e-graph, then applies all the matches, then rebuilds once. It stops
 * when an iteration changes nothing ('saturated': the e-graph then holds every term the
 * rules can reach from the target) or at a limit on nodes, iterations or time. A run that
 * stopped at a limit is still a consistent e-graph, only an incomplete one: a term it lacks
 * may yet be reachable, so callers must treat a failed lookup as "unknown" (subexpr.ts).
 */
import type { EGraph } from './egraph.js';
import type { Rule } from './rules.js';

export type StopReason = 'saturated' | 'node-limit' | 'iteration-limit' | 'time-limit';

export interface RunnerLimits {
  /** Stop once the e-graph holds more live nodes than this. */
  readonly nodeLimit: number;
  /** Stop after this many iterations without saturating. */
  readonly iterationLimit: number;
  /** Stop once this much wall time has passed (checked between rules and every 256 matches). */
  readonly timeLimitMs: number;
}

/** Mirage's limits (100k nodes, 10 s), with a finite iteration bound. */
export const DEFAULT_LIMITS: RunnerLimits = Object.freeze({ nodeLimit: 100_000, iterationLimit: 100, timeLimitMs: 10_000 });

export interface IterationReport {
  readonly iteration: number;
  /** Live nodes and classes after this iteration's rebuild. */
  readonly nodes: number;
  readonly classes: number;
  /** Matches found, and matches whose application changed the e-graph. */
  readonly matches: number;
  readonly applied: number;
  readonly searchMs: number;
  readonly applyMs: number;
  readonly rebuildMs: number;
}

export interface RuleReport {
  readonly name: string;
  readonly matches: number;
  readonly applied: number;
}

export interface RunReport {
  readonly stopReason: StopReason;
  readonly iterations: readonly IterationReport[];
  readonly nodes: number;
  readonly classes: number;
  readonly totalMs: number;
  readonly rules: readonly RuleReport[];
}

/** Saturates `g` with `rules` within `limits`; `g` is left rebuilt. */
export function runRules(g: EGraph, rules: readonly Rule[], limits: Partial<RunnerLimits> = {}, now: () => number = () => performance.now()): RunReport {
  const { nodeLimit, iterationLimit, timeLimitMs } = { ...DEFAULT_LIMITS, ...limits };
  const start = now();
  const deadline = start + timeLimitMs;
  const iterations: IterationReport[] = [];
  const totals = rules.map((r) => ({ name: r.name, matches: 0, applied: 0 }));
  g.rebuild();
  let stopReason: StopReason | undefined;
  while (stopReason === undefined) {
    if (iterations.length >= iterationLimit) {
      stopReason = 'iteration-limit';
      break;
    }
    const t0 = now();
    const found: (() => void)[][] = [];
    let matches = 0;
    for (const rule of rules) {
      const applications = rule.search(g);
      matches += applications.length;
      found.push(applications);
      if (now() > deadline) {
        stopReason = 'time-limit';
        break;
      }
    }
    const t1 = now();
    const versionBefore = g.version;
    let applied = 0;
    for (let r = 0; r < found.length && stopReason === undefined; r++) {
      const total = totals[r]!;
      const applications = found[r]!;
      total.matches += applications.length;
      for (let k = 0; k < applications.length; k++) {
        const v = g.version;
        applications[k]!();
        if (g.version !== v) {
          applied++;
          total.applied++;
        }
        if ((k & 255) === 255) {
          if (g.nodeCount > nodeLimit) stopReason = 'node-limit';
          else if (now() > deadline) stopReason = 'time-limit';
          if (stopReason !== undefined) break;
        }
      }
    }
    const t2 = now();
    g.rebuild();
    const t3 = now();
    iterations.push({
      iteration: iterations.length + 1, nodes: g.nodeCount, classes: g.classCount, matches, applied,
      searchMs: t1 - t0, applyMs: t2 - t1, rebuildMs: t3 - t2,
    });
    if (stopReason !== undefined) break;
    if (g.version === versionBefore) stopReason = 'saturated';
    else if (g.nodeCount > nodeLimit) stopReason = 'node-limit';
    else if (now() > deadline) stopReason = 'time-limit';
  }
  return { stopReason, iterations, nodes: g.nodeCount, classes: g.classCount, totalMs: now() - start, rules: totals };
}
