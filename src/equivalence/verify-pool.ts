/**
 * The verifier's worker threads: a tinypool of up to two workers (one per seed of a
 * verification, on this 2-core machine), started on first use and kept warm; idle
 * workers are unref'd, so they never keep the process alive, and `closeVerifierPool()`
 * ends them at once.
 *
 * The worker entry is verify-worker (src/worker-entry.ts finds or bundles it).
 */
import { availableParallelism } from 'node:os';
import { Tinypool } from 'tinypool';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { workerEntry } from '../worker-entry.js';
import type { FieldProgram } from './program-eval.js';
import type { SeedOutcome } from './seed-check.js';
import type { SeedTask, WarmTask } from './verify-worker.js';

let pool: Tinypool | undefined;

let starting: Promise<Tinypool> | undefined;

function getPool(): Promise<Tinypool> {
  starting ??= workerEntry('equivalence/verify-worker').then((filename) => {
    pool = new Tinypool({
      filename,
      minThreads: 0,
      maxThreads: Math.max(1, Math.min(2, availableParallelism())),
      idleTimeout: 30_000,
    });
    return pool;
  });
  return starting;
}

/** Runs each seed as a task of its own (in parallel, up to the pool's threads). */
export async function runSeedsOnWorkers(program: FieldProgram, graph: KernelGraph, seeds: readonly number[], maxRedraws: number): Promise<SeedOutcome[]> {
  const workers = await getPool();
  const json = graph.toJSON();
  return Promise.all(seeds.map((seed) => workers.run({ program, graph: json, seed, maxRedraws } satisfies SeedTask) as Promise<SeedOutcome>));
}

/**
 * Starts the pool's workers and has each build what a seed needs (the field's tables, the
 * WebAssembly kernel), so that the first verification does not wait for them: for a
 * search to call before it verifies (the workers still end when idle).
 */
export async function warmVerifierPool(): Promise<void> {
  const workers = await getPool();
  await Promise.all(Array.from({ length: workers.options.maxThreads as number }, () => workers.run({ warm: true } satisfies WarmTask)));
}

/** Ends the pool's workers now (a later verification starts new ones). */
export async function closeVerifierPool(): Promise<void> {
  const open = pool;
  pool = undefined;
  starting = undefined;
  if (open) await open.destroy();
}
