/**
 * Per-operator kernels against bug classes that random inputs at the usual tolerances miss
 * (found by planting bugs): the tiled matmul's K loop running one step too far, which reads
 * zeros in an unbatched matmul but the next batch's B in a batched one; and f16-variant
 * reductions or matmuls accumulating in f16 rather than f32, which zero-mean random data
 * at a relative L2 tolerance of 1e-2 cannot see. The second class is checked on
 * structured data with exact expected values: a row of 2048 then 31 ones sums to 2079 in
 * f32 (stored in f16 as 2080) but to 2048 when each addition rounds to f16 (the f16 spacing
 * at 2048 is 2, so 2048 + 1 rounds back to 2048).
 */
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/frontend/builder.js';
import { buildProgram, type Program } from '../src/frontend/program.js';
import type { Tensor } from '../src/frontend/tensor.js';
import type { DType } from '../src/ir/dtype.js';
import { SKINNY_MAX_M } from '../src/codegen/wgsl/matmul.js';
import { lowerPerOperator } from '../src/lower/per-op.js';
import { roundInputsForVariant } from '../src/reference/compare.js';
import { evaluateReference } from '../src/reference/interpreter.js';
import { f16BitsToF32, f32ToF16Bits, roundToF16 } from '../src/runtime/f16.js';
import { loadCompiled } from '../src/runtime/loader.js';
import type { Variant } from '../src/runtime/types.js';
import { runAndCompare, useGpu } from './helpers/gpu.js';

const gpu = useGpu();

const COMBOS: ReadonlyArray<readonly [DType, Variant]> = [['f32', 'f32'], ['f16', 'f16'], ['f16', 'f32']];

describe.each(COMBOS)('batched tiled matmul with K a multiple of the K step: %s program, %s variant', (dtype, variant) => {
  // M > SKINNY_MAX_M (the tiled schedule) and K a multiple of 16 (no K guard): one K step too
  // many reads the next batch's B (or past B, zeros, when B has no batch dims).
  const shapes: ReadonlyArray<readonly [string, number[], number[]]> = [
    ['batched', [2, 16, 32], [2, 32, 16]],
    // Batch dims [2, 3] from [2, 1] and [3]; M and N off the 64 tile, K = 48.
    ['batch_broadcast', [2, 1, 20, 48], [3, 48, 24]],
  ];

  it('matches the reference', async () => {
    for (const [, a] of shapes) expect(a[a.length - 2]).toBeGreaterThan(SKINNY_MAX_M);
    const program = buildProgram('batched_matmul', (g) =>
      Object.fromEntries(shapes.map(([name, a, b]) => [name, g.matmul(g.input(`${name}_a`, a, dtype), g.input(`${name}_b`, b, dtype))])));
    await runAndCompare(gpu().device, program, 11, variant);
  });
});

/** Runs `program` (f16 inputs) in `variant` on `inputs`; the outputs. */
async function run(program: Program, variant: Variant, inputs: Record<string, Float32Array>): Promise<Record<string, Float32Array>> {
  const loaded = await loadCompiled(lowerPerOperator(program), gpu().device, { variant });
  try {
    expect(loaded.variant).toBe(variant);
    return await loaded.run(inputs);
  } finally {
    loaded.destroy();
  }
}

/** The spacing of f16 values at |v| (2^-24 in the subnormal range). */
function f16Spacing(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
}

/** Rows of `length`: each `[big, small x (length - 1)]`, the small values at `positions` only (the rest `fill`). */
function rows(length: number, specs: ReadonlyArray<readonly [big: number, small: number]>, positions?: readonly number[], fill = 0): Float32Array {
  const out = new Float32Array(specs.length * length).fill(fill);
  specs.forEach(([big, small], r) => {
    out[r * length] = big;
    for (const p of positions ?? Array.from({ length: length - 1 }, (_, i) => i + 1)) out[r * length + p] = small;
  });
  return out;
}

/** Every element of `got` within `ulps` f16 spacings of the float64 reference. */
function expectWithinF16Ulps(got: Float32Array, expected: ArrayLike<number>, ulps: number, what: string) {
  const worst = Array.from(got, (g, i) => Math.abs(g - expected[i]!) / f16Spacing(expected[i]!)).reduce((a, b) => Math.max(a, b), 0);
  expect.soft(worst, `${what}: worst error in f16 spacings`).toBeLessThanOrEqual(ulps);
}

// The f16 sums below: 2048 + 31 ones = 2079, stored as 2080 (round to even at spacing 2);
// 1024 + 31 halves = 1039.5, stored as 1040 (spacing 1). Accumulated in f16: 2048 and 1024.
const SUM_ROWS: ReadonlyArray<readonly [number, number]> = [[2048, 1], [1024, 0.5]];
const F16_SUMS = [2080, 1040];
const F32_SUMS = [2079, 1039.5];

describe('f16-variant reductions accumulate in f32', () => {
  it('sum and mean over short rows (one invocation per row), last dim and first dim', async () => {
    const program = buildProgram('short_sums', (g) => {
      const x = g.input('x', [2, 32], 'f16');
      const xt = g.input('xt', [32, 2], 'f16');
      return { sum: g.sum(x, -1), mean: g.mean(x, -1), sum0: g.sum(xt, 0), mean0: g.mean(xt, 0, { keepdim: true }) };
    });
    const x = rows(32, SUM_ROWS);
    // The same rows as columns: reduced over dim 0, elements 2 apart.
    const xt = new Float32Array(64);
    for (let r = 0; r < 32; r++) for (let c = 0; c < 2; c++) xt[r * 2 + c] = x[c * 32 + r]!;
    const f16 = await run(program, 'f16', { x, xt });
    expect(Array.from(f16.sum!)).toEqual(F16_SUMS);
    expect(Array.from(f16.sum0!)).toEqual(F16_SUMS);
    // mean = sum · (1/32): 2080/32 = 65 and 1040/32 = 32.5.
    expect(Array.from(f16.mean!)).toEqual([65, 32.5]);
    expect(Array.from(f16.mean0!)).toEqual([65, 32.5]);
    const f32 = await run(program, 'f32', { x, xt });
    expect(Array.from(f32.sum!)).toEqual(F32_SUMS);
    expect(Array.from(f32.sum0!)).toEqual(F32_SUMS);
    expect(Array.from(f32.mean!)).toEqual([2079 / 32, 1039.5 / 32]);
    expect(Array.from(f32.mean0!)).toEqual([2079 / 32, 1039.5 / 32]);
  });

  it('sum and mean over long rows (one workgroup per row): the strided loop and the tree', async () => {
    // Rows of 8192 (256 invocations, 32 elements each): invocation 0 adds the big value then
    // 31 small ones, 256 apart.
    const strided = Array.from({ length: 31 }, (_, i) => 256 * (i + 1));
    // Rows of 256 (one element per invocation): the tree adds the element at 128, 64, ..., 1
    // to the big one, one per step.
    const tree = [128, 64, 32, 16, 8, 4, 2, 1];
    const program = buildProgram('long_sums', (g) => {
      const long = g.input('long', [2, 8192], 'f16');
      const wide = g.input('wide', [2, 256], 'f16');
      return { long: g.sum(long, -1), longMean: g.mean(long, -1), wide: g.sum(wide, 1) };
    });
    const inputs = { long: rows(8192, SUM_ROWS, strided), wide: rows(256, SUM_ROWS, tree) };
    const f16 = await run(program, 'f16', inputs);
    expect(Array.from(f16.long!)).toEqual(F16_SUMS);
    // 2080/8192 and 1040/8192, exact in f16.
    expect(Array.from(f16.longMean!)).toEqual([2080 / 8192, 1040 / 8192]);
    // 2048 + 8 and 1024 + 4: exact in f16 (2048 + 1 is not).
    expect(Array.from(f16.wide!)).toEqual([2056, 1028]);
    const f32 = await run(program, 'f32', inputs);
    expect(Array.from(f32.long!)).toEqual(F32_SUMS);
    expect(Array.from(f32.longMean!)).toEqual([2079 / 8192, 1039.5 / 8192]);
    expect(Array.from(f32.wide!)).toEqual([2056, 1028]);
  });

  it('rmsNorm and softmax, whose sums lose about 0.75% when accumulated in f16', async () => {
    // rmsNorm: 64² = 4096 (f16 spacing 4) plus 31 squares of 1: each lost in f16. The result
    // moves by about 5 f16 spacings. softmax: exp(0) = 1 (spacing 2^-10) plus 31 values of
    // exp(-8.3125) = 2.45e-4, each under half a spacing: the results move by 8 to 16 spacings.
    const strided = Array.from({ length: 31 }, (_, i) => 256 * (i + 1));
    const program = buildProgram('composites', (g) => {
      const x = g.input('x', [1, 32], 'f16');
      const long = g.input('long', [1, 8192], 'f16');
      const logits = g.input('logits', [1, 32], 'f16');
      const longLogits = g.input('longLogits', [1, 8192], 'f16');
      return { norm: g.rmsNorm(x), longNorm: g.rmsNorm(long), p: g.softmax(logits), longP: g.softmax(longLogits) };
    });
    const inputs = {
      x: rows(32, [[64, 1]]),
      long: rows(8192, [[64, 1]], strided),
      logits: rows(32, [[0, -8.3125]]),
      // exp(-20) is 0 in f16: only the 32 chosen elements count on the GPU.
      longLogits: rows(8192, [[0, -8.3125]], strided, -20),
    };
    const expected = evaluateReference(program, roundInputsForVariant(inputs, program, 'f16'));
    const got = await run(program, 'f16', inputs);
    for (const name of ['norm', 'longNorm', 'p', 'longP']) expectWithinF16Ulps(got[name]!, expected[name]!, 3, name);
  });
});

describe('f16-variant matmuls accumulate in f32', () => {
  it('tiled and skinny: [2048, 1 x 31] · ones is 2080 in f16, not 2048', async () => {
    const program = buildProgram('accumulate', (g: GraphBuilder) => {
      const out: Record<string, Tensor> = {};
      for (const [name, a, b] of [
        // The tiled kernel of the first batched case above (the same WGSL: compiled once).
        ['tiled', [2, 16, 32], [2, 32, 16]],
        // Skinny, K in four chunks of 64.
        ['skinny', [3, 256], [256, 4]],
      ] as const) out[name] = g.matmul(g.input(`${name}_a`, [...a], 'f16'), g.input(`${name}_b`, [...b], 'f16'));
      return out;
    });
    const inputs: Record<string, Float32Array> = {};
    const expected: Record<string, number[]> = {};
    for (const spec of program.inputSpecs) {
      const length = spec.shape.reduce((p, d) => p * d, 1);
      const values = new Float32Array(length);
      if (spec.name.endsWith('_b')) {
        inputs[spec.name] = values.fill(1);
        continue;
      }
      // Rows of A alternate [2048, 1 x 31] and [1024, 0.5 x 31]; with K = 256 the 31 small values are 8 apart.
      const k = spec.shape[spec.shape.length - 1]!;
      for (let r = 0; r < length / k; r++) {
        const [big, small] = SUM_ROWS[r % 2]!;
        values[r * k] = big;
        for (let i = 1; i < k; i++) if (k === 32 || i % 8 === 0) values[r * k + i] = small;
      }
      inputs[spec.name] = values;
    }
    const reference = evaluateReference(program, inputs);
    for (const spec of program.outputSpecs) expected[spec.name] = Array.from(roundToF16(Array.from(reference[spec.name]!)));
    const got = await run(program, 'f16', inputs);
    for (const spec of program.outputSpecs) {
      // 2048 + 31 = 2079 -> 2080 and 1024 + 15.5 = 1039.5 -> 1040 in every row.
      expect.soft(new Set(got[spec.name]), spec.name).toEqual(new Set([2080, 1040]));
      expect.soft(Array.from(got[spec.name]!), spec.name).toEqual(expected[spec.name]);
    }
  });
});

// f16 rounding sanity for the expectations above.
it('the f16 values the expectations rely on', () => {
  expect([2079, 1039.5, 2049, 1024.5].map((v) => f16BitsToF32(f32ToF16Bits(v)))).toEqual([2080, 1040, 2048, 1024]);
});
