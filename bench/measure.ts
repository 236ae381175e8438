/**
 * The one timing loop every system and peer goes through: warm-up calls (the first pays
 * pipeline compilation), then `reps` timed calls, reported as medians. A call reports its
 * wall time and, where the system can measure it, its kernel time (GPU timestamps).
 */
import { loadavg } from 'node:os';

export interface CallTimes {
  readonly wallMs: number;
  /** GPU time of the recorded passes from timestamp queries; null where not measured. */
  readonly kernelMs: number | null;
}

export interface MeasureOptions {
  readonly warmup: number;
  readonly reps: number;
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
  for (let i = 0; i < options.reps; i++) {
    const t = await call();
    walls.push(t.wallMs);
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
