/**
 * Every operator of the per-operator lowering on the GPU (Dawn; lavapipe in CI), against
 * the float64 reference: f32 programs in the f32 variant, f16 programs in both variants;
 * broadcasting cases, reductions over every dim, matmul shapes off the tile sizes and on
 * them, layouts, aliasing of outputs, a grid over 65535 workgroups and composites.
 * Each test builds one program with many outputs, so kernels compile in one batch.
 */
import { describe, expect, it } from 'vitest';
import type { DType } from '../src/ir/dtype.js';
import { buildProgram } from '../src/frontend/program.js';
import type { GraphBuilder } from '../src/frontend/builder.js';
import { BINARY_OPS, UNARY_OPS, type Tensor } from '../src/frontend/tensor.js';
import { lowerPerOperator } from '../src/lower/per-op.js';
import { f16BitsToF32 } from '../src/runtime/f16.js';
import { loadCompiled } from '../src/runtime/loader.js';
import type { Variant } from '../src/runtime/types.js';
import { runAndCompare, useGpu } from './helpers/gpu.js';

const gpu = useGpu();

const COMBOS: ReadonlyArray<readonly [DType, Variant]> = [['f32', 'f32'], ['f16', 'f16'], ['f16', 'f32']];

/** Builds and checks a program whose inputs all have dtype `dtype`. */
function check(name: string, dtype: DType, variant: Variant, define: (g: GraphBuilder, input: (n: string, s: number[]) => Tensor) => Record<string, Tensor>, seed = 1) {
  const program = buildProgram(name, (g) => define(g, (n, s) => g.input(n, s, dtype)));
  return runAndCompare(gpu().device, program, seed, variant);
}

/** A denominator kept away from zero (exp of [-1, 1]), so division does not overflow f16. */
const safe = (g: GraphBuilder, t: Tensor): Tensor => g.exp(t);

const BROADCASTS: ReadonlyArray<readonly [string, number[], number[]]> = [
  ['same shape', [5, 7], [5, 7]],
  ['[n,1] vs [1,m]', [6, 1], [1, 9]],
  ['[m] vs [b,n,m]', [9], [2, 3, 9]],
  ['[b,n,m] vs [m]', [2, 3, 9], [9]],
  ['both broadcast', [2, 1, 9], [4, 1]],
  ['rank-0 tensor vs [n,m]', [], [3, 4]],
];

describe.each(COMBOS)('%s program, %s variant', (dtype, variant) => {
  it('unary operators and scale', async () => {
    await check('unary', dtype, variant, (g, input) => {
      const x = input('x', [7, 33]);
      const big = g.scale(x, 12); // gelu and silu far into their tails
      const unary = Object.fromEntries(UNARY_OPS.map((op) => {
        const operand = op === 'sqrt' || op === 'rsqrt' ? g.exp(x) : op === 'exp' ? x : big;
        return [op, g[op](operand)];
      }));
      return { ...unary, scaled: g.scale(x, -0.75) };
    });
  });

  it.each(BROADCASTS)('binary operators, %s', async (_, aShape, bShape) => {
    await check('binary', dtype, variant, (g, input) => {
      const a = input('a', aShape);
      const b = input('b', bShape);
      return Object.fromEntries(BINARY_OPS.map((op) => [op, g[op](a, op === 'div' ? safe(g, b) : b)]));
    });
  });

  it('binary operators with a scalar constant on either side', async () => {
    await check('scalar', dtype, variant, (g, input) => {
      const x = input('x', [4, 10]);
      return Object.fromEntries(BINARY_OPS.flatMap((op) => [
        [`${op}_right`, g[op](x, 1.5)],
        [`${op}_left`, g[op](-0.25, op === 'div' ? safe(g, x) : x)],
      ]));
    });
  });

  it('reductions over every dim, with and without keepdim', async () => {
    // Rows of 37 and 45 take the workgroup-per-row path, rows of 6 the invocation-per-row one.
    await check('reduce', dtype, variant, (g, input) => {
      const x = input('x', [37, 6, 45]);
      const long = input('long', [3, 2, 600]);
      const outputs: Record<string, Tensor> = { long_sum: g.sum(long, -1), long_max: g.max(long, 2, { keepdim: true }) };
      for (const fn of ['sum', 'max', 'mean'] as const) {
        for (const dim of [0, 1, 2]) {
          for (const keepdim of [false, true]) outputs[`${fn}${dim}${keepdim ? 'k' : ''}`] = g[fn](x, dim, { keepdim });
        }
      }
      return outputs;
    });
  });

  it('matmul: tiled, skinny, batched and batch-broadcast shapes', async () => {
    const shapes: ReadonlyArray<readonly [string, number[], number[]]> = [
      ['ragged', [70, 45], [45, 67]],
      ['multiples', [64, 32], [32, 128]],
      ['gemv', [1, 130], [130, 300]],
      ['m3', [3, 70], [70, 5]],
      ['m8_multiples', [8, 128], [128, 256]],
      ['batched', [3, 17, 20], [3, 20, 19]],
      ['batch_broadcast', [2, 1, 9, 20], [3, 20, 11]],
      ['skinny_broadcast', [4, 3, 20], [20, 5]],
      ['b_batched', [12, 20], [2, 20, 7]],
    ];
    await check('matmul', dtype, variant, (g, input) =>
      Object.fromEntries(shapes.map(([name, a, b]) => [name, g.matmul(input(`${name}_a`, a), input(`${name}_b`, b))])));
  });

  it('transpose (rank 3 and 4) and concat (each dim)', async () => {
    await check('layout', dtype, variant, (g, input) => {
      const x = input('x', [3, 4, 5]);
      const y = input('y', [2, 3, 4, 5]);
      const transposes = [[0, 2, 1], [2, 0, 1], [1, 2, 0], [2, 1, 0]].map((perm) => [`t${perm.join('')}`, g.transpose(x, perm)]);
      const concats = [0, 1, 2].map((dim) => {
        const shape = (extra: number) => [3, 4, 5].map((s, d) => (d === dim ? extra : s));
        return [`cat${dim}`, g.concat([x, input(`p${dim}`, shape(2)), input(`q${dim}`, shape(1))], dim)];
      });
      return {
        ...Object.fromEntries([...transposes, ...concats]),
        t0213: g.transpose(y, [0, 2, 1, 3]),
        t3210: g.transpose(y, [3, 2, 1, 0]),
        tLast: g.transpose(y),
        catNeg: g.concat([y, y], -1),
      };
    });
  });

  it('composites: rmsNorm then matmul, softmax, mean', async () => {
    await check('composite', dtype, variant, (g, input) => {
      const x = input('x', [6, 96]);
      const w = input('w', [96, 40]);
      const gamma = input('gamma', [96]);
      return {
        y: g.matmul(g.rmsNorm(x, { weight: gamma }), w),
        p: g.softmax(g.scale(x, 4)),
        p0: g.softmax(x, 0),
        m: g.mean(x, -1),
      };
    });
  });
});

describe('aliasing and buffer plan', () => {
  it('reshape aliases; outputs that are inputs or repeated get their own buffers', async () => {
    const program = buildProgram('alias', (g) => {
      const x = g.input('x', [4, 6]);
      const e = g.exp(g.reshape(x, [6, 4]));
      return { input: x, reshapedInput: g.reshape(x, [24]), e, again: e, reshaped: g.reshape(e, [2, 12]), sum: g.sum(g.reshape(e, [24]), 0) };
    });
    const compiled = lowerPerOperator(program);
    const buffers = compiled.outputs.map((o) => o.buffer);
    expect(new Set(buffers).size).toBe(buffers.length);
    expect(buffers).not.toContain(compiled.inputs[0]!.buffer);
    // exp, sum and four copies (input, reshaped input, again, reshaped): reshape itself costs nothing.
    expect(compiled.dispatches).toHaveLength(6);
    const { outputs } = await runAndCompare(gpu().device, program, 3, 'f32');
    expect(outputs.again).toEqual(outputs.e);
  });

  it('reuses an intermediate buffer once its last reader has run', () => {
    const program = buildProgram('chain', (g) => {
      const x = g.input('x', [256]);
      let t = x;
      for (let i = 0; i < 6; i++) t = g.exp(t);
      return { y: t };
    });
    const compiled = lowerPerOperator(program);
    // input, output, and two intermediates ping-ponging.
    expect(compiled.buffers).toHaveLength(4);
    expect(compiled.variants).toEqual(['f32']);
  });

  it('a program with f16 tensors has both variants, f16 first', () => {
    const program = buildProgram('v', (g) => ({ y: g.exp(g.input('x', [3], 'f16')) }));
    const compiled = lowerPerOperator(program);
    expect(compiled.variants).toEqual(['f16', 'f32']);
    expect(compiled.kernels[0]!.wgsl.f16).toContain('enable f16;');
    expect(compiled.kernels[0]!.wgsl.f32).not.toContain('f16');
  });
});

describe('grids over 65535 workgroups', () => {
  it('an elementwise kernel over 65536 x 256 + 1 elements', async () => {
    // f16 bits in (no encoding) and exact products (x2 is exact in f16) keep the 16.7M elements cheap on the CPU.
    const n = 65536 * 256 + 1;
    const program = buildProgram('wide', (g) => ({ y: g.mul(g.input('x', [n], 'f16'), 2) }));
    const compiled = lowerPerOperator(program);
    expect(compiled.dispatches[0]!.workgroups).toEqual([65535, 2, 1]);
    const bits = new Uint16Array(n);
    for (let i = 0; i < n; i++) bits[i] = 0x3c00 | (i * 7919) % 1024; // [1, 2) in f16
    bits[n - 1] = 0x4000; // 2: the one element past 65536 x 256
    const loaded = await loadCompiled(compiled, gpu().device, { variant: 'f16' });
    const { y } = await loaded.run({ x: bits });
    loaded.destroy();
    let wrong = 0;
    for (let i = 0; i < n; i++) if (y![i] !== 2 * f16BitsToF32(bits[i]!)) wrong++;
    expect(wrong).toBe(0);
    expect(y![n - 1]).toBe(4);
  });

  it('a reduction with more rows than 65535 (one workgroup per row)', async () => {
    const program = buildProgram('rows', (g) => ({ y: g.sum(g.input('x', [70001, 33]), 1) }));
    expect(lowerPerOperator(program).dispatches[0]!.workgroups).toEqual([65535, 2, 1]);
    await runAndCompare(gpu().device, program, 6, 'f32');
  });
});
