/**
 * The search's worker threads: a tinypool started on first use, with one thread per core
 * (at most MAX_SEARCH_THREADS); idle workers end after a while and never keep the process
 * alive, and `closeSearchPool()` ends them at once. Each task is one whole search of one
 * program or part (search-worker.ts), run there exactly as in this thread: what runs in
 * parallel are independent searches (the parts of a partitioned program, the programs a
 * bundler or `mugraph warm` compiles at once), so the μGraph found does not depend on how
 * many threads there are (docs/search.md §8).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Tinypool } from 'tinypool';
import type { Program } from '../frontend/program.js';
import { packProgram } from '../frontend/transfer.js';
import { KernelGraph } from '../ugraph/kernel-graph.js';
import { workerEntry } from '../worker-entry.js';
import { DONE, type SearchTask, type SearchTaskResult } from './search-worker.js';
import type { SearchOptions, SearchProgress, WholeSearchResult } from './superoptimize.js';

/** More threads than this rarely help: each search holds its own e-graph and verifier tables. */
export const MAX_SEARCH_THREADS = 8;

/** The default number of searches run at once: one per core. */
export function defaultSearchThreads(): number {
  return Math.max(1, Math.min(MAX_SEARCH_THREADS, availableParallelism()));
}

let pool: Tinypool | undefined;
let starting: Promise<Tinypool> | undefined;

function getPool(): Promise<Tinypool> {
  starting ??= workerEntry('search/search-worker').then((filename) => {
    pool = new Tinypool({ filename, minThreads: 0, maxThreads: defaultSearchThreads(), idleTimeout: 10_000 });
    return pool;
  });
  return starting;
}

/** searchWhole on a worker thread: the same search, its result rebuilt (and validated) here. */
export async function searchWholeOnWorker(program: Program, options: SearchOptions): Promise<WholeSearchResult> {
  const workers = await getPool();
  const channel = options.onProgress ? new MessageChannel() : undefined;
  let drained: Promise<void> | undefined;
  if (channel) {
    drained = new Promise((resolve) => channel.port1.on('message', (p: SearchProgress | typeof DONE) => (p === DONE ? resolve() : options.onProgress!(p))));
    channel.port1.unref();
  }
  const task: SearchTask = {
    program: packProgram(program),
    ...(options.target ? { target: options.target } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(channel ? { progress: channel.port2 } : {}),
  };
  try {
    const result = await workers.run(task, channel ? { transferList: [channel.port2] } : {}) as SearchTaskResult;
    await drained;
    return {
      ugraph: KernelGraph.fromJSON(result.ugraph),
      source: result.source,
      candidates: result.candidates.map((c) => ({ ugraph: KernelGraph.fromJSON(c.ugraph), cost: c.cost })),
      ...(result.verification ? { verification: result.verification } : {}),
      report: result.report,
    };
  } finally {
    channel?.port1.close();
  }
}

/** Ends the pool's workers now (a later search starts new ones). */
export async function closeSearchPool(): Promise<void> {
  const open = pool;
  pool = undefined;
  starting = undefined;
  if (open) await open.destroy();
}
