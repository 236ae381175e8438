/**
 * `npm run bench`: runs the in-process harness (harness.ts) on the local adapter, prints
 * the table and writes bench/results/latest.json and latest.md (quick runs: quick.json
 * and quick.md), keeping the peers' rows from an earlier `npm run bench:peers`.
 *
 *   npm run bench -- [--workloads gqa,lora] [--batch 1,8] [--variants f16,f32]
 *                    [--systems per-op,hand] [--reps 10] [--warmup 2] [--quick] [--out file.json]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Variant } from '../src/runtime/types.js';
import { runBenchmarks, type BenchOptions } from './harness.js';
import { FULL_MICROKERNELS, QUICK_MICROKERNELS } from './microkernels.js';
import { markdownReport, textTable } from './report.js';
import { mergeResults, readResults, RESULTS_DIR, writeAtomically } from './results.js';
import { parseSystems } from './systems.js';
import { parseWorkloadName, WORKLOAD_NAMES } from './workloads.js';

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

function parseVariant(text: string): Variant {
  if (text !== 'f16' && text !== 'f32') throw new Error(`bench: unknown variant "${text}" (f16, f32)`);
  return text;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench: --${what} needs a non-negative integer, got "${text}"`);
  return n;
}

export function parseCli(argv: readonly string[]): { options: BenchOptions; out: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workloads: { type: 'string', default: WORKLOAD_NAMES.join(',') },
      batch: { type: 'string', default: '1,8' },
      variants: { type: 'string', default: 'f16,f32' },
      systems: { type: 'string', default: 'per-op,hand' },
      reps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const quick = values.quick!;
  const options: BenchOptions = {
    workloads: list(values.workloads!).map(parseWorkloadName),
    batches: list(values.batch!).map((b) => positiveInt(b, 'batch')),
    variants: list(values.variants!).map(parseVariant),
    systems: parseSystems(list(values.systems!)),
    shapes: quick ? 'small' : 'full',
    warmup: positiveInt(values.warmup!, 'warmup'),
    reps: Math.max(1, positiveInt(values.reps!, 'reps')),
    microkernels: quick ? QUICK_MICROKERNELS : FULL_MICROKERNELS,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  return { options, out: values.out ?? join(RESULTS_DIR, quick ? 'quick.json' : 'latest.json') };
}

async function main(): Promise<void> {
  const { options, out } = parseCli(process.argv.slice(2));
  const started = performance.now();
  const run = await runBenchmarks(options);
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
