/**
 * `npm run bench:peers`: runs each peer (registry.ts) on each workload × batch × variant,
 * each in its own process one after another (never in parallel: they share the cores),
 * on the same seeded inputs and against the same cached float64 reference as
 * `npm run bench`, then merges the rows into bench/results/latest.json and regenerates
 * latest.md. A peer that cannot load (its probe on a small workload fails) is recorded in
 * `peerFailures`; a cell that fails or times out becomes a row with `error`.
 *
 *   npm run bench:peers -- [--peers jax-js,onnxruntime-webgpu,onnxruntime-cpu] [--workloads ...]
 *                          [--batch 1,8] [--variants f16,f32] [--reps 10] [--quick] [--timeout 600]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNodeDevice } from '../../src/gpu/node-device.js';
import type { Variant } from '../../src/runtime/types.js';
import { childFailed, runChild } from '../child.js';
import { failedRow, METHOD } from '../harness.js';
import { FULL_MICROKERNELS, measureAdapter, QUICK_MICROKERNELS } from '../microkernels.js';
import { benchWaitingPriority } from '../measure.js';
import { referenceFor } from '../reference.js';
import { markdownReport, textTable } from '../report.js';
import { mergeResults, readResults, RESULTS_DIR, writeAtomically, type BenchHeader, type BenchRow } from '../results.js';
import { loadWorkload, parseWorkloadName, workloadLabel, WORKLOAD_NAMES, type BenchWorkload, type Shapes } from '../workloads.js';
import { PEERS } from './registry.js';

const PEER_PROCESS = join(dirname(fileURLToPath(import.meta.url)), 'peer-process.js');
const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Cell { readonly peer: string; readonly workload: BenchWorkload; readonly variant: Variant }

/** Runs one cell in a child process; any failure comes back as a row with `error`. */
async function runCell(cell: Cell, args: { warmup: number; reps: number; timeoutS: number }, scratch: string): Promise<BenchRow> {
  const { peer, workload, variant } = cell;
  const out = join(scratch, `${peer}-${workload.name}-${workload.batch}-${variant}.json`);
  const argv = ['--peer', peer, '--workload', workload.name, '--batch', String(workload.batch), '--shapes', workload.shapes,
    '--variant', variant, '--warmup', String(args.warmup), '--reps', String(args.reps)];
  const result = await runChild<BenchRow>(PEER_PROCESS, argv, out, { timeoutS: args.timeoutS });
  return childFailed(result) ? failedRow(workload, peer, variant, result.failed) : result;
}

async function adapterHeader(previous: BenchHeader | undefined, quick: boolean): Promise<BenchHeader> {
  if (previous) return previous;
  log('no earlier results: measuring the adapter for the roofline');
  const gpu = await createNodeDevice();
  try {
    const figures = await measureAdapter(gpu.device, quick ? QUICK_MICROKERNELS : FULL_MICROKERNELS);
    return {
      date: new Date().toISOString(), adapter: gpu.adapterInfo, node: process.version, timestamps: gpu.device.features.has('timestamp-query'),
      copyGBps: figures.copyGBps, fmaGflops: figures.fmaGflops, microkernels: figures.runs, method: METHOD, warmup: 0, reps: 0, waitingNice: benchWaitingPriority(), referenceSeconds: {},
    };
  } finally {
    gpu.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: Object.keys(PEERS).join(',') },
      workloads: { type: 'string', default: WORKLOAD_NAMES.join(',') },
      batch: { type: 'string', default: '1,8' },
      variants: { type: 'string', default: 'f16,f32' },
      reps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '600' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const quick = values.quick!;
  // Vulkan loaders want it; the peer processes inherit it.
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'mugraph-xdg-'));
  const shapes: Shapes = quick ? 'small' : 'full';
  const out = values.out ?? join(RESULTS_DIR, quick ? 'quick.json' : 'latest.json');
  const args = { warmup: Number(values.warmup), reps: Number(values.reps), timeoutS: Number(values.timeout) };
  const peers = list(values.peers!);
  for (const p of peers) if (!PEERS[p]) throw new Error(`bench:peers: unknown peer "${p}" (${Object.keys(PEERS).join(', ')})`);

  // The references, computed here once so that the peer processes read them from the cache.
  const workloads: BenchWorkload[] = [];
  for (const name of list(values.workloads!).map(parseWorkloadName)) {
    for (const batch of quick ? [1] : list(values.batch!).map(Number)) {
      const w = await loadWorkload(name, batch, shapes);
      const ref = referenceFor(w);
      log(`${workloadLabel(w)}: reference ${ref.cached ? 'from cache' : `${ref.seconds.toFixed(1)} s`}`);
      workloads.push({ ...w, inputs: {} });
    }
  }
  const previous = readResults(out);
  const scratch = mkdtempSync(join(tmpdir(), 'mugraph-peers-'));
  const rows: BenchRow[] = [];
  const peerFailures: { system: string; error: string }[] = [];
  try {
    for (const peer of peers) {
      const probeWorkload = { ...(await loadWorkload('lora', 1, 'small')), inputs: {} };
      const probe = await runCell({ peer, workload: probeWorkload, variant: 'f32' }, { warmup: 0, reps: 1, timeoutS: 120 }, scratch);
      if (probe.error) {
        log(`${peer}: cannot run (${probe.error}); skipped`);
        peerFailures.push({ system: peer, error: probe.error });
        continue;
      }
      for (const workload of workloads) {
        for (const variant of (list(values.variants!) as Variant[]).filter((v) => PEERS[peer]!.variants.includes(v))) {
          const row = await runCell({ peer, workload, variant }, args, scratch);
          log(`${peer} ${workloadLabel(workload)} ${variant}: ${row.error ?? `${row.wallMs?.toFixed(2)} ms, rel err ${row.relErr?.toExponential(2)}`}`);
          rows.push(row);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // After the peer processes: measuring lowers this thread's priority (measure.ts), and a child starts at its parent's.
  const header = await adapterHeader(previous?.header, quick);
  const results = mergeResults(previous, header, rows, peerFailures);
  writeAtomically(out, `${JSON.stringify(results, null, 1)}\n`);
  writeAtomically(out.replace(/\.json$/, '.md'), markdownReport(results));
  process.stdout.write(`${textTable(results.rows)}\n\nwrote ${out} and ${out.replace(/\.json$/, '.md')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
