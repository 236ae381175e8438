/**
 * The results file (bench/results/latest.json): a header (adapter, its measured copy and
 * FMA figures, how the numbers were taken) and one row per workload × batch × variant ×
 * system, whether it came from the in-process harness or a peer process. Peers' rows are
 * merged into the file written by `npm run bench`, and the roofline columns of every row
 * are recomputed from the best adapter figures seen by the merged runs, so one table
 * compares all systems.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Variant } from '../src/runtime/types.js';
import type { MicrokernelResult } from './microkernels.js';
import type { WaitingPriority } from './measure.js';
import { REPO_ROOT, WORKLOAD_NAMES, type Shapes } from './workloads.js';

export interface BenchRow {
  readonly workload: string;
  readonly batch: number;
  readonly shapes: Shapes;
  readonly system: string;
  readonly variant: Variant;
  /** Kernel time (GPU timestamps) where measured, else the wall time. */
  readonly medianMs: number | null;
  readonly kernelMs: number | null;
  /** Per call: per-call input upload, dispatch, output read-back. */
  readonly wallMs: number | null;
  readonly runs: number;
  readonly wallRunsMs?: readonly number[];
  /** Relative L2 error against the float64 reference on the f32 inputs. */
  readonly relErr: number | null;
  readonly tolerance: number;
  readonly pass: boolean;
  readonly bytes: number;
  readonly flops: number;
  readonly rooflineMs: number;
  readonly rooflineBound: 'memory' | 'compute';
  /** rooflineMs / medianMs. */
  readonly rooflineFraction: number | null;
  /** rooflineMs / wallMs. */
  readonly wallRooflineFraction: number | null;
  /** How the system expressed the workload (peers), or a remark. */
  readonly note?: string;
  /** The host's 1-minute load average when the cell finished (others' work on the cores skews times). */
  readonly load1?: number;
  /** Set when the cell failed or was skipped; the timing fields are then null. */
  readonly error?: string;
}

export interface BenchHeader {
  readonly date: string;
  readonly adapter: string;
  readonly node: string;
  readonly timestamps: boolean;
  readonly copyGBps: number;
  readonly fmaGflops: number;
  readonly microkernels: readonly MicrokernelResult[];
  readonly method: string;
  readonly warmup: number;
  readonly reps: number;
  /** Priority of each measuring process's main thread once set up, a nice value or 'idle' (measure.ts lowerWaitingThread); absent in older runs: 0. */
  readonly waitingNice?: WaitingPriority;
  /** Seconds the float64 reference took per workload (0 = read from bench/.cache). */
  readonly referenceSeconds: Readonly<Record<string, number>>;
}

export interface BenchResults {
  readonly header: BenchHeader;
  readonly rows: readonly BenchRow[];
  /** Peers that could not be installed or started at all. */
  readonly peerFailures?: readonly { readonly system: string; readonly error: string }[];
}

export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
export const LATEST_JSON = join(RESULTS_DIR, 'latest.json');

export function readResults(file: string = LATEST_JSON): BenchResults | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResults) : undefined;
}

/** Recomputes a row's roofline columns from the adapter figures. */
export function withRoofline(row: BenchRow, figures: Pick<BenchHeader, 'copyGBps' | 'fmaGflops'>): BenchRow {
  const memoryMs = row.bytes / (figures.copyGBps * 1e6);
  const computeMs = row.flops / (figures.fmaGflops * 1e6);
  const rooflineMs = Math.max(memoryMs, computeMs);
  const fraction = (ms: number | null) => (ms !== null && ms > 0 ? rooflineMs / ms : null);
  return {
    ...row,
    rooflineMs,
    rooflineBound: memoryMs >= computeMs ? 'memory' : 'compute',
    rooflineFraction: fraction(row.medianMs),
    wallRooflineFraction: fraction(row.wallMs),
  };
}

const cellKey = (r: BenchRow) => `${r.system}|${r.workload}|${r.shapes}|${r.batch}|${r.variant}`;

/**
 * `rows` replace earlier rows of the same system, workload, batch and variant; every other
 * row (the peers', or per-op's when only peers are re-run) is kept, and every roofline is
 * recomputed from `header`. `peerFailures` replace the earlier failures of the same peers.
 */
export function mergeResults(previous: BenchResults | undefined, header: BenchHeader, rows: readonly BenchRow[], peerFailures?: BenchResults['peerFailures']): BenchResults {
  const replaced = new Set(rows.map(cellKey));
  const kept = (previous?.rows ?? []).filter((r) => !replaced.has(cellKey(r)));
  const retried = new Set([...rows.map((r) => r.system), ...(peerFailures ?? []).map((f) => f.system)]);
  const failures = [...(previous?.peerFailures ?? []).filter((f) => !retried.has(f.system)), ...(peerFailures ?? [])];
  // A reference read from the cache reports 0 s; keep the time it took when it was computed.
  const referenceSeconds = { ...previous?.header.referenceSeconds };
  for (const [label, seconds] of Object.entries(header.referenceSeconds)) if (seconds > 0 || !(label in referenceSeconds)) referenceSeconds[label] = seconds;
  // The adapter's figures are its best observed: a run on busy cores measures less, not a slower adapter.
  const best = previous && previous.header.fmaGflops * previous.header.copyGBps > header.fmaGflops * header.copyGBps ? previous.header : header;
  const figures = { copyGBps: Math.max(header.copyGBps, previous?.header.copyGBps ?? 0), fmaGflops: Math.max(header.fmaGflops, previous?.header.fmaGflops ?? 0) };
  const merged = { ...header, ...figures, microkernels: best.microkernels, referenceSeconds };
  return { header: merged, rows: [...kept, ...rows].map((r) => withRoofline(r, figures)).sort(compareRows), ...(failures.length > 0 ? { peerFailures: failures } : {}) };
}

const SYSTEM_ORDER = ['per-op', 'hand', 'jax-js', 'onnxruntime-webgpu', 'onnxruntime-cpu'];
const rank = (list: readonly string[], value: string) => (list.includes(value) ? list.indexOf(value) : list.length);

export function compareRows(a: BenchRow, b: BenchRow): number {
  return a.shapes.localeCompare(b.shapes) || rank(WORKLOAD_NAMES, a.workload) - rank(WORKLOAD_NAMES, b.workload) || a.batch - b.batch
    || a.variant.localeCompare(b.variant) || rank(SYSTEM_ORDER, a.system) - rank(SYSTEM_ORDER, b.system) || a.system.localeCompare(b.system);
}

export function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
