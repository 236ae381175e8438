/**
 * The worker-thread entry of the verifier's pool (verify-pool.ts): one seed of one pair
 * per task. Plain data in (the FieldProgram, the μGraph's JSON, a seed), a SeedOutcome
 * out; the μGraph is validated again here by KernelGraph.fromJSON. Field tables and the
 * WebAssembly kernel are built once per worker and stay warm between tasks.
 */
import type { KernelGraphJSON } from '../ugraph/kernel-graph.js';
import { KernelGraph } from '../ugraph/kernel-graph.js';
import type { FieldProgram } from './program-eval.js';
import { analyzePair, checkSeed, type SeedOutcome } from './seed-check.js';
import { warmField } from './wasm-matmul.js';

export interface SeedTask {
  readonly program: FieldProgram;
  readonly graph: KernelGraphJSON;
  readonly seed: number;
  readonly maxRedraws: number;
}

/** Builds the per-thread tables and kernel (verify-pool.ts warmVerifierPool). */
export interface WarmTask {
  readonly warm: true;
}

export default function runSeedTask(task: SeedTask | WarmTask): SeedOutcome | undefined {
  if ('warm' in task) {
    warmField();
    return undefined;
  }
  const graph = KernelGraph.fromJSON(task.graph);
  return checkSeed(task.program, graph, analyzePair(task.program, graph), task.seed, task.maxRedraws);
}
