/**
 * The waiting thread's priority in the timing loop (bench/measure.ts). A file of its own:
 * vitest runs each file in a fresh process (pool: forks), and nice is per thread on Linux,
 * so no other benchmark test has lowered this process's main thread before these run.
 */
import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { benchWaitingPriority, lowerWaitingThread, measure } from '../bench/measure.js';

describe('the waiting thread (bench/measure.ts)', () => {
  it('lowers the waiting thread to waitingPriority after the warm-up, never raising it', async () => {
    const before = getPriority();
    const seen: number[] = [];
    await measure(async () => (seen.push(getPriority()), { wallMs: 1, kernelMs: null }), { warmup: 2, reps: 3, waitingPriority: 19 });
    expect(seen).toEqual([before, before, 19, 19, 19]);
    expect(lowerWaitingThread(5)).toBe(19);
  });

  it("reads the priority from MUGRAPH_BENCH_NICE: 'idle' by default on Linux (0 elsewhere), a nice value, else an error", () => {
    expect(benchWaitingPriority({}, 'linux')).toBe('idle');
    expect(benchWaitingPriority({}, 'darwin')).toBe(0);
    expect(benchWaitingPriority({ MUGRAPH_BENCH_NICE: '19' })).toBe(19);
    expect(benchWaitingPriority({ MUGRAPH_BENCH_NICE: '0' })).toBe(0);
    expect(benchWaitingPriority({ MUGRAPH_BENCH_NICE: '10' })).toBe(10);
    expect(benchWaitingPriority({ MUGRAPH_BENCH_NICE: 'idle' })).toBe('idle');
    expect(() => benchWaitingPriority({ MUGRAPH_BENCH_NICE: '-5' })).toThrow(/MUGRAPH_BENCH_NICE must be an integer from 0 to 19 or "idle", got "-5"/);
    expect(() => benchWaitingPriority({ MUGRAPH_BENCH_NICE: 'low' })).toThrow(/got "low"/);
  });

  it("'idle' also puts the main thread under SCHED_IDLE (Linux, chrt)", () => {
    const policy = () => execFileSync('chrt', ['--pid', String(process.pid)], { encoding: 'utf8' });
    expect(policy()).not.toMatch(/SCHED_IDLE/);
    expect(lowerWaitingThread('idle')).toBe(19);
    expect(policy()).toMatch(/SCHED_IDLE/);
  });
});
