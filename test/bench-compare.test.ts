/**
 * `npm run bench:compare` (bench/compare.ts): which peer a row is set against, the ratio,
 * and the counts of rows at the target, on hand-made results whose expected figures are
 * worked out here from the wall times given.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, markdownComparison } from '../bench/compare.js';
import type { BenchHeader, BenchResults, BenchRow } from '../bench/results.js';

const header: BenchHeader = {
  date: '2026-12-04T00:00:00.000Z', adapter: 'test', node: 'v20', timestamps: true, copyGBps: 10, fmaGflops: 100,
  microkernels: [], method: 'test', warmup: 1, reps: 1, referenceSeconds: {},
};

function row(workload: string, variant: 'f16' | 'f32', system: string, wallMs: number, extra: Partial<BenchRow> = {}): BenchRow {
  return {
    workload, batch: 1, shapes: 'full', system, variant, medianMs: wallMs, kernelMs: null, wallMs, runs: 10,
    relErr: 1e-4, tolerance: 1e-2, pass: true, bytes: 1e6, flops: 1e6, rooflineMs: 0.1, rooflineBound: 'memory',
    rooflineFraction: 0.1 / wallMs, wallRooflineFraction: 0.1 / wallMs, ...extra,
  };
}

const results = (rows: BenchRow[]): BenchResults => ({ header, rows });

describe('bench:compare', () => {
  it('sets the hand μGraph against the fastest peer that passed, leaving out our systems and the CPU anchor', () => {
    const run = results([
      row('gqa', 'f16', 'per-op', 1),
      row('gqa', 'f16', 'hand', 10),
      row('gqa', 'f16', 'jax-js', 30),
      // Faster, but wrong: not a comparison.
      row('gqa', 'f16', 'onnxruntime-webgpu', 12, { relErr: 2e-2, pass: false }),
      row('gqa', 'f16', 'onnxruntime-cpu', 2),
      row('gqa', 'f32', 'hand', 10),
      row('gqa', 'f32', 'jax-js', 25),
      row('gqa', 'f32', 'onnxruntime-webgpu', 15),
    ]);
    const c = compareRuns([{ label: 'A', results: run }]);
    expect(c.rows.map((r) => [r.workload, r.variant, r.runs[0]?.peer, r.runs[0]?.ratio])).toEqual([
      ['gqa', 'f16', 'jax-js', 3],
      ['gqa', 'f32', 'onnxruntime-webgpu', 1.5],
    ]);
    expect(c.reached).toEqual([1]);
    expect(c.reachedInAll).toBe(1);
  });

  it('counts the target per run and in every run, and marks a row without a passing peer as missing', () => {
    const a = results([row('lora', 'f16', 'hand', 1), row('lora', 'f16', 'jax-js', 2.5), row('rmsnorm', 'f16', 'hand', 1), row('rmsnorm', 'f16', 'jax-js', 2)]);
    const b = results([row('lora', 'f16', 'hand', 1), row('lora', 'f16', 'jax-js', 1.5), row('rmsnorm', 'f16', 'hand', 1), row('rmsnorm', 'f16', 'jax-js', 2.2),
      row('ntrans', 'f16', 'hand', 1), row('ntrans', 'f16', 'jax-js', 5, { error: 'failed: out of memory', wallMs: null })]);
    const c = compareRuns([{ label: 'A', results: a }, { label: 'B', results: b }]);
    expect(c.reached).toEqual([2, 1]);
    expect(c.reachedInAll).toBe(1);
    const ntrans = c.rows.find((r) => r.workload === 'ntrans')!;
    expect(ntrans.runs).toEqual([undefined, undefined]);
    const md = markdownComparison(c);
    expect(md).toContain('| rmsnorm | 1 | f16 | 1.00 / 1.00 | 2.00 / 2.20 (jax-js) | **2.00 / 2.20** |');
    expect(md).toContain('| lora | 1 | f16 | 1.00 / 1.00 | 2.50 / 1.50 (jax-js) | 2.50 / 1.50 |');
    expect(md).toContain('| ntrans | 1 | f16 | – / – | – / – | – / – | – / – |');
    expect(md).toContain('2 in A, 1 in B; in all 2: 1 of 3 (bold)');
    const switched = compareRuns([{ label: 'A', results: a }, { label: 'B', results: results([row('lora', 'f16', 'hand', 1), row('lora', 'f16', 'onnxruntime-webgpu', 3)]) }]);
    expect(markdownComparison(switched)).toContain('| lora | 1 | f16 | 1.00 / 1.00 | 2.50 / 3.00 (jax-js / onnxruntime-webgpu) | **2.50 / 3.00** |');
  });
});
