/**
 * Runs one system's kernels on harness-owned GPU buffers, the same way for every system:
 * resident inputs (weights, K, V) are uploaded once; each call uploads the per-call inputs,
 * records the system's passes (with timestamp queries injected into every compute pass),
 * copies the outputs and the timestamps into one staging buffer and maps it back. Wall
 * time spans upload to read-back; kernel time spans the first pass's start to the last
 * pass's end. Decoding f16 output happens outside the timed region.
 */
import { numel } from '../src/ir/shape.js';
import { bufferByteSize, storageType } from '../src/runtime/loader.js';
import { decodeF16, encodeF16 } from '../src/runtime/f16.js';
import type { Variant } from '../src/runtime/types.js';
import type { CallTimes } from './measure.js';
import type { BenchWorkload } from './workloads.js';

/** What a system hands the harness: LoadedProgram's zero-copy half. */
export interface EncodableProgram {
  /** May return encode()'s check of new buffers; the harness binds the same buffers every time, checked at warm-up. */
  encode(encoder: GPUCommandEncoder, inputs: Readonly<Record<string, GPUBuffer>>, outputs: Readonly<Record<string, GPUBuffer>>): void | Promise<void>;
  destroy(): void;
}

const MAX_PASSES = 32;
const TIMESTAMP_BYTES = 8;
const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** Injects `timestampWrites` into each compute pass a system begins on a wrapped encoder. */
class PassTimestamps {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private passes = 0;
  /** Passes begun on the wrapped encoder, counting those past MAX_PASSES (left untimed). */
  private begun = 0;

  constructor(device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * MAX_PASSES });
    this.resolveBuffer = device.createBuffer({ size: 2 * MAX_PASSES * TIMESTAMP_BYTES, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  wrap(encoder: GPUCommandEncoder): GPUCommandEncoder {
    this.passes = 0;
    this.begun = 0;
    return new Proxy(encoder, {
      get: (target, prop) => {
        if (prop === 'beginComputePass') {
          return (descriptor?: GPUComputePassDescriptor) => target.beginComputePass({ ...descriptor, timestampWrites: this.nextWrites() });
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Records the resolve and the copy of the timestamps to `staging` at `offset`. */
  resolveInto(encoder: GPUCommandEncoder, staging: GPUBuffer, offset: number): void {
    if (this.passes === 0) return;
    encoder.resolveQuerySet(this.querySet, 0, 2 * this.passes, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, offset, 2 * this.passes * TIMESTAMP_BYTES);
  }

  /** Milliseconds from the first pass's beginning to the last pass's end, or null if unusable. */
  kernelMs(mapped: ArrayBuffer, offset: number): number | null {
    if (this.passes === 0 || this.begun > this.passes) return null;
    const stamps = new BigUint64Array(mapped, offset, 2 * this.passes);
    const begin = stamps[0]!;
    const end = stamps[2 * this.passes - 1]!;
    return begin > 0n && end > begin ? Number(end - begin) / 1e6 : null;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }

  private nextWrites(): GPUComputePassTimestampWrites | undefined {
    this.begun++;
    if (this.passes >= MAX_PASSES) return undefined;
    const index = 2 * this.passes++;
    return { querySet: this.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 };
  }
}

interface TensorSlot {
  readonly name: string;
  readonly dtype: 'f16' | 'f32';
  readonly elements: number;
  readonly buffer: GPUBuffer;
}

export class ProgramRunner {
  private readonly perCall: { slot: TensorSlot; data: UploadData }[] = [];
  private readonly inputBuffers: Record<string, GPUBuffer> = {};
  private readonly outputBuffers: Record<string, GPUBuffer> = {};
  private readonly outputs: { slot: TensorSlot; offset: number; bytes: number }[] = [];
  private readonly staging: GPUBuffer;
  private readonly timestampOffset: number;
  private readonly timestamps: PassTimestamps | undefined;
  private lastReadBack: ArrayBuffer | undefined;

  constructor(
    private readonly device: GPUDevice,
    workload: BenchWorkload,
    private readonly variant: Variant,
    private readonly program: EncodableProgram,
  ) {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const slot = (name: string, dtype: 'f16' | 'f32', shape: readonly number[]): TensorSlot => {
      const elements = numel(shape);
      const buffer = device.createBuffer({ label: name, size: bufferByteSize(variant, elements, dtype), usage });
      return { name, dtype: storageType(variant, dtype), elements, buffer };
    };
    for (const spec of workload.program.inputSpecs) {
      const s = slot(spec.name, spec.dtype, spec.shape);
      this.inputBuffers[spec.name] = s.buffer;
      const data = uploadData(workload.inputs[spec.name]!, s.dtype);
      if (workload.resident.has(spec.name)) device.queue.writeBuffer(s.buffer, 0, data);
      else this.perCall.push({ slot: s, data });
    }
    let offset = 0;
    for (const { name, tensor } of workload.program.outputs) {
      const s = slot(name, tensor.dtype, tensor.shape);
      this.outputBuffers[name] = s.buffer;
      this.outputs.push({ slot: s, offset, bytes: s.buffer.size });
      offset = align(offset + s.buffer.size, 256);
    }
    this.timestampOffset = offset;
    this.timestamps = device.features.has('timestamp-query') ? new PassTimestamps(device) : undefined;
    const size = offset + (this.timestamps ? 2 * MAX_PASSES * TIMESTAMP_BYTES : 0);
    this.staging = device.createBuffer({ label: 'bench staging', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** One timed call: upload, encode, submit, read back. */
  async runOnce(): Promise<CallTimes> {
    const start = performance.now();
    for (const { slot, data } of this.perCall) this.device.queue.writeBuffer(slot.buffer, 0, data);
    const encoder = this.device.createCommandEncoder();
    const checked = this.program.encode(this.timestamps ? this.timestamps.wrap(encoder) : encoder, this.inputBuffers, this.outputBuffers);
    for (const o of this.outputs) encoder.copyBufferToBuffer(o.slot.buffer, 0, this.staging, o.offset, o.bytes);
    this.timestamps?.resolveInto(encoder, this.staging, this.timestampOffset);
    this.device.queue.submit([encoder.finish()]);
    await checked;
    await this.staging.mapAsync(GPUMapMode.READ);
    const mapped = this.staging.getMappedRange().slice(0);
    this.staging.unmap();
    const wallMs = performance.now() - start;
    this.lastReadBack = mapped;
    return { wallMs, kernelMs: this.timestamps?.kernelMs(mapped, this.timestampOffset) ?? null };
  }

  /** The outputs of the last call, decoded to f32. */
  output(name?: string): Float32Array {
    const o = name === undefined ? this.outputs[0] : this.outputs.find((x) => x.slot.name === name);
    if (!o || !this.lastReadBack) throw new Error(`bench: no output ${name ?? ''} read back yet`);
    return o.slot.dtype === 'f16'
      ? decodeF16(new Uint16Array(this.lastReadBack, o.offset, o.slot.elements))
      : new Float32Array(this.lastReadBack, o.offset, o.slot.elements).slice();
  }

  destroy(): void {
    this.program.destroy();
    this.timestamps?.destroy();
    this.staging.destroy();
    for (const b of [...Object.values(this.inputBuffers), ...Object.values(this.outputBuffers)]) b.destroy();
  }
}

/** The bytes to upload for an input: f16 bit patterns (padded to whole words) or the f32 data. */
type UploadData = Float32Array<ArrayBuffer> | Uint16Array<ArrayBuffer>;

function uploadData(values: Float32Array, stored: 'f16' | 'f32'): UploadData {
  if (stored === 'f32') return values.buffer instanceof ArrayBuffer ? (values as Float32Array<ArrayBuffer>) : new Float32Array(values);
  const bits = encodeF16(values) as Uint16Array<ArrayBuffer>;
  if (bits.length % 2 === 0) return bits;
  const padded = new Uint16Array(bits.length + 1);
  padded.set(bits);
  return padded;
}
