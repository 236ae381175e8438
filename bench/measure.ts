/**
 * The one timing loop every system and peer goes through: warm-up calls (the first pays
 * pipeline compilation), then at least `reps` timed calls, reported as medians. A call reports its
 * wall time and, where the system can measure it, its kernel time (GPU timestamps).
 * On full shapes, calls of a few milliseconds go on until the timed calls add up to
 * MIN_TIMED_MS (at most MAX_CALLS): on the shared lavapipe hosts the 10 walls of one cell
 * whose kernel takes 2.4 ms (ntrans b8, f32) ranged from 4.5 to 25 ms, and a median of 10
 * moved by 1.5x between runs (jax-js on ntrans b8, f16).
 */
import { loadavg } from 'node:os';
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
