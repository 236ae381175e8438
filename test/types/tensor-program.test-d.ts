/**
 * The types an app sees for a tensor program, checked by `vitest --typecheck` (nothing here
 * runs). Each `@ts-expect-error` line is a misuse the types exist to catch: if it ever
 * type-checks, the directive is unused and the check fails. Imports are `mugraph`'s, as an app
 * writes them.
 */
import { describe, expectTypeOf, test } from 'vitest';
import {
  type GraphBuilder, type InputTag, type KernelGraph, type LoadedProgram, type ProgramInfo, type Tensor, type TensorData,
  type TensorProgram, tensorProgram, ugraphProgram,
} from 'mugraph';

declare const device: GPUDevice;
declare const encoder: GPUCommandEncoder;
declare const buffer: GPUBuffer;
declare const f32: Float32Array;
declare const f16Bits: Uint16Array;

/** The program of the README. */
const rmsnormLinear = tensorProgram('rmsnorm_linear', (g) => {
  const x = g.input('x', [16, 4096], 'f16');
  const w = g.input('w', [4096, 6144], 'f16');
  return { y: g.matmul(g.rmsNorm(x), w) };
});

/** An f32 input next to an f16 one, and two outputs. */
const mixed = tensorProgram('mixed', (g) => {
  const x = g.input('x', [4, 8], 'f16');
  const scale = g.input('scale', [8]);
  const h = g.mul(x, g.input('gate', [4, 8], 'f16'));
  return { out: g.relu(h), stats: g.mean(g.mul(g.sum(h, 0), scale), 0) };
});

describe('tensorProgram infers the inputs and outputs from the definition', () => {
  test('the README program: inputs x and w (f16), output y', () => {
    expectTypeOf(rmsnormLinear).toEqualTypeOf<TensorProgram<{ readonly x: 'f16'; readonly w: 'f16' }, 'y'>>();
  });

  test('an input declared without a dtype is f32; every returned key is an output', () => {
    expectTypeOf(mixed).toEqualTypeOf<TensorProgram<{ readonly x: 'f16'; readonly scale: 'f32'; readonly gate: 'f16' }, 'out' | 'stats'>>();
  });

  test('every operator tags its result with the inputs of all its operands', () => {
    // One expectation per call: in an array, Tensor<A> | Tensor<A | B> would reduce to Tensor<A | B>.
    type A = InputTag<'a', 'f32'>;
    type B = InputTag<'b', 'f32'>;
    const define = (g: GraphBuilder) => {
      const a = g.input('a', [4, 8]);
      const b = g.input('b', [4, 8]);
      expectTypeOf(a).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.add(a, b)).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.sub(a, b)).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.mul(a, b)).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.div(a, b)).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.matmul(a, g.transpose(b))).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.concat([a, b], 0)).toEqualTypeOf<Tensor<A | B>>();
      expectTypeOf(g.rmsNorm(a, { weight: b })).toEqualTypeOf<Tensor<A | B>>();
      // A number operand (a constant) adds no input, on either side.
      expectTypeOf(g.add(a, 1)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.sub(2, a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.mul(a, 3)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.div(4, a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.relu(g.add(a, 1))).toEqualTypeOf<Tensor<A>>(); // nor as the argument of another operator
      expectTypeOf(g.exp(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.square(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.sqrt(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.rsqrt(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.silu(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.gelu(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.relu(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.scale(a, 2)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.rmsNorm(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.softmax(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.reshape(a, [8, 4])).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.transpose(a)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.sum(a, 0)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.mean(a, 1)).toEqualTypeOf<Tensor<A>>();
      expectTypeOf(g.max(a, -1, { keepdim: true })).toEqualTypeOf<Tensor<A>>();
      return { y: g.add(a, b) };
    };
    expectTypeOf(tensorProgram('ops', define)).toEqualTypeOf<TensorProgram<{ readonly a: 'f32'; readonly b: 'f32' }, 'y'>>();
  });

  test('an input nested in another call is f32 without a dtype, as at top level', () => {
    const nested = tensorProgram('nested', (g) => ({ y: g.relu(g.input('x', [4])) }));
    expectTypeOf(nested).toEqualTypeOf<TensorProgram<{ readonly x: 'f32' }, 'y'>>();
  });

  test('a helper generic in the tags passes them on', () => {
    const gated = <I extends InputTag>(g: GraphBuilder, t: Tensor<I>) => g.mul(g.silu(t), t);
    const program = tensorProgram('helper', (g) => ({ y: gated(g, g.input('x', [4, 8], 'f16')) }));
    expectTypeOf(program).toEqualTypeOf<TensorProgram<{ readonly x: 'f16' }, 'y'>>();
  });
});

describe('run() and encode() take and give exactly the names of the program', () => {
  test('run() returns every output as a Float32Array, not `| undefined` (noUncheckedIndexedAccess is on here)', async () => {
    const k = await rmsnormLinear.load(device);
    expectTypeOf(k).toEqualTypeOf<LoadedProgram<{ readonly x: 'f16'; readonly w: 'f16' }, 'y'>>();
    const { y } = await k.run({ x: f32, w: f32 });
    expectTypeOf(y).toEqualTypeOf<Float32Array>();
    const outputs = await (await mixed.load(device)).run({ x: f32, scale: f32, gate: f32 });
    expectTypeOf(outputs).toEqualTypeOf<{ out: Float32Array; stats: Float32Array }>();
  });

  test('a missing input, an unknown input and an unknown output are errors', async () => {
    const k = await rmsnormLinear.load(device);
    // @ts-expect-error: input w is missing
    await k.run({ x: f32 });
    // @ts-expect-error: the program has no input z
    await k.run({ x: f32, w: f32, z: f32 });
    const outputs = await k.run({ x: f32, w: f32 });
    // @ts-expect-error: the program has no output nope
    void outputs.nope;
    // @ts-expect-error: nor can it be destructured
    const { nope } = await k.run({ x: f32, w: f32 });
    void nope;
  });

  test('f16 inputs take Uint16Array bit patterns, f32 inputs only Float32Array', async () => {
    const k = await mixed.load(device);
    await k.run({ x: f16Bits, scale: f32, gate: f16Bits });
    // @ts-expect-error: scale is f32, and the loader refuses a Uint16Array for it
    await k.run({ x: f32, scale: f16Bits, gate: f32 });
    // @ts-expect-error: typed arrays only
    await k.run({ x: [1, 2], scale: f32, gate: f32 });
  });

  test('encode() takes one buffer per input and per output', async () => {
    const k = await rmsnormLinear.load(device);
    expectTypeOf(k.encode(encoder, { x: buffer, w: buffer }, { y: buffer })).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error: input w has no buffer
    await k.encode(encoder, { x: buffer }, { y: buffer });
    // @ts-expect-error: output y has no buffer
    await k.encode(encoder, { x: buffer, w: buffer }, {});
    // @ts-expect-error: the program has no output z
    await k.encode(encoder, { x: buffer, w: buffer }, { y: buffer, z: buffer });
    // @ts-expect-error: buffers, not typed arrays
    await k.encode(encoder, { x: f32, w: f32 }, { y: buffer });
  });
});

describe('one type for what the plain and the built module export', () => {
  test('program is the metadata both have, not the DSL Program', () => {
    expectTypeOf(rmsnormLinear.program).toEqualTypeOf<ProgramInfo>();
    // The keys emit.ts writes into a built module (metadataLiteral): nothing else may be typed.
    expectTypeOf<keyof ProgramInfo>().toEqualTypeOf<'name' | 'hash' | 'inputSpecs' | 'outputSpecs'>();
    // @ts-expect-error: a built module's program has no DSL methods
    void rmsnormLinear.program.canonicalJSON();
  });

  test('a typed program is a TensorProgram, whose loaded program takes any names', async () => {
    const programs: TensorProgram[] = [rmsnormLinear, mixed];
    const any = await programs[0]!.load(device);
    expectTypeOf(any.run).parameter(0).toEqualTypeOf<{ readonly [name: string]: TensorData }>();
    expectTypeOf(any.run).returns.resolves.toEqualTypeOf<{ [name: string]: Float32Array }>();
  });

  test('inputs built at run time (a Record) need the untyped view, where the loader checks the names', async () => {
    const built: Record<string, Float32Array> = { x: f32, w: f32 };
    // @ts-expect-error: nothing says the record has w
    await (await rmsnormLinear.load(device)).run(built);
    const untyped: TensorProgram = rmsnormLinear;
    await (await untyped.load(device)).run(built);
  });

  test('ugraphProgram keeps the types of the program it implements', () => {
    const graph = {} as KernelGraph;
    expectTypeOf(ugraphProgram(rmsnormLinear, graph).load).returns.resolves.toEqualTypeOf<LoadedProgram<{ readonly x: 'f16'; readonly w: 'f16' }, 'y'>>();
  });
});

describe('what the types cannot know', () => {
  test('an output from a helper typed with plain Tensor admits any further input name', async () => {
    const untagged = (g: GraphBuilder, t: Tensor): Tensor => g.silu(t);
    const program = tensorProgram('untagged', (g) => ({ y: g.add(untagged(g, g.input('x', [4])), g.input('w', [4])) }));
    const k = await program.load(device);
    // w is still known (and required); x is no longer, so any name is accepted besides.
    expectTypeOf(k.run).parameter(0).toEqualTypeOf<{ readonly [name: string]: TensorData; readonly w: Float32Array }>();
  });

  test('an input no output uses is missing from the type (run() still requires it at run time)', () => {
    const program = tensorProgram('unused', (g) => {
      g.input('unused', [4]);
      return { y: g.relu(g.input('x', [4])) };
    });
    expectTypeOf(program).toEqualTypeOf<TensorProgram<{ readonly x: 'f32' }, 'y'>>();
  });
});
