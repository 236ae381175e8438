/**
 * The runtime loader's checks of what callers hand it (regressions from an adversarial
 * review): typed arrays on SharedArrayBuffers (which crashed Dawn's writeBuffer), GPUBuffers
 * that encode() cannot use (no STORAGE usage, destroyed, from another GPUDevice), inputs
 * that are not objects, and input names looked up as own properties only (`constructor`,
 * `__proto__`, names on the prototype).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/frontend/program.js';
import { createNodeDevice } from '../src/gpu/node-device.js';
import { lowerPerOperator } from '../src/lower/per-op.js';
import { encodeF16 } from '../src/runtime/f16.js';
import { bufferByteSize, loadCompiled } from '../src/runtime/index.js';
import type { LoadedProgram, TensorData } from '../src/runtime/types.js';
import { tensorProgram } from '../src/tensor-program.js';
import { useGpu } from './helpers/gpu.js';

const gpu = useGpu();

/** Validation errors nobody captured: a correct call raises none. */
const uncaptured: string[] = [];
beforeAll(() => {
  gpu().device.addEventListener('uncapturederror', (event) => uncaptured.push((event as GPUUncapturedErrorEvent).error.message));
});
afterEach(() => {
  uncaptured.length = 0;
});

const half = buildProgram('half', (g) => {
  const x = g.input('x', [3, 5], 'f16');
  const b = g.input('b', [5], 'f16');
  return { y: g.add(g.scale(x, 2), b), s: g.sum(x, 0) };
});
const xValues = Float32Array.from({ length: 15 }, (_, i) => i / 4 - 1);
const bValues = Float32Array.from([0.5, -1, 2, 0, 0.25]);
/** 2x + b: exact in f16 for these values. */
const expectedY = Array.from({ length: 15 }, (_, i) => 2 * xValues[i]! + bValues[i % 5]!);

const single = buildProgram('single', (g) => ({ y: g.add(g.scale(g.input('x', [6]), 2), 1) }));

/** A copy of `values` in a typed array of type `Type` on a SharedArrayBuffer, at byte offset `offset`. */
function shared<T extends Float32Array | Uint16Array>(Type: { new (buffer: SharedArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, values: ArrayLike<number>, offset = 0): T {
  const array = new Type(new SharedArrayBuffer(offset + values.length * Type.BYTES_PER_ELEMENT + 8), offset, values.length);
  for (let i = 0; i < values.length; i++) array[i] = values[i]!;
  return array;
}

describe('run() with typed arrays on a SharedArrayBuffer', () => {
  // Dawn's writeBuffer segfaulted the process on views of shared memory; run() now copies them.
  it('uploads f32 data from shared memory, at an offset too', async () => {
    const loaded = await loadCompiled(lowerPerOperator(single), gpu().device);
    const x = [1, -2, 0.5, 3, -0.25, 8];
    for (const offset of [0, 8]) {
      const { y } = await loaded.run({ x: shared(Float32Array, x, offset) });
      expect(Array.from(y!)).toEqual(x.map((v) => 2 * v + 1));
    }
    loaded.destroy();
  });

  it('uploads f16 bits and f32 values from shared memory in both variants', async () => {
    for (const variant of ['f16', 'f32'] as const) {
      const loaded = await loadCompiled(lowerPerOperator(half), gpu().device, { variant });
      const asBits = await loaded.run({ x: shared(Uint16Array, encodeF16(xValues), 2), b: shared(Uint16Array, encodeF16(bValues)) });
      expect(Array.from(asBits.y!), variant).toEqual(expectedY);
      const asFloats = await loaded.run({ x: shared(Float32Array, xValues), b: shared(Float32Array, bValues, 4) });
      expect(Array.from(asFloats.y!), variant).toEqual(expectedY);
      loaded.destroy();
    }
    expect(uncaptured).toEqual([]);
  });
});

describe('run() inputs', () => {
  let loaded: LoadedProgram;
  beforeAll(async () => {
    loaded = await loadCompiled(lowerPerOperator(half), gpu().device);
  });

  it('must be an object of typed arrays keyed by input name', async () => {
    const run = (inputs: unknown) => loaded.run(inputs as Record<string, TensorData>);
    for (const [value, got] of [[null, 'null'], [undefined, 'undefined'], [42, 'a number'], ['x', 'a string'], [[xValues, bValues], 'an array'], [xValues, 'a Float32Array']] as const) {
      await expect(run(value), String(got)).rejects.toThrow(new RegExp(`^mugraph: half\\.run: inputs must be an object of typed arrays keyed by input name \\(x, b\\), got ${got}$`));
    }
  });

  it('are looked up as own properties only', async () => {
    // Names on the prototype are not given.
    await expect(loaded.run({ __proto__: { x: xValues, b: bValues } } as unknown as Record<string, TensorData>))
      .rejects.toThrow(/^mugraph: half\.run: inputs missing "x", "b" \(expected inputs: x, b\)$/);
    await expect(loaded.run(Object.assign(Object.create({ b: bValues }) as object, { x: xValues })))
      .rejects.toThrow(/missing "b"/);
    // A prototype-less object is fine.
    const bare = Object.assign(Object.create(null) as Record<string, TensorData>, { x: xValues, b: bValues });
    expect(Array.from((await loaded.run(bare)).y!)).toEqual(expectedY);
  });

  it('named constructor or __proto__ work when given and are missing when not', async () => {
    const named = buildProgram('named', (g) => {
      const c = g.input('constructor', [4]);
      const p = g.input('p', [4]);
      return { y: g.sub(c, p) };
    });
    // The DSL reserves `__proto__`; a compiled program from elsewhere may still use it.
    const compiled = lowerPerOperator(named);
    const program = await loadCompiled({ ...compiled, inputs: compiled.inputs.map((t) => (t.name === 'p' ? { ...t, name: '__proto__' } : t)) }, gpu().device);
    const c = Float32Array.from([1, 2, 3, 4]);
    const p = Float32Array.from([0.5, 0.5, 1, 8]);
    // `__proto__` as a computed key is an own data property.
    const both = { constructor: c, ['__proto__']: p };
    expect(Array.from((await program.run(both)).y!)).toEqual([0.5, 1.5, 2, -4]);
    await expect(program.run({ ['__proto__']: p })).rejects.toThrow(/^mugraph: named\.run: inputs missing "constructor" \(expected inputs: constructor, __proto__\)$/);
    await expect(program.run({ constructor: c })).rejects.toThrow(/^mugraph: named\.run: inputs missing "__proto__" \(/);
    await expect(program.run({})).rejects.toThrow(/missing "constructor", "__proto__"/);
    // A literal `__proto__:` sets the prototype instead: not an input.
    await expect(program.run({ constructor: c, __proto__: p } as unknown as Record<string, TensorData>)).rejects.toThrow(/missing "__proto__"/);
    program.destroy();
  });

  it('of the wrong type are refused by name', async () => {
    for (const x of [new Float64Array(15), Array.from(xValues), new Int16Array(15), new DataView(new ArrayBuffer(30))]) {
      await expect(loaded.run({ x: x as unknown as Float32Array, b: bValues })).rejects.toThrow(/^mugraph: half\.run: input "x" must be a Float32Array or a Uint16Array of f16 bits$/);
    }
    await expect(loaded.run({ x: xValues, b: undefined as unknown as Float32Array })).rejects.toThrow(/missing "b"/);
    await expect(loaded.run({ x: xValues, b: null as unknown as Float32Array })).rejects.toThrow(/input "b" must be a Float32Array/);
  });
});

describe('loading', () => {
  it('needs a compiled program and a GPUDevice', async () => {
    const compiled = lowerPerOperator(half);
    const device = gpu().device;
    for (const [value, got] of [[null, 'null'], [undefined, 'undefined'], [{}, 'an object'], [7, 'a number']] as const) {
      await expect(loadCompiled(compiled, value as unknown as GPUDevice), got).rejects.toThrow(new RegExp(`^mugraph: loading program "half": device must be a GPUDevice, got ${got}$`));
    }
    // The adapter has features and limits, but is not a device.
    await expect(loadCompiled(compiled, gpu().adapter as unknown as GPUDevice)).rejects.toThrow(/^mugraph: loading program "half": device must be a GPUDevice, got a GPUAdapter$/);
    await expect(tensorProgram('tp', (g) => ({ y: g.exp(g.input('x', [2])) })).load(null as unknown as GPUDevice))
      .rejects.toThrow(/^mugraph: loading program "tp": device must be a GPUDevice, got null$/);
    await expect(loadCompiled(null as never, device)).rejects.toThrow(/^mugraph: loadCompiled needs a compiled program \(an object with schema 1\), got null$/);
    await expect(loadCompiled(compiled, device, null as never)).rejects.toThrow(/^mugraph: loading program "half": options must be an object, got null$/);
  });
});

describe('encode() buffers', () => {
  let loaded: LoadedProgram;
  const usage = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
  const sizeOf = (elements: number) => bufferByteSize('f16', elements, 'f16');
  const make = (elements: number, bufferUsage = usage) => gpu().device.createBuffer({ size: sizeOf(elements), usage: bufferUsage });
  const upload = (buffer: GPUBuffer, values: ArrayLike<number>) =>
    gpu().device.queue.writeBuffer(buffer, 0, new Uint16Array([...encodeF16(values), ...(values.length % 2 ? [0] : [])]));
  /** Buffers for half's x, b, y, s, with x and b uploaded. */
  const buffers = () => {
    const [x, b, y, s] = [make(15), make(5), make(15), make(5)] as const;
    upload(x, xValues);
    upload(b, bValues);
    return { x, b, y, s };
  };
  const readY = async (y: GPUBuffer, encoder: GPUCommandEncoder) => {
    const device = gpu().device;
    const read = device.createBuffer({ size: y.size, usage: 0x1 | 0x8 });
    encoder.copyBufferToBuffer(y, 0, read, 0, y.size);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(0x1);
    const got = Array.from(new Uint16Array(read.getMappedRange().slice(0), 0, 15));
    read.destroy();
    return got;
  };

  beforeAll(async () => {
    loaded = await loadCompiled(lowerPerOperator(half), gpu().device, { variant: 'f16' });
  });

  it('needs objects of buffers and an encoder', () => {
    const { x, b, y, s } = buffers();
    const encoder = gpu().device.createCommandEncoder();
    expect(() => loaded.encode(encoder, null as never, { y, s })).toThrow(/^mugraph: half\.encode: inputs must be an object of GPUBuffers keyed by input name \(x, b\), got null$/);
    expect(() => loaded.encode(encoder, { x, b }, undefined as never)).toThrow(/^mugraph: half\.encode: outputs must be an object of GPUBuffers keyed by output name \(y, s\), got undefined$/);
    expect(() => loaded.encode(null as never, { x, b }, { y, s })).toThrow(/^mugraph: half\.encode: the encoder must be a GPUCommandEncoder, got null$/);
    expect(() => loaded.encode(encoder, { x: new Float32Array(8) as never, b }, { y, s })).toThrow(/^mugraph: half\.encode: input "x" must be a GPUBuffer, got a Float32Array$/);
    expect(() => loaded.encode(encoder, { __proto__: { x }, b } as never, { y, s })).toThrow(/inputs missing "x"/);
    // Looks like a buffer (size and usage) but is not one: the WebGPU binding's own error, with context.
    expect(() => loaded.encode(encoder, { x: { size: 64, usage: usage } as never, b }, { y, s })).toThrow(/^mugraph: half\.encode: the buffers could not be bound: ./);
    [x, b, y, s].forEach((buffer) => buffer.destroy());
  });

  it('refuses a buffer without STORAGE usage, naming it, before recording anything', () => {
    const { x, b, y, s } = buffers();
    const device = gpu().device;
    const copyOnly = make(15, 0x4 | 0x8);
    expect(() => loaded.encode(device.createCommandEncoder(), { x: copyOnly, b }, { y, s }))
      .toThrow(/^mugraph: half\.encode: input "x" lacks STORAGE usage \(its usage is 0xc\); create it with the STORAGE usage flag \(0x80\)$/);
    expect(() => loaded.encode(device.createCommandEncoder(), { x, b }, { y: copyOnly, s }))
      .toThrow(/^mugraph: half\.encode: output "y" lacks STORAGE usage/);
    [x, b, y, s, copyOnly].forEach((buffer) => buffer.destroy());
    expect(uncaptured).toEqual([]);
  });

  it('reports a buffer of another GPUDevice through its promise, and throws on the next call', async () => {
    const other = await createNodeDevice();
    try {
      const { x, b, y, s } = buffers();
      const foreign = other.device.createBuffer({ size: sizeOf(15), usage });
      const pattern = /^mugraph: half\.encode: input "x" cannot be used on this program's device: it belongs to another GPUDevice, or is an invalid buffer \(the device says: .+\)$/s;
      await expect(loaded.encode(gpu().device.createCommandEncoder(), { x: foreign, b }, { y, s })).rejects.toThrow(pattern);
      expect(() => loaded.encode(gpu().device.createCommandEncoder(), { x: foreign, b }, { y, s })).toThrow(pattern);
      // The same program still works on good buffers.
      const encoder = gpu().device.createCommandEncoder();
      await loaded.encode(encoder, { x, b }, { y, s });
      expect(await readY(y, encoder)).toEqual(Array.from(encodeF16(expectedY)));
      [x, b, y, s].forEach((buffer) => buffer.destroy());
      foreign.destroy();
    } finally {
      other.destroy();
    }
  });

  it('reports a buffer destroyed before encode() first saw it through its promise, and throws on the next call', async () => {
    const { x, b, y, s } = buffers();
    const dead = make(15);
    dead.destroy();
    const pattern = /^mugraph: half\.encode: output "y" was destroyed \(the device says: .+\)$/s;
    await expect(loaded.encode(gpu().device.createCommandEncoder(), { x, b }, { y: dead, s })).rejects.toThrow(pattern);
    expect(() => loaded.encode(gpu().device.createCommandEncoder(), { x, b }, { y: dead, s })).toThrow(pattern);
    [x, b, y, s].forEach((buffer) => buffer.destroy());
  });

  it('binds only the bytes a tensor needs, so a larger buffer of any size works', async () => {
    const device = gpu().device;
    const { x, y, s } = buffers();
    // b needs 12 bytes (5 f16, padded); 14 is not a multiple of 4, which a whole-buffer storage binding must be.
    const b = device.createBuffer({ size: 14, usage });
    upload(b, bValues);
    const encoder = device.createCommandEncoder();
    const checked = loaded.encode(encoder, { x, b }, { y, s });
    expect(await readY(y, encoder)).toEqual(Array.from(encodeF16(expectedY)));
    await expect(checked).resolves.toBeUndefined();
    [x, b, y, s].forEach((buffer) => buffer.destroy());
    expect(uncaptured).toEqual([]);
  });

  it('resolves for good buffers, including one still mapped at creation that is unmapped before the submit', async () => {
    const device = gpu().device;
    const { b, y, s } = buffers();
    const x = device.createBuffer({ size: sizeOf(15), usage, mappedAtCreation: true });
    new Uint16Array(x.getMappedRange()).set(encodeF16(xValues));
    const encoder = device.createCommandEncoder();
    const checked = loaded.encode(encoder, { x, b }, { y, s });
    x.unmap();
    expect(await readY(y, encoder)).toEqual(Array.from(encodeF16(expectedY)));
    await expect(checked).resolves.toBeUndefined();
    // Checked buffers are not checked again: the next call's promise is already settled.
    const again = device.createCommandEncoder();
    await expect(loaded.encode(again, { x, b }, { y, s })).resolves.toBeUndefined();
    expect(await readY(y, again)).toEqual(Array.from(encodeF16(expectedY)));
    [x, b, y, s].forEach((buffer) => buffer.destroy());
    expect(uncaptured).toEqual([]);
  });
});
