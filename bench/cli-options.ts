/**
 * The options of `npm run bench` (cli.ts), also parsed by the per-workload processes it
 * starts (workload-process.ts), so both read the same flags the same way.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Variant } from '../src/runtime/types.js';
import type { BenchOptions } from './harness.js';
import { FULL_MICROKERNELS, QUICK_MICROKERNELS } from './microkernels.js';
import { RESULTS_DIR } from './results.js';
import { parseSystems } from './systems.js';
import { parseWorkloadName, WORKLOAD_NAMES } from './workloads.js';

export const USAGE = `usage: npm run bench -- [options]
  --workloads a,b   ${WORKLOAD_NAMES.join(', ')} (default: all)
  --batch 1,8       batch sizes (default: 1,8)
  --variants f16,f32
  --systems per-op,hand,searched   (searched: the μGraph superoptimize() finds, cached
                    in bench/.cache/ per program and search code; the first run searches)
  --reps 10         timed calls per cell, after --warmup 2
  --quick           the small twins, into bench/results/quick.{json,md}
  --out file.json   results file (the .md is written next to it); existing rows are kept
  --one-process     every workload in this process on one device (default: each workload x
                    batch in a fresh process, as the peers run)
  --help`;

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export function parseVariant(text: string): Variant {
  if (text !== 'f16' && text !== 'f32') throw new Error(`bench: unknown variant "${text}" (f16, f32)`);
  return text;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench: --${what} needs a non-negative integer, got "${text}"`);
  return n;
}

export interface BenchCli {
  readonly options: BenchOptions;
  readonly out: string;
  readonly oneProcess: boolean;
}

export function parseCli(argv: readonly string[]): BenchCli {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workloads: { type: 'string', default: WORKLOAD_NAMES.join(',') },
      batch: { type: 'string', default: '1,8' },
      variants: { type: 'string', default: 'f16,f32' },
      systems: { type: 'string', default: 'per-op,hand,searched' },
      reps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'one-process': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
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
  return { options, out: values.out ?? join(RESULTS_DIR, quick ? 'quick.json' : 'latest.json'), oneProcess: values['one-process']! };
}

/** The flags that make parseCli give back `options` narrowed to one workload and batch. */
export function cliArgs(options: BenchOptions, workload: string, batch: number): string[] {
  return [
    '--workloads', workload, '--batch', String(batch), '--variants', options.variants.join(','),
    '--systems', options.systems.map((s) => s.name).join(','), '--reps', String(options.reps), '--warmup', String(options.warmup),
    ...(options.shapes === 'small' ? ['--quick'] : []),
  ];
}

