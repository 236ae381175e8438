/**
 * The verifier's worker threads: a tinypool of up to two workers (one per seed of a
 * verification, on this 2-core machine), started on first use and kept warm; idle
 * workers are unref'd, so they never keep the process alive, and `closeVerifierPool()`
 * ends them at once.
 *
 * The worker entry is verify-worker.js beside this file when running from dist/. Run
 * from the TypeScript sources (vitest), Node 20 cannot load a .ts worker, so the entry is
 * bundled with esbuild (as src/frontend/bundle.ts does for tensor modules) into the
 * temporary directory, under a name derived from its content.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Tinypool } from 'tinypool';
import { hashString } from '../ir/hash.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import type { FieldProgram } from './program-eval.js';
import type { SeedOutcome } from './seed-check.js';
import type { SeedTask, WarmTask } from './verify-worker.js';

const FROM_SOURCES = import.meta.url.endsWith('.ts');

let pool: Tinypool | undefined;

async function workerFile(): Promise<string> {
  const own = fileURLToPath(new URL(`./verify-worker${FROM_SOURCES ? '.ts' : '.js'}`, import.meta.url));
  if (!FROM_SOURCES) return pathToFileURL(own).href;
  const esbuild = await import('esbuild');
  const built = await esbuild.build({ entryPoints: [own], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent' });
  const code = built.outputFiles[0]!.text;
  // Named by its content: one file per version of the sources, shared by every process
  // (test files run in parallel), written whole (rename) so no process reads half of one.
  const file = join(tmpdir(), `mugraph-verify-worker-${hashString(code)}.mjs`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return pathToFileURL(file).href;
}

let starting: Promise<Tinypool> | undefined;

function getPool(): Promise<Tinypool> {
  starting ??= workerFile().then((filename) => {
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
