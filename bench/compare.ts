/**
 * Compares results files side by side (`npm run bench:compare -- a.json b.json`): for each
 * workload × batch × variant, the hand μGraph's wall time against the fastest WebGPU peer
 * that passed its tolerance, in every run, and how many rows reach the target ratio in each
 * run and in all of them. Ratios are taken within one run (the peers and our systems timed
 * minutes apart on the same host), never across runs, whose hosts' load differed.
 */
import { ANCHORS, batchLabel, markdownTable, ms, pct } from './report.js';
import type { BenchResults, BenchRow } from './results.js';

/** The speed-up over the fastest peer that the benchmarks aim for (issue 3, docs/architecture.md §7). */
export const TARGET_RATIO = 2;

/** Systems of ours; every other WebGPU system in a results file is a peer. */
const OURS = new Set(['per-op', 'hand', 'searched']);

export interface RunCell {
  readonly handWallMs: number;
  readonly peer: string;
  readonly peerWallMs: number;
  /** Fastest passing peer's wall time over the hand μGraph's. */
  readonly ratio: number;
  /** Roofline time over the hand μGraph's kernel time (its median). */
  readonly handRoofline: number | null;
}

export interface ComparisonRow {
  readonly workload: string;
  readonly batch: string;
  readonly variant: string;
  /** One per run, in the order given; undefined where the run lacks the hand row or a passing peer. */
  readonly runs: readonly (RunCell | undefined)[];
}

export interface Comparison {
  readonly labels: readonly string[];
  readonly rows: readonly ComparisonRow[];
  /** Rows at or above TARGET_RATIO, per run. */
  readonly reached: readonly number[];
  /** Rows at or above TARGET_RATIO in every run. */
  readonly reachedInAll: number;
}

const usable = (r: BenchRow | undefined): r is BenchRow & { wallMs: number } => r !== undefined && !r.error && r.pass && r.wallMs !== null && r.wallMs > 0;

function runCell(group: readonly BenchRow[]): RunCell | undefined {
  const hand = group.find((r) => r.system === 'hand');
  const peers = group.filter((r) => !OURS.has(r.system) && !ANCHORS.has(r.system)).filter(usable);
  if (!usable(hand) || peers.length === 0) return undefined;
  const fastest = peers.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  return { handWallMs: hand.wallMs, peer: fastest.system, peerWallMs: fastest.wallMs, ratio: fastest.wallMs / hand.wallMs, handRoofline: hand.rooflineFraction };
}

/** Whether a run's cell reaches TARGET_RATIO (a missing cell does not). */
const meets = (cell: RunCell | undefined) => cell !== undefined && cell.ratio >= TARGET_RATIO;

const groupKey = (r: BenchRow) => `${r.workload}|${batchLabel(r)}|${r.variant}`;

export function compareRuns(runs: readonly { readonly label: string; readonly results: BenchResults }[]): Comparison {
  const byRun = runs.map(({ results }) => {
    const groups = new Map<string, BenchRow[]>();
    for (const r of results.rows) groups.set(groupKey(r), [...(groups.get(groupKey(r)) ?? []), r]);
    return groups;
  });
  // Row order: the first run's (results files are sorted), then groups only later runs have.
  const keys = [...new Set(byRun.flatMap((groups) => [...groups.keys()]))];
  const rows = keys.map((key): ComparisonRow => {
    const [workload, batch, variant] = key.split('|') as [string, string, string];
    return { workload, batch, variant, runs: byRun.map((groups) => runCell(groups.get(key) ?? [])) };
  });
  return {
    labels: runs.map((r) => r.label),
    rows,
    reached: runs.map((_, i) => rows.filter((row) => meets(row.runs[i])).length),
    reachedInAll: rows.filter((row) => row.runs.every(meets)).length,
  };
}

/** A Markdown table, each column's runs joined by " / ", ratios at the target in bold, and a summary line. */
export function markdownComparison(c: Comparison): string {
  const joined = (row: ComparisonRow, f: (cell: RunCell) => string) => row.runs.map((cell) => (cell ? f(cell) : '–')).join(' / ');
  // The peer's name once where every run's fastest is the same, else each run's in order.
  const peers = (row: ComparisonRow) => {
    const names = row.runs.map((cell) => cell?.peer ?? '–');
    if (names.every((n) => n === '–')) return '';
    return ` (${new Set(names).size === 1 ? names[0] : names.join(' / ')})`;
  };
  const body = c.rows.map((row) => {
    const ratios = joined(row, (cell) => `${cell.ratio.toFixed(2)}`);
    return [
      row.workload, row.batch, row.variant,
      joined(row, (cell) => ms(cell.handWallMs)),
      `${joined(row, (cell) => ms(cell.peerWallMs))}${peers(row)}`,
      row.runs.every(meets) ? `**${ratios}**` : ratios,
      joined(row, (cell) => pct(cell.handRoofline)),
    ];
  });
  const runs = c.labels.join(' / ');
  const table = markdownTable(['workload', 'b', 'variant', `hand wall ms (${runs})`, 'fastest passing peer, wall ms', 'peer / hand', 'hand roofline %'], body);
  const perRun = c.labels.map((label, i) => `${c.reached[i]} in ${label}`).join(', ');
  return `${table}\n\nAt least ${TARGET_RATIO}x the fastest peer: ${perRun}; in all ${c.labels.length}: ${c.reachedInAll} of ${c.rows.length} (bold).\n`;
}
