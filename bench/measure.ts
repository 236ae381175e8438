/**
 * The one timing loop every system and peer goes through: warm-up calls (the first pays
 * pipeline compilation), then at least `reps` timed calls, reported as medians. A call reports its
 * wall time and, where the system can measure it, its kernel time (GPU timestamps).
 * On full shapes, calls of a few milliseconds go on until the timed calls add up to
 * MIN_TIMED_MS (at most MAX_CALLS): on the shared lavapipe hosts the 10 walls of one cell
 * whose kernel takes 2.4 ms (ntrans b8, f32) ranged from 4.5 to 25 ms, and a median of 10
 * moved by 1.5x between runs (jax-js on ntrans b8, f16).
 */
import { execFileSync } from 'node:child_process';
import { getPriority, loadavg, setPriority } from 'node:os';
import type { Shapes } from './workloads.js';

export interface CallTimes {
  readonly wallMs: number;
  /** GPU time of the recorded passes from timestamp queries; null where not measured. */
  readonly kernelMs: number | null;
}

export const MIN_TIMED_MS = 1000;
export const MAX_CALLS = 200;

export interface MeasureOptions {
  readonly warmup: number;
  readonly reps: number;
  /** Go on past `reps` until the timed calls add up to this (at most MAX_CALLS); 0 by default. */
  readonly minTimedMs?: number;
  /** After the warm-up, lower the waiting thread's priority to this (lowerWaitingThread); none by default. */
  readonly waitingPriority?: WaitingPriority;
}

/** A nice value (0-19), or 'idle': nice 19 and the SCHED_IDLE policy. */
export type WaitingPriority = number | 'idle';

/**
 * The priority the benchmark processes give their main thread once set up:
 * MUGRAPH_BENCH_NICE, a nice value (0 leaves it alone) or `idle`; by default `idle` on
 * Linux and 0 elsewhere (where a nice value is the whole process's). The environment
 * reaches every process of a run (workload processes, peer processes) alike.
 */
export function benchWaitingPriority(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): WaitingPriority {
  const text = env.MUGRAPH_BENCH_NICE;
  if (text === undefined || text === '') return platform === 'linux' ? 'idle' : 0;
  if (text === 'idle') return 'idle';
  const nice = Number(text);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`bench: MUGRAPH_BENCH_NICE must be an integer from 0 to 19 or "idle", got "${text}"`);
  return nice;
}

/** Whether lowerWaitingThread has put this process's main thread under SCHED_IDLE. */
let idlePolicySet = false;

/**
 * Lowers the main thread's priority to `nice` (never raises it). dawn.node waits for a
 * mapAsync by polling on the main thread (a setImmediate loop around ProcessEvents), which
 * on a 2-core host with a CPU adapter (lavapipe) takes a core's worth of time from the
 * adapter's worker threads: perf showed the main thread at 79-87% of a core and the two
 * workers at 38-46% each during a kernel. On Linux a nice value belongs to one thread, so
 * this leaves the adapter's threads (created with the device, before) at theirs, and they
 * get the cores while the main thread only polls. Measured here: the FMA microkernel ran
 * 1.6-1.7x faster at 19 than at 0 and the copy 1.1-2.0x (alternated in one process); peer
 * processes run back to back at 0 and 19 were not slowed (onnxruntime-webgpu rmsnorm b8 f16
 * 404 / 282 ms at 0, 281 / 329 at 19; jax-js rmsnorm b1 f32 43 / 45 at 0, 26 / 40 at 19).
 * Where the main thread has work while the adapter runs, it waits for a core.
 *
 * A nice value leaves where a woken thread is placed alone: a core running the polling
 * thread is not idle, so both workers may wake on the other one (lora b1 hand kernel at
 * 19: 2.16-5.24 ms, median 3.4). 'idle' adds the SCHED_IDLE policy (`chrt`,
 * util-linux), for which the scheduler counts the core as idle: 1.84-3.54 ms, median 2.4
 * (ten processes each, alternated); between two full runs a cell's time then moved by
 * 1.07x at the median (1.26x at 19). Returns the nice value now in effect.
 */
export function lowerWaitingThread(priority: WaitingPriority): number {
  const nice = priority === 'idle' ? 19 : priority;
  if (nice > getPriority()) setPriority(nice);
  // On Linux a pid names a thread, and process.pid is the main thread's. Once set, the
  // policy stays (leaving it needs privilege), so later calls start no chrt.
  if (priority === 'idle' && !idlePolicySet) {
    try {
      execFileSync('chrt', ['--idle', '--pid', '0', String(process.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      throw new Error(`bench: MUGRAPH_BENCH_NICE=idle (the default on Linux) sets SCHED_IDLE with chrt (util-linux), which failed; MUGRAPH_BENCH_NICE=19 does without: ${error instanceof Error ? error.message : String(error)}`);
    }
    idlePolicySet = true;
  }
  return getPriority();
}

/** The timed-time floor for a workload's cells: MIN_TIMED_MS on full shapes, none on the small twins (tests). */
export function minTimedMsFor(shapes: Shapes): number {
  return shapes === 'full' ? MIN_TIMED_MS : 0;
}

export interface Measurement {
  readonly runs: number;
  /** 1-minute load average of the host right after the timed calls. */
  readonly load1: number;
  readonly wallMs: number;
  readonly kernelMs: number | null;
  readonly wallRunsMs: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measure(call: () => Promise<CallTimes>, options: MeasureOptions): Promise<Measurement> {
  for (let i = 0; i < options.warmup; i++) await call();
  // After the warm-up: threads a peer starts on its first calls are created at the usual priority.
  if (options.waitingPriority !== undefined) lowerWaitingThread(options.waitingPriority);
  const walls: number[] = [];
  const kernels: number[] = [];
  let timed = 0;
  const floor = options.minTimedMs ?? 0;
  while (walls.length < options.reps || (timed < floor && walls.length < MAX_CALLS)) {
    const t = await call();
    walls.push(t.wallMs);
    timed += t.wallMs;
    if (t.kernelMs !== null) kernels.push(t.kernelMs);
  }
  return {
    runs: walls.length,
    load1: Math.round(loadavg()[0]! * 100) / 100,
    wallMs: median(walls),
    kernelMs: kernels.length === walls.length && kernels.length > 0 ? median(kernels) : null,
    wallRunsMs: walls.map((v) => Math.round(v * 1000) / 1000),
  };
}

/** Times one async call in wall-clock milliseconds. */
export async function timeWall(call: () => Promise<unknown>): Promise<CallTimes> {
  const start = performance.now();
  await call();
  return { wallMs: performance.now() - start, kernelMs: null };
}
