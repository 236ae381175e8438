/**
 * `npm run bench`: runs each workload × batch in a fresh process (workload-process.ts;
 * `--one-process` runs them all here), then measures the local adapter (microkernels.ts),
 * prints the table and writes bench/results/latest.json and latest.md (quick runs:
 * quick.json and quick.md), keeping the peers' rows from an earlier `npm run bench:peers`.
 * `--help` lists the options (cli-options.ts).
 */
import { parseCli } from './cli-options.js';
import { assembleRun, measureLocalAdapter, runBenchmarks, type BenchRun } from './harness.js';
import { benchWorkloadsIsolated } from './isolated.js';
import { markdownReport, textTable } from './report.js';
import { mergeResults, readResults, writeAtomically } from './results.js';

async function main(): Promise<void> {
  const { options, out, oneProcess } = parseCli(process.argv.slice(2));
  const started = performance.now();
  // The workload processes start before the microkernels lower this thread's priority
  // (measure.ts lowerWaitingThread): a child process starts at its parent's.
  let run: BenchRun;
  if (oneProcess) run = await runBenchmarks(options);
  else {
    const runs = await benchWorkloadsIsolated(options);
    run = assembleRun(options, await measureLocalAdapter(options), runs);
  }
  const results = mergeResults(readResults(out), run.header, run.rows);
  writeAtomically(out, `${JSON.stringify(results, null, 1)}\n`);
  writeAtomically(out.replace(/\.json$/, '.md'), markdownReport(results));
  process.stdout.write(`${textTable(results.rows)}\n\n`);
  process.stdout.write(`adapter: ${run.header.adapter}; copy ${run.header.copyGBps.toFixed(2)} GB/s, fma ${run.header.fmaGflops.toFixed(1)} GFLOP/s\n`);
  process.stdout.write(`wrote ${out} and ${out.replace(/\.json$/, '.md')} in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
