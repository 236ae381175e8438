/**
 * Tests of the numeric oracle: the float64 reference interpreter (against values worked out
 * by hand or closed forms, never against itself), the seeded input generator, f16 rounding
 * (against bit patterns from the IEEE 754 binary16 format) and the GPU-vs-reference
 * comparison.
 */
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/frontend/builder.js';
import { expandComposites } from '../src/frontend/expand.js';
import { buildProgram, type Program } from '../src/frontend/program.js';
import { isComposite, type Tensor } from '../src/frontend/tensor.js';
import { compareToReference, roundInputsForVariant, TOLERANCE } from '../src/reference/compare.js';
import { evaluateReference } from '../src/reference/interpreter.js';
import { createRng, randomInputs } from '../src/reference/random.js';
import { f16BitsToF32, f32ToF16Bits, roundToF16 } from '../src/runtime/f16.js';

type Inputs = Record<string, number[]>;

/** Builds a one-output program `y` and evaluates it on `inputs`. */
function evaluate(define: (g: GraphBuilder) => Tensor, inputs: Inputs): number[] {
  const program = buildProgram('t', (g) => ({ y: define(g) }));
  return Array.from(evaluateReference(program, inputs).y!);
}

function expectClose(actual: readonly number[], expected: readonly number[], digits = 12): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i], `element ${i}`).toBeCloseTo(e, digits));
}

describe('evaluateReference: matmul', () => {
  it('multiplies 2x3 by 3x2', () => {
    const y = evaluate((g) => g.matmul(g.input('a', [2, 3]), g.input('b', [3, 2])), {
      a: [1, 2, 3, 4, 5, 6],
      b: [7, 8, 9, 10, 11, 12],
    });
    // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
    expect(y).toEqual([58, 64, 139, 154]);
  });

  it('broadcasts batch dimensions of both operands', () => {
    // a: [2, 1, 1, 2] (batches [1 2], [3 4]); b: [3, 2, 1] (columns [1 0], [0 1], [1 1]) -> [2, 3, 1, 1]
    const y = evaluate((g) => g.matmul(g.input('a', [2, 1, 1, 2]), g.input('b', [3, 2, 1])), {
      a: [1, 2, 3, 4],
      b: [1, 0, 0, 1, 1, 1],
    });
    expect(y).toEqual([1, 2, 3, 3, 4, 7]);
  });

  it('applies a rank-2 matrix to every batch of a rank-3 one', () => {
    // [1 2; 3 4]·[2; 1] = [4; 10], [5 6; 7 8]·[2; 1] = [16; 22]
    const y = evaluate((g) => g.matmul(g.input('a', [2, 2, 2]), g.input('b', [2, 1])), {
      a: [1, 2, 3, 4, 5, 6, 7, 8],
      b: [2, 1],
    });
    expect(y).toEqual([4, 10, 16, 22]);
  });
});

describe('evaluateReference: elementwise', () => {
  const column = { x: [10, 20], y: [1, 2, 3] };
  it('broadcasts [2,1] against [3]', () => {
    expect(evaluate((g) => g.add(g.input('x', [2, 1]), g.input('y', [3])), column)).toEqual([11, 12, 13, 21, 22, 23]);
    expect(evaluate((g) => g.sub(g.input('y', [3]), g.input('x', [2, 1])), column)).toEqual([-9, -8, -7, -19, -18, -17]);
    expectClose(evaluate((g) => g.div(g.input('x', [2, 1]), g.input('y', [3])), column), [10, 5, 10 / 3, 20, 10, 20 / 3]);
  });

  it('takes numbers as scalar constants on either side, and scales', () => {
    const x = { x: [1, 2, 4] };
    expect(evaluate((g) => g.add(g.input('x', [3]), 2), x)).toEqual([3, 4, 6]);
    expect(evaluate((g) => g.sub(2, g.input('x', [3])), x)).toEqual([1, 0, -2]);
    expect(evaluate((g) => g.mul(g.input('x', [3]), 0.5), x)).toEqual([0.5, 1, 2]);
    expect(evaluate((g) => g.div(1, g.input('x', [3])), x)).toEqual([1, 0.5, 0.25]);
    expect(evaluate((g) => g.scale(g.input('x', [3]), -3), x)).toEqual([-3, -6, -12]);
  });

  it('computes each unary function', () => {
    const points = [-2, -0.5, 0, 1, 2];
    const unary = (fn: 'exp' | 'square' | 'silu' | 'gelu' | 'relu') =>
      evaluate((g) => g[fn](g.input('x', [5])), { x: points });
    expectClose(unary('exp'), [Math.exp(-2), Math.exp(-0.5), 1, Math.E, Math.exp(2)]);
    expect(unary('square')).toEqual([4, 0.25, 0, 1, 4]);
    expect(unary('relu')).toEqual([0, 0, 0, 1, 2]);
    // silu(x) = x·sigmoid(x), with sigmoid(x) = (1 + tanh(x/2)) / 2
    expectClose(unary('silu'), points.map((x) => (x * (1 + Math.tanh(x / 2))) / 2));
    expectClose(unary('silu').slice(1), [-0.1887703343990727, 0, 0.7310585786300049, 1.7615941559557646]);
    // tanh-approximation gelu; gelu(x) - gelu(-x) = x
    const gelu = unary('gelu');
    expectClose([gelu[2]!, gelu[3]!, gelu[4]!], [0, 0.8411919906082768, 1.954597694087775]);
    expectClose([gelu[4]! - gelu[0]!], [2]);
    const positive = { x: [0.25, 1, 4] };
    expect(evaluate((g) => g.sqrt(g.input('x', [3])), positive)).toEqual([0.5, 1, 2]);
    expect(evaluate((g) => g.rsqrt(g.input('x', [3])), positive)).toEqual([2, 1, 0.5]);
  });
});

describe('evaluateReference: reductions', () => {
  const x = { x: [1, 5, 3, 4, 2, 6] }; // [[1 5 3], [4 2 6]]
  const cases = [
    { fn: 'sum', dim: 0, values: [5, 7, 9] },
    { fn: 'sum', dim: 1, values: [9, 12] },
    { fn: 'mean', dim: 0, values: [2.5, 3.5, 4.5] },
    { fn: 'mean', dim: 1, values: [3, 4] },
    { fn: 'max', dim: 0, values: [4, 5, 6] },
    { fn: 'max', dim: 1, values: [5, 6] },
  ] as const;
  for (const { fn, dim, values } of cases) {
    for (const keepdim of [false, true]) {
      it(`${fn} over dim ${dim}, keepdim ${keepdim}`, () => {
        const program = buildProgram('r', (g) => ({ y: g[fn](g.input('x', [2, 3]), dim, { keepdim }) }));
        const shape = dim === 0 ? (keepdim ? [1, 3] : [3]) : keepdim ? [2, 1] : [2];
        expect(program.outputSpecs[0]!.shape).toEqual(shape);
        expect(Array.from(evaluateReference(program, x).y!)).toEqual(values);
      });
    }
  }

  it('reduces the middle dimension of a rank-3 tensor', () => {
    // [[[1 2] [3 4]] [[5 6] [7 8]]] summed over dim 1
    expect(evaluate((g) => g.sum(g.input('x', [2, 2, 2]), 1), { x: [1, 2, 3, 4, 5, 6, 7, 8] })).toEqual([4, 6, 12, 14]);
  });

  it('takes the max of all-negative rows', () => {
    expect(evaluate((g) => g.max(g.input('x', [2, 2]), -1), { x: [-3, -1, -2, -5] })).toEqual([-1, -2]);
  });
});

describe('evaluateReference: layout operators', () => {
  it('transposes a rank-3 tensor by perm [2, 0, 1]', () => {
    // x[j][k][i] = 12j + 4k + i, shape [2, 3, 4]; out[i][j][k] = x[j][k][i], shape [4, 2, 3]
    const x = Array.from({ length: 24 }, (_, i) => i);
    const program = buildProgram('t', (g) => ({ y: g.transpose(g.input('x', [2, 3, 4]), [2, 0, 1]) }));
    expect(program.outputSpecs[0]!.shape).toEqual([4, 2, 3]);
    expect(Array.from(evaluateReference(program, { x }).y!)).toEqual([
      0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23,
    ]);
  });

  it('reshapes row-major, then swaps the last two dims by default', () => {
    const x = { x: [1, 2, 3, 4, 5, 6] };
    expect(evaluate((g) => g.reshape(g.input('x', [6]), [3, 2]), x)).toEqual([1, 2, 3, 4, 5, 6]);
    // [[1 2 3] [4 5 6]]^T
    expect(evaluate((g) => g.transpose(g.reshape(g.input('x', [6]), [2, 3])), x)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('concatenates on dim 0 and dim 1', () => {
    const parts = { a: [1, 2], b: [3, 4, 5, 6] };
    expect(evaluate((g) => g.concat([g.input('a', [1, 2]), g.input('b', [2, 2])], 0), parts)).toEqual([1, 2, 3, 4, 5, 6]);
    // [[1] [2]] ++ [[3 4] [5 6]] on dim 1 = [[1 3 4] [2 5 6]]
    expect(evaluate((g) => g.concat([g.input('a', [2, 1]), g.input('b', [2, 2])], 1), parts)).toEqual([1, 3, 4, 2, 5, 6]);
  });
});

describe('evaluateReference: composite operators', () => {
  it('softmax of [1, 2, 3] is e^i / (e + e^2 + e^3), also when shifted by 1000', () => {
    const total = Math.E + Math.E ** 2 + Math.E ** 3;
    const expected = [Math.E / total, Math.E ** 2 / total, Math.E ** 3 / total];
    expectClose(evaluate((g) => g.softmax(g.input('x', [3])), { x: [1, 2, 3] }), expected);
    // Without subtracting the max, exp(1001) overflows to Infinity and the result is NaN.
    expectClose(evaluate((g) => g.softmax(g.input('x', [3])), { x: [1001, 1002, 1003] }), expected);
  });

  it('softmax over dim 0', () => {
    // columns [0, ln 3] -> [1/4, 3/4] and [1, 1] -> [1/2, 1/2]
    expectClose(evaluate((g) => g.softmax(g.input('x', [2, 2]), 0), { x: [0, 1, Math.log(3), 1] }), [0.25, 0.5, 0.75, 0.5]);
  });

  it('rmsNorm over the last dim, with and without weight', () => {
    // rows [3 4]: mean square 12.5, + eps 0.5 = 13; [1 1]: 1 + 0.5 = 1.5
    const x = { x: [3, 4, 1, 1] };
    const r13 = Math.sqrt(13);
    const r15 = Math.sqrt(1.5);
    expectClose(evaluate((g) => g.rmsNorm(g.input('x', [2, 2]), { eps: 0.5 }), x), [3 / r13, 4 / r13, 1 / r15, 1 / r15]);
    const weighted = evaluate(
      (g) => g.rmsNorm(g.input('x', [2, 2]), { eps: 0.5, weight: g.input('w', [2]) }),
      { ...x, w: [2, -1] },
    );
    expectClose(weighted, [6 / r13, -4 / r13, 2 / r15, -1 / r15]);
  });

  it('rmsNorm over dim 0 with a [2, 1] weight', () => {
    // columns [3 4] (mean square 12.5) and [1 1] (1), eps 0; rows weighted by 10 and 100
    const r = Math.sqrt(12.5);
    const y = evaluate(
      (g) => g.rmsNorm(g.input('x', [2, 2]), { dim: 0, eps: 0, weight: g.input('w', [2, 1]) }),
      { x: [3, 1, 4, 1], w: [10, 100] },
    );
    expectClose(y, [30 / r, 10, 400 / r, 100]);
  });

  it('agrees with the expanded (primitive-only) program', () => {
    const program = buildProgram('composites', (g) => {
      const x = g.input('x', [3, 4, 5]);
      const w = g.input('w', [5]);
      return {
        norm: g.rmsNorm(x, { weight: w, eps: 1e-3 }),
        normMiddle: g.rmsNorm(x, { dim: 1 }),
        soft: g.softmax(g.scale(x, 4), 1),
        softLast: g.softmax(x),
        mean: g.mean(x, 2),
        meanKeep: g.mean(x, 0, { keepdim: true }),
      };
    });
    const expanded = expandComposites(program);
    expect(program.nodes.some(isComposite)).toBe(true);
    expect(expanded.nodes.some(isComposite)).toBe(false);
    const inputs = randomInputs(program, 7);
    const direct = evaluateReference(program, inputs);
    const viaExpansion = evaluateReference(expanded, inputs);
    for (const { name } of program.outputSpecs) {
      expectClose(Array.from(viaExpansion[name]!), Array.from(direct[name]!));
    }
  });
});

describe('evaluateReference: inputs and outputs', () => {
  const program = buildProgram('io', (g) => {
    const x = g.input('x', [2, 3]);
    return { y: g.relu(x), z: g.relu(x) };
  });

  it('names a missing input and its element count', () => {
    expect(() => evaluateReference(program, {})).toThrow(/missing input "x".*6 elements/);
  });

  it('names an input of the wrong length and the expected count', () => {
    expect(() => evaluateReference(program, { x: [1, 2, 3] })).toThrow(/input "x" has 3 elements.*needs 6/);
  });

  it('rejects inputs the program does not declare', () => {
    expect(() => evaluateReference(program, { x: [1, 2, 3, 4, 5, 6], q: [1] })).toThrow(/unknown input.*"q"/);
  });

  it('returns every output as its own array', () => {
    const out = evaluateReference(program, { x: [-1, 2, -3, 4, -5, 6] });
    expect(Object.keys(out)).toEqual(['y', 'z']);
    expect(Array.from(out.y!)).toEqual([0, 2, 0, 4, 0, 6]);
    out.y![1] = 100;
    expect(out.z![1]).toBe(2);
  });
});

describe('randomInputs and createRng', () => {
  const program = buildProgram('rand', (g) => ({ y: g.relu(g.input('a', [40, 50])), z: g.relu(g.input('b', [50, 3], 'f16')) }));

  it('is deterministic per seed and differs across seeds', () => {
    const first = randomInputs(program, 42);
    expect(randomInputs(program, 42)).toEqual(first);
    expect(Array.from(randomInputs(program, 43).a!)).not.toEqual(Array.from(first.a!));
    expect(Array.from(first.b!)).not.toEqual(Array.from(first.a!.slice(0, 150)));
  });

  it('gives every input its element count in spec order, spread over [-1, 1]', () => {
    const inputs = randomInputs(program, 1);
    expect(Object.keys(inputs)).toEqual(['a', 'b']);
    expect(inputs.a).toBeInstanceOf(Float32Array);
    expect(inputs.a).toHaveLength(2000);
    expect(inputs.b).toHaveLength(150);
    const a = Array.from(inputs.a!);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    expect(Math.min(...a)).toBeLessThan(-0.95);
    expect(Math.max(...a)).toBeGreaterThan(0.95);
    expect(Math.abs(a.reduce((s, v) => s + v, 0) / a.length)).toBeLessThan(0.05);
  });

  it('createRng draws uniformly from [0, 1)', () => {
    const next = createRng(123);
    const draws = Array.from({ length: 10000 }, next);
    expect(draws.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(draws.reduce((s, v) => s + v, 0) / draws.length - 0.5)).toBeLessThan(0.01);
    const belowTenth = draws.filter((v) => v < 0.1).length;
    expect(belowTenth).toBeGreaterThan(900);
    expect(belowTenth).toBeLessThan(1100);
    const again = createRng(123);
    expect(Array.from({ length: 5 }, again)).toEqual(draws.slice(0, 5));
  });
});

describe('f16 conversion', () => {
  it('encodes exact values to their IEEE 754 binary16 bits', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00], [0.5, 0x3800], [-2, 0xc000], [65504, 0x7bff], [0, 0x0000], [-0, 0x8000],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [1 / 3, 0x3555], [0.1, 0x2e66],
    ];
    for (const [value, bits] of cases) expect(f32ToF16Bits(value), `f16 bits of ${value}`).toBe(bits);
  });

  it('overflows to infinity past the largest finite value', () => {
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // halfway between 65504 and 2^16: rounds to even, i.e. up
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
  });

  it('rounds to nearest, ties to even', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between mantissas 0 and 1: 0
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 1 and 2: 2
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // subnormal tie between 0 and 1: 0
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // subnormal tie between 1 and 2: 2
    expect(f32ToF16Bits(2 ** -25 + 2 ** -30)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -26)).toBe(0x0000);
  });

  it('keeps NaN a NaN', () => {
    const bits = f32ToF16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
  });

  it('decodes bits to values', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
    expect(f16BitsToF32(0x8000)).toBe(-0);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
  });

  it('round-trips through f16', () => {
    expect(Array.from(roundToF16([1, 0.1, 65504, 70000, 2 ** -24, 2 ** -26, -2.5]))).toEqual([
      1, 0.0999755859375, 65504, Infinity, 2 ** -24, 0, -2.5,
    ]);
  });
});

describe('compareToReference', () => {
  it('passes identical results with zero error', () => {
    const c = compareToReference([1, -2, 3], new Float64Array([1, -2, 3]), 'f32');
    expect(c).toEqual({ maxAbsError: 0, maxRelError: 0, relL2Error: 0, tolerance: 1e-4, nanMismatch: 0, f16Overflow: 0, pass: true });
  });

  it('reports the errors of a hand-computed case', () => {
    // difference [0 0 0 1]; ||expected|| = sqrt(1 + 4 + 9 + 25)
    const c = compareToReference([1, 2, 3, 4], [1, 2, 3, 5], 'f16');
    expect(c.maxAbsError).toBe(1);
    expect(c.maxRelError).toBeCloseTo(0.2, 12);
    expect(c.relL2Error).toBeCloseTo(1 / Math.sqrt(39), 12);
    expect(c.pass).toBe(false);
  });

  it('applies the variant tolerance to the relative L2 error', () => {
    expect(TOLERANCE).toEqual({ f32: 1e-4, f16: 1e-2 });
    const expected = [3, 4]; // norm 5
    const offBy = (relL2: number) => [3 + 5 * relL2, 4];
    expect(compareToReference(offBy(5e-5), expected, 'f32').pass).toBe(true);
    expect(compareToReference(offBy(5e-4), expected, 'f32').pass).toBe(false);
    expect(compareToReference(offBy(5e-3), expected, 'f16').pass).toBe(true);
    expect(compareToReference(offBy(5e-2), expected, 'f16').pass).toBe(false);
  });

  it('floors the per-element relative error near zero', () => {
    // expected 0 next to 1: the denominator is 1e-6 · max|expected|
    const c = compareToReference([1e-3, 1], [0, 1], 'f32');
    expect(c.maxRelError).toBeCloseTo(1000, 6);
    expect(compareToReference([0, 0], [0, 0], 'f32').pass).toBe(true);
    expect(compareToReference([1e-3, 0], [0, 0], 'f32').pass).toBe(false);
  });

  it('requires non-finite values in the same places', () => {
    const agreeing = compareToReference([NaN, Infinity, -Infinity, 1], [NaN, Infinity, -Infinity, 1], 'f32');
    expect(agreeing).toMatchObject({ nanMismatch: 0, relL2Error: 0, pass: true });
    expect(compareToReference([NaN, 1], [0, 1], 'f16')).toMatchObject({ nanMismatch: 1, pass: false });
    expect(compareToReference([0, 1], [NaN, 1], 'f16')).toMatchObject({ nanMismatch: 1, pass: false });
    expect(compareToReference([-Infinity, Infinity], [Infinity, Infinity], 'f16')).toMatchObject({ nanMismatch: 1, pass: false });
    expect(compareToReference([NaN, 1], [Infinity, 1], 'f16')).toMatchObject({ nanMismatch: 1, pass: false });
    // An f16 result that overflowed where the true value is beyond ±65504 is counted as such.
    expect(compareToReference([Infinity, 1, Infinity], [70000, 1, 60000], 'f16')).toMatchObject({ nanMismatch: 2, f16Overflow: 1, pass: false });
    expect(compareToReference([Infinity, 1], [70000, 1], 'f32')).toMatchObject({ nanMismatch: 1, f16Overflow: 0 });
  });

  it('fails on different lengths', () => {
    expect(compareToReference([1, 2], [1, 2, 3], 'f16').pass).toBe(false);
  });
});

describe('roundInputsForVariant', () => {
  const program: Program = buildProgram('mixed', (g) => ({ y: g.relu(g.input('h', [2], 'f16')), z: g.relu(g.input('s', [2])) }));
  const inputs = { h: new Float32Array([0.1, 1]), s: new Float32Array([0.1, 1]) };

  it('rounds only f16 inputs, and only for the f16 variant', () => {
    const f16 = roundInputsForVariant(inputs, program, 'f16');
    expect(Array.from(f16.h!)).toEqual([0.0999755859375, 1]);
    expect(Array.from(f16.s!)).toEqual(Array.from(inputs.s));
    const f32 = roundInputsForVariant(inputs, program, 'f32');
    expect(Array.from(f32.h!)).toEqual(Array.from(inputs.h));
    expect(Array.from(f32.s!)).toEqual(Array.from(inputs.s));
    expect(Array.from(inputs.h)).toEqual([Math.fround(0.1), 1]); // the caller's arrays are untouched
  });
});
