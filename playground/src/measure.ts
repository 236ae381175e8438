/**
 * Running an implementation in the browser: the WebGPU device, seeded inputs, the float64
 * reference (computed once per program and variant), one checked run through `run()`,
 * then the median time of up to 7 dispatches (fewer past a 2 s budget) through the
 * zero-copy `encode()` path on buffers uploaded once, so the time is the kernels' (plus
 * submission), not the copies'.
 */
import type { LoadedProgram, Program, Variant } from 'mugraph';
import { compareToReference, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { encodeF16 } from '../../src/runtime/f16.js';
import { bufferByteSize, storageType } from '../../src/runtime/loader.js';

/** Seed of the random inputs, as in the test suite. */
export const SEED = 1;
/** Timed dispatches after the checked run (which also warms the pipelines): at most this many... */
export const TIMED_RUNS = 7;
/** ...and no more once they have taken this long (full shapes on a software adapter take seconds each). */
export const TIME_BUDGET_MS = 2000;

export interface Measurement {
  readonly variant: Variant;
  /** Median wall-clock milliseconds from submit to onSubmittedWorkDone. */
  readonly medianMs: number;
  readonly runs: number;
  /** The largest relative L2 error over the outputs, and the variant's tolerance. */
  readonly relL2Error: number;
  readonly tolerance: number;
  readonly pass: boolean;
}

export async function requestDevice(): Promise<GPUDevice> {
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU is present but gave no adapter');
  // f16 variants, and the subgroup broadcast of the attention μGraphs, where the adapter has them.
  const requiredFeatures = (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const limits = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures,
    // The full-shape programs bind buffers of up to 100 MB; ask for what the adapter allows.
    requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
  });
}

/** Inputs and reference outputs of one program, shared by its implementations. */
export class ProgramCase {
  readonly inputs: Record<string, Float32Array>;
  private readonly expected = new Map<Variant, Record<string, Float64Array>>();

  constructor(readonly program: Program) {
    this.inputs = randomInputs(program, SEED);
  }

  reference(variant: Variant): Record<string, Float64Array> {
    let outputs = this.expected.get(variant);
    if (!outputs) {
      outputs = evaluateReference(this.program, roundInputsForVariant(this.inputs, this.program, variant));
      this.expected.set(variant, outputs);
    }
    return outputs;
  }
}

export async function measure(loaded: LoadedProgram, testCase: ProgramCase, device: GPUDevice): Promise<Measurement> {
  const variant = loaded.variant;
  const outputs = await loaded.run(testCase.inputs);
  const expected = testCase.reference(variant);
  const comparisons = loaded.outputs.map((t) => compareToReference(outputs[t.name]!, expected[t.name]!, variant));
  const times = await timeDispatches(loaded, testCase, device);
  return {
    variant,
    medianMs: median(times),
    runs: times.length,
    relL2Error: Math.max(...comparisons.map((c) => c.relL2Error)),
    tolerance: comparisons[0]!.tolerance,
    pass: comparisons.every((c) => c.pass),
  };
}

async function timeDispatches(loaded: LoadedProgram, testCase: ProgramCase, device: GPUDevice): Promise<number[]> {
  const variant = loaded.variant;
  const created: GPUBuffer[] = [];
  const buffer = (elements: number, dtype: 'f16' | 'f32', usage: number) => {
    const b = device.createBuffer({ size: bufferByteSize(variant, elements, dtype), usage });
    created.push(b);
    return b;
  };
  try {
    const inputs = Object.fromEntries(loaded.inputs.map((t) => {
      const data = testCase.inputs[t.name]!;
      const b = buffer(data.length, t.dtype, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(b, 0, storageBytes(data, storageType(variant, t.dtype)));
      return [t.name, b];
    }));
    const outputs = Object.fromEntries(loaded.outputs.map((t) =>
      [t.name, buffer(t.shape.reduce((p, d) => p * d, 1), t.dtype, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC)]));
    await device.queue.onSubmittedWorkDone();
    const times: number[] = [];
    while (times.length < TIMED_RUNS && (times.length === 0 || sum(times) < TIME_BUDGET_MS)) {
      const start = performance.now();
      const encoder = device.createCommandEncoder();
      loaded.encode(encoder, inputs, outputs);
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      times.push(performance.now() - start);
    }
    return times;
  } finally {
    created.forEach((b) => b.destroy());
  }
}

/** The bytes of `data` as the buffer stores them, padded to a multiple of 4. */
function storageBytes(data: Float32Array, type: 'f16' | 'f32'): Uint8Array<ArrayBuffer> {
  const typed = type === 'f16' ? encodeF16(data) : data;
  const bytes = new Uint8Array(Math.ceil(typed.byteLength / 4) * 4);
  bytes.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  return bytes;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
