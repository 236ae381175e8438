/**
 * The worker-thread entry of the search's pool (search-pool.ts): one search of one program
 * (or of one part of a partitioned one) per task. Plain data in (the program packed as the
 * evaluator packs it, the target, the limits), plain data out (μGraphs as their JSON, the
 * report, the verifier's record); the program is rebuilt here by the DSL (replay.ts), so it
 * is validated again, and the search run is the one superoptimize runs in-thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { replayProgram } from '../frontend/replay.js';
import type { PackedProgram } from '../frontend/transfer.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { KernelGraphJSON } from '../ugraph/kernel-graph.js';
import type { VerifyResult } from '../equivalence/verify.js';
import { type SearchLimits, searchWhole, type WholeSearchResult } from './superoptimize.js';

export interface SearchTask {
  readonly program: PackedProgram;
  readonly target?: TargetProfile;
  readonly limits?: Partial<SearchLimits>;
  /** Where progress goes (SearchProgress messages), when the caller wants it. */
  readonly progress?: MessagePort;
}

export interface SearchTaskResult {
  readonly ugraph: KernelGraphJSON;
  readonly source: WholeSearchResult['source'];
  readonly candidates: ReadonlyArray<{ readonly ugraph: KernelGraphJSON; readonly cost: number }>;
  readonly verification?: VerifyResult;
  readonly report: WholeSearchResult['report'];
}

/** What the worker posts on the progress port after its last progress message. */
export const DONE = 'done';

export default async function runSearchTask(task: SearchTask): Promise<SearchTaskResult> {
  const { progress } = task;
  try {
    const result = await searchWhole(replayProgram(task.program), {
      ...(task.target ? { target: task.target } : {}),
      ...(task.limits ? { limits: task.limits } : {}),
      ...(progress ? { onProgress: (p) => progress.postMessage(p) } : {}),
    });
    return {
      ugraph: result.ugraph.toJSON(),
      source: result.source,
      candidates: result.candidates.map((c) => ({ ugraph: c.ugraph.toJSON(), cost: c.cost })),
      ...(result.verification ? { verification: result.verification } : {}),
      report: result.report,
    };
  } finally {
    // The last message: the caller waits for it, so that no progress arrives after the result.
    progress?.postMessage(DONE);
    progress?.close();
  }
}
