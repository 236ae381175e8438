/**
 * The runtime loader on the GPU: variant choice and forcing, input validation, f16 bit
 * inputs, encode() on caller-owned buffers, shader compile-error reports, destroy(), and
 * the loader's promise of no dependencies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/frontend/program.js';
import { createNodeDevice } from '../src/gpu/node-device.js';
import { lowerPerOperator } from '../src/lower/per-op.js';
import { encodeF16 } from '../src/runtime/f16.js';
import { bufferByteSize, loadCompiled } from '../src/runtime/index.js';
import type { CompiledProgram } from '../src/runtime/types.js';
import { useGpu } from './helpers/gpu.js';

const gpu = useGpu();

const half = buildProgram('half', (g) => {
  const x = g.input('x', [3, 5], 'f16');
  const b = g.input('b', [5], 'f16');
  return { y: g.add(g.scale(x, 2), b), s: g.sum(x, 0) };
});
const inputs = { x: Float32Array.from({ length: 15 }, (_, i) => i / 4 - 1), b: Float32Array.from([0.5, -1, 2, 0, 0.25]) };
const expectedY = Array.from({ length: 15 }, (_, i) => 2 * inputs.x[i]! + inputs.b[i % 5]!);

describe('variants', () => {
  it('picks f16 where the device has shader-f16, and f32 when forced', async () => {
    const compiled = lowerPerOperator(half);
    const f16 = await loadCompiled(compiled, gpu().device);
    const f32 = await loadCompiled(compiled, gpu().device, { variant: 'f32' });
    expect([f16.variant, f32.variant]).toEqual(['f16', 'f32']);
    for (const loaded of [f16, f32]) {
      const { y } = await loaded.run(inputs);
      expect(Array.from(y!)).toEqual(expectedY); // all values are exact in f16
      loaded.destroy();
    }
  });

  it('refuses f16 on a device without shader-f16, and a variant the program lacks', async () => {
    const plain = await createNodeDevice({ features: [] });
    try {
      await expect(loadCompiled(lowerPerOperator(half), plain.device, { variant: 'f16' })).rejects.toThrow(/shader-f16/);
      expect((await loadCompiled(lowerPerOperator(half), plain.device)).variant).toBe('f32');
    } finally {
      plain.destroy();
    }
    const single = buildProgram('single', (g) => ({ y: g.exp(g.input('x', [2])) }));
    await expect(loadCompiled(lowerPerOperator(single), gpu().device, { variant: 'f16' })).rejects.toThrow(/no f16 variant/);
  });

  it('takes f16 bit patterns (Uint16Array) in both variants', async () => {
    for (const variant of ['f16', 'f32'] as const) {
      const loaded = await loadCompiled(lowerPerOperator(half), gpu().device, { variant });
      const { y } = await loaded.run({ x: encodeF16(inputs.x), b: encodeF16(inputs.b) });
      expect(Array.from(y!)).toEqual(expectedY);
      loaded.destroy();
    }
  });
});

describe('run() input validation', () => {
  it('names missing, unknown and wrongly sized inputs', async () => {
    const loaded = await loadCompiled(lowerPerOperator(half), gpu().device);
    await expect(loaded.run({ x: inputs.x })).rejects.toThrow(/missing "b"/);
    await expect(loaded.run({ ...inputs, z: inputs.b })).rejects.toThrow(/unknown "z"/);
    await expect(loaded.run({ ...inputs, x: new Float32Array(14) })).rejects.toThrow(/"x" needs 15 elements \(shape \[3, 5\]\), got 14/);
    const f32 = await loadCompiled(lowerPerOperator(buildProgram('f', (g) => ({ y: g.exp(g.input('x', [2])) }))), gpu().device);
    await expect(f32.run({ x: new Uint16Array(2) })).rejects.toThrow(/"x" is f32/);
    loaded.destroy();
    await expect(loaded.run(inputs)).rejects.toThrow(/destroyed/);
    f32.destroy();
  });
});

describe('encode()', () => {
  it('runs on caller-owned buffers without copies, matching run()', async () => {
    const { device } = gpu();
    const loaded = await loadCompiled(lowerPerOperator(half), device);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const make = (elements: number) => device.createBuffer({ size: bufferByteSize('f16', elements, 'f16'), usage });
    const [x, b, y, s] = [make(15), make(5), make(15), make(5)] as const;
    // f16 data padded to a multiple of 4 bytes, as writeBuffer requires.
    const upload = (buffer: GPUBuffer, values: ArrayLike<number>) =>
      device.queue.writeBuffer(buffer, 0, new Uint16Array([...encodeF16(values), ...(values.length % 2 ? [0] : [])]));
    upload(x, inputs.x);
    upload(b, inputs.b);
    const read = device.createBuffer({ size: y.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    loaded.encode(encoder, { x, b }, { y, s });
    encoder.copyBufferToBuffer(y, 0, read, 0, y.size);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Uint16Array(read.getMappedRange().slice(0), 0, 15);
    read.unmap();
    expect(Array.from(got)).toEqual(Array.from(encodeF16(expectedY)));
    expect(() => loaded.encode(device.createCommandEncoder(), { x }, { y, s })).toThrow(/missing "b"/);
    expect(() => loaded.encode(device.createCommandEncoder(), { x: b, b }, { y, s })).toThrow(/"x" needs 32 bytes/);
    [x, b, y, s, read].forEach((buffer) => buffer.destroy());
    loaded.destroy();
  });

  it('reuses its bind groups while the caller passes the same buffers, and binds new ones when they change', async () => {
    const { device } = gpu();
    let created = 0;
    // The device as the loader sees it, counting the bind groups it creates.
    const counting = new Proxy(device, {
      get(target, prop) {
        if (prop === 'createBindGroup') return (descriptor: GPUBindGroupDescriptor) => (created++, target.createBindGroup(descriptor));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const compiled = lowerPerOperator(half);
    const loaded = await loadCompiled(compiled, counting);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const make = (values: ArrayLike<number>) => {
      const buffer = device.createBuffer({ size: bufferByteSize('f16', values.length, 'f16'), usage });
      device.queue.writeBuffer(buffer, 0, new Uint16Array([...encodeF16(values), ...(values.length % 2 ? [0] : [])]));
      return buffer;
    };
    const x2Values = Array.from(inputs.x, (v) => -v);
    const [x, x2, b] = [make(inputs.x), make(x2Values), make(inputs.b)];
    const [y, s] = [make(new Float32Array(15)), make(new Float32Array(5))];
    const yOf = async (xBuffer: GPUBuffer) => {
      const read = device.createBuffer({ size: y.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = device.createCommandEncoder();
      loaded.encode(encoder, { x: xBuffer, b }, { y, s });
      encoder.copyBufferToBuffer(y, 0, read, 0, y.size);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const got = Array.from(new Uint16Array(read.getMappedRange().slice(0), 0, 15));
      read.destroy();
      return got;
    };
    // 2x + b, exact in f16 for these values.
    const expected = (xValues: ArrayLike<number>) => Array.from(encodeF16(Array.from(xValues, (v, i) => 2 * v + inputs.b[i % 5]!)));
    expect(await yOf(x)).toEqual(expected(inputs.x));
    const perCall = created;
    expect(perCall).toBe(compiled.dispatches.length);
    expect(await yOf(x)).toEqual(expected(inputs.x));
    expect(created).toBe(perCall);
    // Another input buffer: new groups, and the result follows it.
    expect(await yOf(x2)).toEqual(expected(x2Values));
    expect(created).toBe(2 * perCall);
    expect(await yOf(x)).toEqual(expected(inputs.x));
    [x, x2, b, y, s].forEach((buffer) => buffer.destroy());
    loaded.destroy();
  });
});

describe('shader compile errors', () => {
  it('report the kernel, the compiler message and the numbered source', async () => {
    const broken: CompiledProgram = {
      schema: 1,
      name: 'broken',
      variants: ['f32'],
      inputs: [{ name: 'x', shape: [4], dtype: 'f32', buffer: 0 }],
      outputs: [{ name: 'y', shape: [4], dtype: 'f32', buffer: 1 }],
      buffers: [{ elements: 4, dtype: 'f32' }, { elements: 4, dtype: 'f32' }],
      kernels: [{
        name: 'oops',
        bindings: ['read', 'read_write'],
        wgsl: {
          f32: [
            '@group(0) @binding(0) var<storage, read> x: array<f32>;',
            '@group(0) @binding(1) var<storage, read_write> y: array<f32>;',
            '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {',
            '  y[id.x] = x[id.x] + undefined_thing;',
            '}',
          ].join('\n'),
        },
      }],
      dispatches: [{ kernel: 0, buffers: [0, 1], workgroups: [1, 1, 1] }],
    };
    const error = await loadCompiled(broken, gpu().device).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/kernel "oops" \(program "broken"\) does not compile/);
    expect(error?.message).toMatch(/error at line 4:\d+: .*undefined_thing/);
    expect(error?.message).toContain('4 |   y[id.x] = x[id.x] + undefined_thing;');
  });
});

describe('the runtime module', () => {
  it('imports nothing outside src/runtime/, and no GPU global at import time', () => {
    const dir = new URL('../src/runtime/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('loader.ts');
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const specifier of imports) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
        expect(files, `${file} imports ${specifier}`).toContain(specifier.slice(2).replace(/\.js$/, '.ts'));
      }
      expect(source, file).not.toMatch(/\b(navigator|GPUBufferUsage|GPUMapMode|GPUShaderStage)\./);
    }
  });
});

describe('device requirements', () => {
  it('refuses a program whose kernels assume subgroups the device lacks, before building pipelines', async () => {
    const compiled: CompiledProgram = { ...lowerPerOperator(half), requires: { features: ['subgroups'], subgroupMinSize: 8 } };
    const plain = await createNodeDevice({ features: [] });
    try {
      // The adapter's subgroups are wide enough; the device was not given the feature.
      await expect(loadCompiled(compiled, plain.device)).rejects.toThrow(/program "half" needs feature 'subgroups'; request the features in requestDevice/);
    } finally {
      plain.destroy();
    }
    // A device with narrower subgroups (checked before the device is otherwise touched).
    const narrow = { features: new Set(['subgroups']), adapterInfo: { subgroupMinSize: 4 } } as unknown as GPUDevice;
    await expect(loadCompiled(compiled, narrow)).rejects.toThrow(/needs subgroups of at least 8 invocations \(device: 4\)/);
    // The shared test device has them on lavapipe (subgroups of 8).
    expect((await loadCompiled(compiled, gpu().device)).variant).toBe('f16');
  });
});

describe('device limits', () => {
  it('refuses a program whose buffers exceed the device binding size, naming the tensor', async () => {
    // 2^26 f32 elements = 256 MiB: over the 128 MiB default binding limit. Never allocated.
    const big = buildProgram('big', (g) => ({ y: g.relu(g.input('x', [4, 4096, 4096])) }));
    const limit = gpu().device.limits.maxStorageBufferBindingSize;
    expect(limit).toBeLessThan(2 ** 28);
    await expect(loadCompiled(lowerPerOperator(big), gpu().device)).rejects.toThrow(/needs a 268435456-byte buffer for "x"/);
  });
});
