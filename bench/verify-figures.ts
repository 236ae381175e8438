/**
 * `npm run bench:verify`: the equivalence figures per benchmark and batch (b = 1, 8), at
 * full shapes, on the CPU (issue 19 item 7; docs/equivalence.md §4, §5 and §8):
 *
 * - verify: the finite-field verifier (src/equivalence/verify.ts) with its defaults (two
 *   seeds, worker threads where the work is large), wall time, median of --runs calls on a
 *   warm worker pool, for the hand μGraph (fixtures/ugraphs) and for the per-operator
 *   lowering (what the lock holds today, and what a fresh machine verifies once per entry);
 *   the CPU time of the process over the hand μGraph's verification (every thread: with two
 *   workers it can exceed the wall time), which other load on a shared machine inflates
 *   less than the wall time; and the false-accept bound of the hand μGraph's verdict;
 * - screen: one Screener per program (src/equivalence/screen.ts); the first call evaluates
 *   the program side, later calls only the sampled elements of the candidate (the hand
 *   μGraph): the first call's time and the median of --screens later calls;
 * - e-graph: the target's e-graph (src/search/subexpr.ts, runner.ts): nodes, classes,
 *   iterations and stop reason of its saturation, and the median saturation time over
 *   --runs fresh oracles.
 *
 * Writes bench/results/verify.json and verify.md and prints the table.
 *
 *   npm run bench:verify -- [--runs 3] [--screens 5] [--only gqa,rmsnorm] [--batches 1,8] [--out file.json]
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UGRAPH_FIXTURES } from '../fixtures/ugraphs/index.js';
import { closeVerifierPool, Screener, verify } from '../src/equivalence/index.js';
import { SubexpressionOracle } from '../src/search/subexpr.js';
import { kernelGraphFromProgram } from '../src/ugraph/lower-naive.js';
import { RESULTS_DIR, writeAtomically } from './results.js';

export interface VerifyFiguresRow {
  readonly benchmark: string;
  readonly batch: number;
  /** The hand μGraph's verdict and bound (two seeds). */
  readonly verdict: string;
  readonly falseAcceptBound: number;
  /** verify() wall ms per run, hand μGraph and per-operator lowering. */
  readonly verifyHandMs: readonly number[];
  /** CPU time of the process (every thread, the workers included) per hand-μGraph verification, ms: less sensitive than wall time to other load on the machine. */
  readonly verifyHandCpuMs: readonly number[];
  readonly verifyPerOpMs: readonly number[];
  /** Screener: the first call (program side included) and the later calls, ms. */
  readonly screenFirstMs: number;
  readonly screenMs: readonly number[];
  readonly screenCompared: number;
  readonly egraph: { readonly nodes: number; readonly classes: number; readonly iterations: number; readonly stopReason: string; readonly saturateMs: readonly number[] };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 10 ? 0 : ms >= 1 ? 1 : 2)} ms`);

async function measure(benchmark: string, batch: number, runs: number, screens: number, log: (line: string) => void): Promise<VerifyFiguresRow> {
  const fixture = UGRAPH_FIXTURES.find((f) => f.benchmark === benchmark)!;
  const { program, graph } = fixture.full(batch);
  const perOp = kernelGraphFromProgram(program);
  const verifyHandMs: number[] = [];
  const verifyHandCpuMs: number[] = [];
  const verifyPerOpMs: number[] = [];
  let verdict = '';
  let falseAcceptBound = 0;
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const hand = await verify(program, graph);
    const used = process.cpuUsage(cpu);
    verifyHandCpuMs.push((used.user + used.system) / 1000);
    if (hand.verdict !== 'equivalent') throw new Error(`${benchmark} b${batch}: the hand μGraph is ${hand.verdict} (${hand.reason ?? ''})`);
    verdict = hand.verdict;
    falseAcceptBound = hand.falseAcceptBound;
    verifyHandMs.push(hand.ms);
    const lowered = await verify(program, perOp);
    if (lowered.verdict !== 'equivalent') throw new Error(`${benchmark} b${batch}: the per-operator lowering is ${lowered.verdict}`);
    verifyPerOpMs.push(lowered.ms);
  }
  const screener = new Screener(program);
  const first = screener.screen(graph);
  if (first.verdict !== 'pass') throw new Error(`${benchmark} b${batch}: the hand μGraph's screen: ${first.verdict}`);
  const screenMs = Array.from({ length: screens }, () => screener.screen(graph).ms);
  const saturateMs: number[] = [];
  let oracle: SubexpressionOracle | undefined;
  for (let i = 0; i < runs; i++) {
    oracle = SubexpressionOracle.forProgram(program);
    saturateMs.push(oracle.saturate().totalMs);
  }
  const f = oracle!.figures;
  const row: VerifyFiguresRow = {
    benchmark, batch, verdict, falseAcceptBound, verifyHandMs, verifyHandCpuMs, verifyPerOpMs,
    screenFirstMs: first.ms, screenMs, screenCompared: first.compared,
    egraph: { nodes: f.nodes, classes: f.classes, iterations: f.iterations, stopReason: f.stopReason, saturateMs },
  };
  log(`  ${benchmark} b${batch}: verify ${seconds(median(verifyHandMs))} (per-op ${seconds(median(verifyPerOpMs))}), `
    + `screen ${seconds(median(screenMs))}, e-graph ${f.nodes} nodes ${f.stopReason} in ${seconds(median(saturateMs))}`);
  return row;
}

export function figuresTable(rows: readonly VerifyFiguresRow[]): string {
  const head = ['benchmark', 'b', 'verify (hand μGraph)', 'its CPU time', 'verify (per-op lowering)', 'bound', 'screen: first / then', 'compared',
    'e-graph nodes', 'classes', 'iterations', 'stop', 'saturate'];
  const body = rows.map((r) => [
    r.benchmark, String(r.batch), seconds(median(r.verifyHandMs)), seconds(median(r.verifyHandCpuMs)), seconds(median(r.verifyPerOpMs)), r.falseAcceptBound.toExponential(1),
    `${seconds(r.screenFirstMs)} / ${seconds(median(r.screenMs))}`, String(r.screenCompared),
    String(r.egraph.nodes), String(r.egraph.classes), String(r.egraph.iterations), r.egraph.stopReason, seconds(median(r.egraph.saturateMs)),
  ]);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      screens: { type: 'string', default: '5' },
      only: { type: 'string' },
      batches: { type: 'string', default: '1,8' },
      out: { type: 'string', default: join(RESULTS_DIR, 'verify.json') },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  const screens = Math.max(1, Number(values.screens));
  const batches = values.batches!.split(',').map(Number);
  const only = values.only?.split(',');
  const benchmarks = UGRAPH_FIXTURES.map((f) => f.benchmark).filter((b) => only === undefined || only.includes(b));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadBefore = loadavg()[0]!;
  // Start the worker pool (the first verification of a process pays ~90 ms for it: docs/equivalence.md §4).
  const warm = UGRAPH_FIXTURES[0]!.full(1);
  await verify(warm.program, warm.graph);
  const rows: VerifyFiguresRow[] = [];
  try {
    log(`per benchmark and batch (${runs} runs, ${screens} screening calls after the first):`);
    for (const benchmark of benchmarks) for (const batch of batches) rows.push(await measure(benchmark, batch, runs, screens, log));
  } finally {
    await closeVerifierPool();
  }
  const header = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    load1: [loadBefore, loadavg()[0]!],
    method: `full shapes; verify(): default options (two seeds, workers above WORKER_THRESHOLD), warm pool, median of ${runs}; `
      + `Screener: first call, then median of ${screens}; e-graph: SubexpressionOracle.forProgram, median saturation of ${runs} fresh oracles`,
  };
  const table = figuresTable(rows);
  const out = values.out!;
  writeAtomically(out, `${JSON.stringify({ header, rows }, null, 1)}\n`);
  writeAtomically(out.replace(/\.json$/, '.md'), [
    '# Equivalence figures (npm run bench:verify)', '',
    `- ${header.date}; Node ${header.node}; ${header.cpus}; 1-minute load ${header.load1[0]!.toFixed(1)} before, ${header.load1[1]!.toFixed(1)} after.`,
    `- Method: ${header.method}.`, '', table, '',
  ].join('\n'));
  process.stdout.write(`${table}\n\nwrote ${out} and ${out.replace(/\.json$/, '.md')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
