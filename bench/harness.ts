/**
 * The in-process benchmark: on one WebGPU device, measure the adapter (microkernels.ts),
 * then for each workload × batch × variant × system prepare the system's kernels, time
 * them (gpu-runner.ts, measure.ts) and judge their output against the cached float64
 * reference. A failing cell becomes a row with `error`; the run goes on.
 */
import { createNodeDevice } from '../src/gpu/node-device.js';
import { compareToReference, TOLERANCE } from '../src/reference/compare.js';
import type { Variant } from '../src/runtime/types.js';
import { ProgramRunner } from './gpu-runner.js';
import { benchWaitingPriority, measure, minTimedMsFor } from './measure.js';
import { measureAdapter, type AdapterFigures, type MicrokernelOptions } from './microkernels.js';
import { referenceFor } from './reference.js';
import type { BenchHeader, BenchRow } from './results.js';
import { withRoofline } from './results.js';
import { minimalBytes, programFlops } from './roofline.js';
import { isSkipped, type BenchSystem } from './systems.js';
import { loadWorkload, workloadLabel, type BenchWorkload, type Shapes, type WorkloadName } from './workloads.js';

export interface BenchOptions {
  readonly workloads: readonly WorkloadName[];
  readonly batches: readonly number[];
  readonly variants: readonly Variant[];
  readonly systems: readonly BenchSystem[];
  readonly shapes: Shapes;
  readonly warmup: number;
  readonly reps: number;
  readonly microkernels: MicrokernelOptions;
  /** Progress lines (stderr in the CLI); silent by default. */
  readonly log?: (line: string) => void;
}

export interface BenchRun {
  readonly header: BenchHeader;
  readonly rows: readonly BenchRow[];
}

export const METHOD = 'median of reps calls (on full shapes more, until they add up to 1 s, at most 200) after warm-up (then the main thread is lowered to waitingNice: a nice value, or idle = SCHED_IDLE); resident inputs uploaded once, per-call inputs uploaded each call; '
  + 'wall = upload + dispatch + read-back (f16 decode not timed); kernel = GPU timestamps from the first pass begin to the last pass end; '
  + 'relErr = relative L2 error against a float64 reference on the f32 inputs (f16 includes input rounding)';

/** A row's fields that depend only on the workload and variant (sizes, tolerance). */
export function baseRow(workload: BenchWorkload, system: string, variant: Variant): Omit<BenchRow, 'medianMs' | 'kernelMs' | 'wallMs' | 'runs' | 'relErr' | 'pass'> {
  return {
    workload: workload.name,
    batch: workload.batch,
    shapes: workload.shapes,
    system,
    variant,
    tolerance: TOLERANCE[variant],
    bytes: minimalBytes(workload.program, variant),
    flops: programFlops(workload.program),
    rooflineMs: 0,
    rooflineBound: 'memory',
    rooflineFraction: null,
    wallRooflineFraction: null,
  };
}

export function failedRow(workload: BenchWorkload, system: string, variant: Variant, error: string): BenchRow {
  return { ...baseRow(workload, system, variant), medianMs: null, kernelMs: null, wallMs: null, runs: 0, relErr: null, pass: false, error };
}

async function benchCell(
  device: GPUDevice, workload: BenchWorkload, variant: Variant, system: BenchSystem, options: Pick<BenchOptions, 'warmup' | 'reps'>, expected: Float64Array,
): Promise<BenchRow> {
  const prepared = await system.prepare(workload, variant, device);
  if (isSkipped(prepared)) return failedRow(workload, system.name, variant, `skipped: ${prepared.skipped}`);
  let runner: ProgramRunner;
  try {
    runner = new ProgramRunner(device, workload, variant, prepared);
  } catch (error) {
    prepared.destroy();
    throw error;
  }
  try {
    const m = await measure(() => runner.runOnce(), { ...options, minTimedMs: minTimedMsFor(workload.shapes), waitingPriority: benchWaitingPriority() });
    const comparison = compareToReference(runner.output(), expected, variant);
    return {
      ...baseRow(workload, system.name, variant),
      medianMs: m.kernelMs ?? m.wallMs,
      kernelMs: m.kernelMs,
      wallMs: m.wallMs,
      runs: m.runs,
      load1: m.load1,
      wallRunsMs: m.wallRunsMs,
      relErr: comparison.relL2Error,
      pass: comparison.pass,
    };
  } finally {
    runner.destroy();
  }
}

/** What one device measured: rows without roofline columns (the caller has the adapter figures). */
export interface WorkloadRuns {
  readonly rows: readonly BenchRow[];
  /** Seconds the float64 reference took per workload label (0 = from the cache). */
  readonly referenceSeconds: Readonly<Record<string, number>>;
}

/** Every workload × batch × variant × system of `options`, on `device`, one after another. */
export async function benchWorkloads(device: GPUDevice, options: Omit<BenchOptions, 'microkernels'>): Promise<WorkloadRuns> {
  const log = options.log ?? (() => {});
  const rows: BenchRow[] = [];
  const referenceSeconds: Record<string, number> = {};
  for (const name of options.workloads) {
    for (const batch of options.shapes === 'small' ? [1] : options.batches) {
      const workload = await loadWorkload(name, batch, options.shapes);
      const label = workloadLabel(workload);
      const reference = referenceFor(workload);
      referenceSeconds[label] = reference.seconds;
      log(`${label}: reference ${reference.cached ? 'from cache' : `${reference.seconds.toFixed(1)} s`}`);
      const expected = reference.outputs[workload.program.outputs[0]!.name]!;
      for (const system of options.systems) {
        await system.before?.(workload, log).catch((error: unknown) => log(`${label} ${system.name}: ${error instanceof Error ? error.message : String(error)}`));
      }
      for (const variant of options.variants) {
        for (const system of options.systems) {
          const row = await benchCell(device, workload, variant, system, options, expected)
            .catch((error: unknown) => failedRow(workload, system.name, variant, error instanceof Error ? error.message : String(error)));
          log(`${label} ${variant} ${system.name}: ${row.error ?? `${row.medianMs?.toFixed(2)} ms (wall ${row.wallMs?.toFixed(2)}), rel err ${row.relErr?.toExponential(2)}`}`);
          rows.push(row);
        }
      }
    }
  }
  return { rows, referenceSeconds };
}

export interface AdapterMeasurement {
  readonly adapter: string;
  readonly timestamps: boolean;
  readonly figures: AdapterFigures;
}

/** The adapter's copy bandwidth and FMA rate (microkernels.ts), on a device of its own. */
export async function measureLocalAdapter(options: Pick<BenchOptions, 'microkernels' | 'log'>): Promise<AdapterMeasurement> {
  const gpu = await createNodeDevice();
  try {
    options.log?.(`adapter: ${gpu.adapterInfo}`);
    const figures = await measureAdapter(gpu.device, options.microkernels);
    options.log?.(`copy ${figures.copyGBps.toFixed(2)} GB/s, fma ${figures.fmaGflops.toFixed(1)} GFLOP/s`);
    return { adapter: gpu.adapterInfo, timestamps: gpu.device.features.has('timestamp-query'), figures };
  } finally {
    gpu.destroy();
  }
}

/** The results header and rows (with roofline columns) from an adapter measurement and the workload runs. */
export function assembleRun(options: BenchOptions, measured: AdapterMeasurement, runs: WorkloadRuns): BenchRun {
  const { figures } = measured;
  const header: BenchHeader = {
    date: new Date().toISOString(),
    adapter: measured.adapter,
    node: process.version,
    timestamps: measured.timestamps,
    copyGBps: figures.copyGBps,
    fmaGflops: figures.fmaGflops,
    microkernels: figures.runs,
    method: METHOD,
    warmup: options.warmup,
    reps: options.reps,
    waitingNice: benchWaitingPriority(),
    referenceSeconds: runs.referenceSeconds,
  };
  return { header, rows: runs.rows.map((row) => withRoofline(row, figures)) };
}

/** The whole benchmark in this process: the adapter's microkernels, then every workload on one device. */
export async function runBenchmarks(options: BenchOptions): Promise<BenchRun> {
  // The workloads' device first: its adapter threads are started before the microkernels
  // lower this thread's priority (lowerWaitingThread), which threads started later inherit.
  const gpu = await createNodeDevice();
  try {
    const measured = await measureLocalAdapter(options);
    return assembleRun(options, measured, await benchWorkloads(gpu.device, options));
  } finally {
    gpu.destroy();
  }
}
