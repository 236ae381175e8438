/**
 * Each workload × batch of `npm run bench` in a fresh process (workload-process.ts), one
 * after another. Measured on lavapipe: after the attention workloads had run in the same
 * process, lora b = 1 took 5.9 ms instead of 3.5 and rmsnorm b = 1 19-24 ms instead of
 * 12 (two full runs against runs of those workloads alone; the cause, inside the driver or
 * the allocator, was not pinned down). A fresh process per workload is also how the peers
 * are timed (peers/run-peers.ts), so every system starts from the same state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childFailed, runChild } from './child.js';
import { cliArgs } from './cli-options.js';
import { failedRow, type BenchOptions, type WorkloadRuns } from './harness.js';
import type { BenchRow } from './results.js';
import { loadWorkload } from './workloads.js';

const WORKLOAD_PROCESS = join(dirname(fileURLToPath(import.meta.url)), 'workload-process.js');
/** The slowest cell (gqa b = 8 per-op, both variants) takes ~1 minute on lavapipe. */
const WORKLOAD_TIMEOUT_S = 1800;

export async function benchWorkloadsIsolated(options: BenchOptions): Promise<WorkloadRuns> {
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'mugraph-xdg-'));
  const scratch = mkdtempSync(join(tmpdir(), 'mugraph-bench-'));
  const rows: BenchRow[] = [];
  const referenceSeconds: Record<string, number> = {};
  try {
    for (const name of options.workloads) {
      for (const batch of options.shapes === 'small' ? [1] : options.batches) {
        const out = join(scratch, `${name}-${batch}.json`);
        const result = await runChild<WorkloadRuns>(WORKLOAD_PROCESS, cliArgs(options, name, batch), out, { timeoutS: WORKLOAD_TIMEOUT_S, echo: true });
        if (childFailed(result)) {
          const workload = await loadWorkload(name, batch, options.shapes);
          for (const variant of options.variants) for (const system of options.systems) rows.push(failedRow(workload, system.name, variant, result.failed));
          continue;
        }
        rows.push(...result.rows);
        Object.assign(referenceSeconds, result.referenceSeconds);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { rows, referenceSeconds };
}
