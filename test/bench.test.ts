/**
 * Smoke test of the benchmark harness (bench/): runs it in-process in quick mode (the
 * small twins of the six workloads, both variants, per-op system, 2 reps) and checks the
 * shape of the rows and that every result is within the comparison tolerance. Timings
 * are not asserted: they depend on the machine.
 */
import { describe, expect, it } from 'vitest';
import { cliArgs, parseCli } from '../bench/cli-options.js';
import { runBenchmarks } from '../bench/harness.js';
import { QUICK_MICROKERNELS } from '../bench/microkernels.js';
import { MAX_CALLS, measure, MIN_TIMED_MS, minTimedMsFor } from '../bench/measure.js';
import { markdownReport, textTable } from '../bench/report.js';
import { mergeResults } from '../bench/results.js';
import { perOpSystem } from '../bench/systems.js';
import { WORKLOAD_NAMES } from '../bench/workloads.js';

describe('bench harness (quick mode)', () => {
  it('times every small workload in both variants and matches the reference', async () => {
    const run = await runBenchmarks({
      workloads: WORKLOAD_NAMES,
      batches: [1],
      variants: ['f16', 'f32'],
      systems: [perOpSystem],
      shapes: 'small',
      warmup: 1,
      reps: 2,
      microkernels: { ...QUICK_MICROKERNELS, reps: 1 },
    });
    expect(run.header.copyGBps).toBeGreaterThan(0);
    expect(run.header.fmaGflops).toBeGreaterThan(0);
    expect(run.header.adapter).not.toBe('');
    expect(run.rows).toHaveLength(WORKLOAD_NAMES.length * 2);
    for (const row of run.rows) {
      const where = `${row.workload} ${row.variant}`;
      if (row.error?.startsWith('skipped')) continue; // e.g. an adapter without shader-f16
      expect(row.error, where).toBeUndefined();
      expect(row).toMatchObject({ batch: 1, shapes: 'small', system: 'per-op', runs: 2 });
      for (const key of ['medianMs', 'wallMs', 'relErr', 'rooflineMs', 'rooflineFraction', 'bytes', 'flops'] as const) {
        expect(row[key], `${where} ${key}`).toEqual(expect.any(Number));
      }
      expect(row.relErr!, where).toBeLessThanOrEqual(row.tolerance);
      expect(row.pass, where).toBe(true);
    }
    const results = mergeResults(undefined, run.header, run.rows);
    expect(markdownReport(results)).toContain('| gqa | small | f16 |');
    expect(textTable(results.rows).split('\n')).toHaveLength(run.rows.length + 1);
  });
});

describe('bench command line', () => {
  it('narrows the options to one workload for its per-workload process, keeping every other flag', () => {
    const { options, oneProcess } = parseCli(['--variants', 'f32', '--systems', 'hand', '--reps', '5', '--warmup', '1', '--quick', '--workloads', 'gqa,lora']);
    expect(oneProcess).toBe(false);
    const child = parseCli(cliArgs(options, 'lora', 8)).options;
    expect(child.workloads).toEqual(['lora']);
    expect(child.batches).toEqual([8]);
    expect(child).toMatchObject({ variants: ['f32'], shapes: 'small', reps: 5, warmup: 1 });
    expect(child.systems.map((s) => s.name)).toEqual(['hand']);
    expect(parseCli(['--one-process']).oneProcess).toBe(true);
  });

  it('rejects unknown workloads, systems and variants by name', () => {
    expect(() => parseCli(['--systems', 'jax-js'])).toThrow(/unknown system "jax-js"/);
    expect(() => parseCli(['--variants', 'bf16'])).toThrow(/unknown variant "bf16"/);
    expect(() => parseCli(['--workloads', 'mlp'])).toThrow(/mlp/);
  });
});

describe('the timing loop (bench/measure.ts)', () => {
  /** A call that reports `wallMs` without taking it, counting how often it ran. */
  const fakeCall = (wallMs: number) => {
    const counter = { calls: 0, call: async () => ({ wallMs: (counter.calls++, wallMs), kernelMs: null }) };
    return counter;
  };

  it('times reps calls after warm-up when no time floor is set, as on the small twins', async () => {
    const fake = fakeCall(5);
    const m = await measure(fake.call, { warmup: 2, reps: 3, minTimedMs: minTimedMsFor('small') });
    expect(m.runs).toBe(3);
    expect(fake.calls).toBe(5);
  });

  it('goes on past reps until the timed calls add up to the floor, at most MAX_CALLS', async () => {
    expect(minTimedMsFor('full')).toBe(MIN_TIMED_MS);
    expect((await measure(fakeCall(10).call, { warmup: 0, reps: 3, minTimedMs: 95 })).runs).toBe(10);
    expect((await measure(fakeCall(400).call, { warmup: 0, reps: 3, minTimedMs: MIN_TIMED_MS })).runs).toBe(3);
    expect((await measure(fakeCall(0.5).call, { warmup: 0, reps: 3, minTimedMs: MIN_TIMED_MS })).runs).toBe(MAX_CALLS);
  });
});
