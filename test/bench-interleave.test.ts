/**
 * `npm run bench:interleave` (bench/interleave.ts): its command line, the shape overrides,
 * and one run on a small twin (two configurations called round-robin on one buffer set,
 * each checked against the float64 reference). Timings are not asserted.
 */
import { describe, expect, it } from 'vitest';
import { applyOverride, interleave, parseInterleaveCli } from '../bench/interleave.js';
import { gatedMlp } from '../fixtures/ugraphs/gated-mlp.js';
import { ntrans } from '../fixtures/ugraphs/ntrans.js';

describe('bench:interleave command line', () => {
  it('reads the workload, batch, variant, rounds and one JSON override per configuration', () => {
    expect(parseInterleaveCli(['--workload', 'gated_mlp', '--batch', '8', '--variant', 'f32', '--reps', '4', '{}', '{"inner": 256}'])).toEqual({
      workload: 'gated_mlp', batch: 8, variant: 'f32', reps: 4, shapes: 'full', overrides: [{}, { inner: 256 }],
    });
    expect(parseInterleaveCli(['--help'])).toBe('help');
  });

  it('rejects a missing workload, fewer than two configurations, bad JSON and bad numbers', () => {
    expect(() => parseInterleaveCli(['{}', '{}'])).toThrow(/--workload is required/);
    expect(() => parseInterleaveCli(['--workload', 'lora', '{}'])).toThrow(/at least two configurations/);
    expect(() => parseInterleaveCli(['--workload', 'lora', '{}', '{inner: 2}'])).toThrow(/configuration 2 is not JSON/);
    expect(() => parseInterleaveCli(['--workload', 'lora', '--batch', '0', '{}', '{}'])).toThrow(/--batch needs a positive integer/);
    expect(() => parseInterleaveCli(['--workload', 'lora', '--variant', 'bf16', '{}', '{}'])).toThrow(/unknown variant "bf16"/);
  });
});

describe('shape overrides', () => {
  it('replace numeric fields of the fixture shape and name the field they cannot set', () => {
    const base = ntrans.fullShape(1);
    expect(applyOverride(base, { statsTile: 512 }, 'here')).toEqual({ ...base, statsTile: 512 });
    expect(() => applyOverride(base, { tile: 512 }, 'here')).toThrow(/here: no numeric or boolean field "tile" \(fields: rows, width, statsTile, outputTile, subgroupRowSums\)/);
    expect(() => applyOverride(base, { statsTile: '512' }, 'here')).toThrow(/"statsTile" must be a number/);
    expect(() => applyOverride(base, [1], 'here')).toThrow(/an override is a JSON object/);
  });

  it('switch boolean fields, given true or false', () => {
    const base = gatedMlp.fullShape(8);
    expect(applyOverride(base, { streamOperands: false }, 'here')).toEqual({ ...base, streamOperands: false });
    expect(() => applyOverride(base, { streamOperands: 0 }, 'here')).toThrow(/"streamOperands" must be true or false, got 0/);
  });
});

describe('bench:interleave on a small twin', () => {
  it('times each configuration round-robin and checks each against the reference', async () => {
    const results = await interleave({ workload: 'ntrans', batch: 1, variant: 'f32', reps: 2, shapes: 'small', overrides: [{}, { statsTile: 32 }] });
    expect(results.map((r) => r.override)).toEqual([{}, { statsTile: 32 }]);
    expect(results[0]!.ratio).toBe(1);
    for (const r of results) {
      expect(r.pass).toBe(true);
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.wallMs).toBeGreaterThan(0);
    }
  });

  it('reports a configuration the μGraph rules reject, before timing anything', async () => {
    await expect(interleave({ workload: 'ntrans', batch: 1, variant: 'f32', reps: 1, shapes: 'small', overrides: [{}, { statsTile: 24 }] }))
      .rejects.toThrow(/forloopRange|divid/);
  });
});
