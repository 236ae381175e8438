/// <reference types="@webgpu/types" preserve="true" />
/**
 * The runtime loader: turns a CompiledProgram (per-operator lowering or precompiled by the
 * build plugin) into a LoadedProgram on a GPUDevice. Tiny and dependency-free (imports only
 * the other files of src/runtime/), and SSR-safe: nothing touches `navigator` or the GPU* globals at
 * import time, so the usage flags are numeric constants here. Pipelines are cached per
 * device by WGSL text; a shader that fails to compile throws with the kernel's name, the
 * compiler's messages and the numbered source. What callers pass is checked and named in
 * errors: inputs are read as own properties only (an input may be called `constructor`),
 * typed arrays on shared memory are copied before upload, and encode() checks its GPUBuffers
 * as far as WebGPU lets it (see encode()).
 */
import { BufferChecks, bufferSize, COMPUTE_STAGE, type FreshBuffer } from './buffer-checks.js';
import { decodeF16, encodeF16 } from './f16.js';
import { describe, isObject } from './values.js';
import type {
  CompiledBuffer, CompiledDispatch, CompiledKernel, CompiledProgram, CompiledTensor, ElementType, LoadedProgram, LoadOptions, TensorData,
  Variant,
} from './types.js';

// Usage, map-mode and shader-stage flag values (the WebGPU globals may not exist where this module is imported).
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const STORAGE = 0x80;
const MAP_MODE_READ = 0x1;

/** The element type a buffer holds in a variant: f16 only in the f16 variant. */
export function storageType(variant: Variant, dtype: ElementType): ElementType {
  return variant === 'f16' && dtype === 'f16' ? 'f16' : 'f32';
}

/** Byte size of a buffer in a variant, rounded up to 4 (WebGPU copies and bindings work in words). */
export function bufferByteSize(variant: Variant, elements: number, dtype: ElementType): number {
  const bytes = elements * (storageType(variant, dtype) === 'f16' ? 2 : 4);
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** What encode() returns when it has nothing left to check. */
const CHECKED: Promise<void> = Promise.resolve();

export async function loadCompiled(compiled: CompiledProgram, device: GPUDevice, options: LoadOptions = {}): Promise<LoadedProgram> {
  if (!isObject(compiled)) throw new Error(`mugraph: loadCompiled needs a compiled program (an object with schema 1), got ${describe(compiled)}`);
  if (compiled.schema !== 1) throw new Error(`mugraph: compiled program "${compiled.name}" has schema ${String(compiled.schema)}; this runtime reads schema 1`);
  const where = `mugraph: loading program "${compiled.name}"`;
  const notDevice = () => new Error(`${where}: device must be a GPUDevice, got ${describe(device)}`);
  if (!isObject(device) || typeof (device as Partial<GPUDevice>).features?.has !== 'function') throw notDevice();
  if (!isObject(options)) throw new Error(`${where}: options must be an object, got ${describe(options)}`);
  // Requirements first: they read only `features` and `adapterInfo`.
  checkRequirements(compiled, device);
  if (typeof device.createComputePipelineAsync !== 'function' || !isObject(device.limits)) throw notDevice();
  const variant = chooseVariant(compiled, device, options);
  checkLimits(compiled, variant, device);
  const pipelines = await Promise.all(compiled.kernels.map((k) => pipelineFor(device, k, variant, compiled.name)));
  return new Loaded(compiled, device, variant, pipelines);
}

function chooseVariant(compiled: CompiledProgram, device: GPUDevice, options: LoadOptions): Variant {
  const hasF16 = device.features.has('shader-f16');
  const forced = options.variant;
  if (forced !== undefined) {
    if (!compiled.variants.includes(forced)) {
      throw new Error(`mugraph: program "${compiled.name}" has no ${forced} variant (it has ${compiled.variants.join(', ')})`);
    }
    if (forced === 'f16' && !hasF16) {
      throw new Error(`mugraph: program "${compiled.name}": the f16 variant needs the 'shader-f16' feature, which this device lacks (request it in requestDevice, or load the f32 variant)`);
    }
    return forced;
  }
  return compiled.variants.includes('f16') && hasF16 ? 'f16' : 'f32';
}

/** The part of a GPUDevice that `missingRequirements` reads. */
export interface RequirementsDevice {
  readonly features: { has(feature: string): boolean };
  readonly adapterInfo?: { readonly subgroupMinSize?: number };
}

/** What `compiled` needs of `device` beyond its variants that the device lacks, one phrase each; empty when it can run. */
export function missingRequirements(compiled: CompiledProgram, device: RequirementsDevice): string[] {
  const requires = compiled.requires;
  if (requires === undefined) return [];
  const missing = requires.features.filter((f) => !device.features.has(f)).map((f) => `feature '${f}'`);
  const minSize = device.adapterInfo?.subgroupMinSize;
  if (requires.subgroupMinSize !== undefined && !((minSize ?? 0) >= requires.subgroupMinSize)) {
    missing.push(`subgroups of at least ${requires.subgroupMinSize} invocations (device: ${minSize ?? 'unknown'})`);
  }
  return missing;
}

/** Fails before any pipeline is built when the program's kernels assume features or subgroup sizes the device lacks. */
function checkRequirements(compiled: CompiledProgram, device: GPUDevice): void {
  const missing = missingRequirements(compiled, device as RequirementsDevice);
  if (missing.length > 0) {
    throw new Error(`mugraph: program "${compiled.name}" needs ${missing.join(' and ')}; request the features in requestDevice, or build it for a target without them`);
  }
}

/** Fails before any allocation when a buffer or a dispatch exceeds what this device allows. */
function checkLimits(compiled: CompiledProgram, variant: Variant, device: GPUDevice): void {
  const { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupsPerDimension } = device.limits;
  const maxBytes = Math.min(maxStorageBufferBindingSize, maxBufferSize);
  compiled.buffers.forEach((b, i) => {
    const bytes = bufferByteSize(variant, b.elements, b.dtype);
    if (bytes > maxBytes) {
      const tensor = [...compiled.inputs, ...compiled.outputs].find((t) => t.buffer === i);
      throw new Error(`mugraph: program "${compiled.name}" (${variant}) needs a ${bytes}-byte buffer${tensor ? ` for "${tensor.name}"` : ''}; this device binds at most ${maxBytes} bytes (maxStorageBufferBindingSize/maxBufferSize)`);
    }
  });
  for (const d of compiled.dispatches) {
    if (d.workgroups.some((n) => n > maxComputeWorkgroupsPerDimension)) {
      throw new Error(`mugraph: program "${compiled.name}": kernel "${compiled.kernels[d.kernel]?.name}" dispatches ${d.workgroups.join('x')} workgroups; this device allows ${maxComputeWorkgroupsPerDimension} per dimension`);
    }
  }
}

function pipelineFor(device: GPUDevice, kernel: CompiledKernel, variant: Variant, program: string): Promise<GPUComputePipeline> {
  const code = kernel.wgsl[variant];
  if (code === undefined) throw new Error(`mugraph: kernel "${kernel.name}" of "${program}" has no ${variant} WGSL`);
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  // The layout follows from the bindings, so they are part of the key with the text.
  const key = `${kernel.bindings.join(',')}\n${code}`;
  let pipeline = cache.get(key);
  if (!pipeline) {
    pipeline = buildPipeline(device, kernel, code, program);
    cache.set(key, pipeline);
    // A failure is not cached: the caller may fix the device (features) and retry.
    pipeline.catch(() => cache.delete(key));
  }
  return pipeline;
}

async function buildPipeline(device: GPUDevice, kernel: CompiledKernel, code: string, program: string): Promise<GPUComputePipeline> {
  // The scope captures the validation error a bad shader raises (else it is reported as
  // uncaptured); the report itself comes from the compilation messages, which have lines.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: kernel.name, code });
  const scope = device.popErrorScope();
  const [info, scopeError] = await Promise.all([module.getCompilationInfo(), scope]);
  if (info.messages.some((m) => m.type === 'error') || scopeError) {
    throw new Error(compileErrorReport(kernel.name, program, info.messages, scopeError, code));
  }
  const layout = device.createBindGroupLayout({
    label: kernel.name,
    entries: kernel.bindings.map((access, binding) => ({
      binding,
      visibility: COMPUTE_STAGE,
      buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
    })),
  });
  try {
    return await device.createComputePipelineAsync({
      label: kernel.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
  } catch (error) {
    throw new Error(`mugraph: pipeline for kernel "${kernel.name}" of "${program}" failed: ${(error as Error).message}\n${numbered(code)}`);
  }
}

function compileErrorReport(
  kernel: string, program: string, messages: readonly GPUCompilationMessage[], scopeError: GPUError | null, code: string,
): string {
  const lines = messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`);
  if (lines.length === 0 && scopeError) lines.push(`  ${scopeError.message}`);
  return `mugraph: WGSL of kernel "${kernel}" (program "${program}") does not compile:\n${lines.join('\n')}\n--- source ---\n${numbered(code)}`;
}

function numbered(code: string): string {
  const lines = code.split('\n');
  const width = String(lines.length).length;
  return lines.map((line, i) => `${String(i + 1).padStart(width)} | ${line}`).join('\n');
}

class Loaded implements LoadedProgram {
  readonly name: string;
  readonly inputs: readonly CompiledTensor[];
  readonly outputs: readonly CompiledTensor[];
  /** Buffers owned by this program; input and output ones are created on the first run(). */
  private readonly owned = new Map<number, GPUBuffer>();
  /** Bind groups for run(), which always binds owned buffers. */
  private runBindGroups: GPUBindGroup[] | undefined;
  /**
   * encode()'s bind groups for the caller's buffers of the last call: a frame loop passes the
   * same buffers every time, and creating the groups anew cost more than recording the pass
   * (dawn.node, ntrans, 1000 calls: 16-26 µs a call with the same buffers, 70-73 µs when they
   * change every call).
   */
  private encodeBindGroups: { readonly buffers: readonly GPUBuffer[]; readonly groups: readonly GPUBindGroup[] } | undefined;
  private readonly external: ReadonlySet<number>;
  /** What the device said of each caller buffer encode() has seen (see encode()). */
  private readonly checks: BufferChecks;
  private destroyed = false;

  constructor(
    private readonly compiled: CompiledProgram,
    private readonly device: GPUDevice,
    readonly variant: Variant,
    private readonly pipelines: readonly GPUComputePipeline[],
  ) {
    this.name = compiled.name;
    this.inputs = compiled.inputs;
    this.outputs = compiled.outputs;
    this.external = new Set([...compiled.inputs, ...compiled.outputs].map((t) => t.buffer));
    this.checks = new BufferChecks(device, compiled.name);
  }

  async run(inputs: Readonly<Record<string, TensorData>>): Promise<Record<string, Float32Array>> {
    this.checkAlive();
    checkNames(this.name, 'run', 'input', 'typed arrays', this.compiled.inputs, inputs);
    const uploads = this.compiled.inputs.map((t) => this.convertInput(t, inputs[t.name]!));
    const device = this.device;
    uploads.forEach((data, i) => device.queue.writeBuffer(this.buffer(this.compiled.inputs[i]!.buffer), 0, data));
    const encoder = device.createCommandEncoder({ label: this.name });
    this.runBindGroups ??= this.compiled.dispatches.map((d) => this.bindGroup(d, d.buffers.map((b) => this.buffer(b))));
    this.recordPass(encoder, this.runBindGroups);
    const staging = this.compiled.outputs.map((t) => {
      const size = this.byteSize(t.buffer);
      const buffer = device.createBuffer({ label: `${this.name}:${t.name}:readback`, size, usage: MAP_READ | COPY_DST });
      encoder.copyBufferToBuffer(this.buffer(t.buffer), 0, buffer, 0, size);
      return buffer;
    });
    device.queue.submit([encoder.finish()]);
    try {
      await Promise.all(staging.map((b) => b.mapAsync(MAP_MODE_READ)));
      return Object.fromEntries(this.compiled.outputs.map((t, i) => [t.name, this.readOutput(t, staging[i]!)]));
    } finally {
      staging.forEach((b) => b.destroy());
    }
  }

  /**
   * Checks, synchronously, that each buffer is a GPUBuffer with STORAGE usage and enough bytes;
   * whether the device accepts a buffer it has not seen before (its own, not destroyed) is
   * asked of the device (buffer-checks.ts), and the returned promise rejects when it refuses.
   * Not detected: a buffer destroyed after encode() first saw it (Dawn reports it at the
   * caller's submit, as an uncaptured validation error); the destroyed check waits for a later
   * call when one of the buffers is still mapped at creation (a pass over a mapped buffer
   * cannot be submitted).
   */
  encode(encoder: GPUCommandEncoder, inputs: Readonly<Record<string, GPUBuffer>>, outputs: Readonly<Record<string, GPUBuffer>>): Promise<void> {
    this.checkAlive();
    const where = `mugraph: ${this.name}.encode`;
    if (!isObject(encoder) || typeof encoder.beginComputePass !== 'function') throw new Error(`${where}: the encoder must be a GPUCommandEncoder, got ${describe(encoder)}`);
    checkNames(this.name, 'encode', 'input', 'GPUBuffers', this.compiled.inputs, inputs);
    checkNames(this.name, 'encode', 'output', 'GPUBuffers', this.compiled.outputs, outputs);
    const bound = new Map<number, GPUBuffer>();
    /** Buffers encode() has not seen before, with the tensor each is bound to here. */
    let fresh: FreshBuffer[] | undefined;
    /** Checks still under way of buffers seen before: each resolves to a problem, if any. */
    let pending: Promise<string | undefined>[] | undefined;
    const bind = (kind: string, t: CompiledTensor, value: unknown) => {
      // A buffer's size and usage never change: a buffer seen before is not asked again (dawn.node's getters cost).
      const verdict = this.checks.verdict(value as GPUBuffer);
      const size = verdict ? verdict.size : bufferSize(value);
      if (size === undefined) throw new Error(`${where}: ${kind} "${t.name}" must be a GPUBuffer, got ${describe(value)}`);
      const buffer = value as GPUBuffer;
      if (!verdict && (buffer.usage & STORAGE) === 0) {
        throw new Error(`${where}: ${kind} "${t.name}" lacks STORAGE usage (its usage is 0x${buffer.usage.toString(16)}); create it with the STORAGE usage flag (0x80)`);
      }
      const needed = this.byteSize(t.buffer);
      if (size < needed) {
        throw new Error(`${where}: ${kind} "${t.name}" needs ${needed} bytes (${t.shape.join('x') || 'scalar'} ${storageType(this.variant, t.dtype)}), the buffer has ${size}`);
      }
      if (!verdict) (fresh ??= []).push([`${kind} "${t.name}"`, buffer, size]);
      else if (verdict.problem !== undefined) throw new Error(`${where}: ${kind} "${t.name}" ${verdict.problem}`);
      else if (!verdict.settled) (pending ??= []).push(verdict.done.then((problem) => problem && `${kind} "${t.name}" ${problem}`));
      bound.set(t.buffer, buffer);
    };
    this.compiled.inputs.forEach((t) => bind('input', t, inputs[t.name]));
    this.compiled.outputs.forEach((t) => bind('output', t, outputs[t.name]));
    const buffers = [...this.compiled.inputs, ...this.compiled.outputs].map((t) => bound.get(t.buffer)!);
    // Fresh buffers mean new bind groups: their creation is checked in this scope.
    if (fresh) this.device.pushErrorScope('validation');
    const cached = this.encodeBindGroups;
    if (!cached || cached.buffers.some((b, i) => b !== buffers[i])) {
      try {
        const groups = this.compiled.dispatches.map((d) => this.bindGroup(d, d.buffers.map((b) => bound.get(b) ?? this.buffer(b))));
        this.encodeBindGroups = { buffers, groups };
      } catch (error) {
        // Something that looked like a GPUBuffer but is not one (the WebGPU binding threw).
        if (fresh) this.checks.abandonScope();
        throw new Error(`${where}: the buffers could not be bound: ${(error as Error).message}`);
      }
    }
    const groups = this.encodeBindGroups!.groups;
    if (fresh) (pending ??= []).push(...this.checks.checkFresh(fresh, buffers, groups));
    this.recordPass(encoder, groups);
    if (!pending) return CHECKED;
    return Promise.all(pending).then((problems) => {
      const problem = problems.find((p) => p !== undefined);
      if (problem !== undefined) throw new Error(`${where}: ${problem}`);
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.owned.forEach((b) => b.destroy());
    this.owned.clear();
    this.runBindGroups = undefined;
    this.encodeBindGroups = undefined;
  }

  private recordPass(encoder: GPUCommandEncoder, groups: readonly GPUBindGroup[]): void {
    const pass = encoder.beginComputePass({ label: this.name });
    this.compiled.dispatches.forEach((d, i) => {
      pass.setPipeline(this.pipelines[d.kernel]!);
      pass.setBindGroup(0, groups[i]!);
      pass.dispatchWorkgroups(...d.workgroups);
    });
    pass.end();
  }

  /**
   * The bind group of dispatch `d` over `buffers` (one per binding). Each binding covers the
   * bytes its buffer index needs, not the whole buffer: a caller's buffer may be larger, and
   * of a size a storage binding could not take whole (not a multiple of 4).
   */
  private bindGroup(d: CompiledDispatch, buffers: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      label: this.compiled.kernels[d.kernel]!.name,
      layout: this.pipelines[d.kernel]!.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer, size: this.byteSize(d.buffers[binding]!) } })),
    });
  }

  /** The owned buffer with this index, created on first use (encode() never creates input/output ones). */
  private buffer(index: number): GPUBuffer {
    let buffer = this.owned.get(index);
    if (!buffer) {
      const usage = STORAGE | (this.external.has(index) ? COPY_SRC | COPY_DST : 0);
      buffer = this.device.createBuffer({ label: `${this.name}:buffer${index}`, size: this.byteSize(index), usage });
      this.owned.set(index, buffer);
    }
    return buffer;
  }

  private byteSize(index: number): number {
    const b: CompiledBuffer = this.compiled.buffers[index]!;
    return bufferByteSize(this.variant, b.elements, b.dtype);
  }

  /**
   * The bytes to upload for input `t`, in its storage type, padded to a multiple of 4 bytes,
   * always in a plain ArrayBuffer: Dawn's writeBuffer crashed the process (segfault) on a
   * view of a SharedArrayBuffer, so data in shared memory is copied.
   */
  private convertInput(t: CompiledTensor, data: TensorData): Uint8Array<ArrayBuffer> {
    const elements = t.shape.reduce((p, d) => p * d, 1);
    if (!(data instanceof Float32Array) && !(data instanceof Uint16Array)) {
      throw new Error(`mugraph: ${this.name}.run: input "${t.name}" must be a Float32Array${t.dtype === 'f16' ? ' or a Uint16Array of f16 bits' : ''}`);
    }
    if (data instanceof Uint16Array && t.dtype !== 'f16') {
      throw new Error(`mugraph: ${this.name}.run: input "${t.name}" is f32; pass a Float32Array, not a Uint16Array`);
    }
    if (data.length !== elements) {
      throw new Error(`mugraph: ${this.name}.run: input "${t.name}" needs ${elements} elements (shape [${t.shape.join(', ')}]), got ${data.length}`);
    }
    const stored = storageType(this.variant, t.dtype) === 'f16'
      ? data instanceof Uint16Array ? data : encodeF16(data)
      : data instanceof Uint16Array ? decodeF16(data) : data;
    const size = bufferByteSize(this.variant, elements, t.dtype);
    const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
    // The tag, not instanceof: an ArrayBuffer of another realm is fine, a SharedArrayBuffer is not.
    if (stored.byteLength === size && Object.prototype.toString.call(stored.buffer) === '[object ArrayBuffer]') return bytes as Uint8Array<ArrayBuffer>;
    const copy = new Uint8Array(size);
    copy.set(bytes);
    return copy;
  }

  private readOutput(t: CompiledTensor, staging: GPUBuffer): Float32Array {
    const elements = t.shape.reduce((p, d) => p * d, 1);
    const bytes = staging.getMappedRange();
    return storageType(this.variant, t.dtype) === 'f16'
      ? decodeF16(new Uint16Array(bytes, 0, elements))
      : new Float32Array(bytes, 0, elements).slice();
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error(`mugraph: program "${this.name}" was destroyed`);
  }
}

/**
 * `given` is an object (not an array or a typed array), every declared name is its own
 * property (not one of its prototype's: an input may be called `constructor`), no unknown name.
 */
function checkNames(
  program: string, method: string, kind: string, values: string, declared: readonly CompiledTensor[], given: Readonly<Record<string, unknown>>,
): void {
  const names = declared.map((t) => t.name);
  if (!isObject(given) || Array.isArray(given) || ArrayBuffer.isView(given)) {
    throw new Error(`mugraph: ${program}.${method}: ${kind}s must be an object of ${values} keyed by ${kind} name (${names.join(', ')}), got ${describe(given)}`);
  }
  const missing = names.filter((n) => !Object.hasOwn(given, n) || given[n] === undefined);
  const unknown = Object.keys(given).filter((n) => !names.includes(n));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing ${missing.map((n) => `"${n}"`).join(', ')}`] : []),
      ...(unknown.length > 0 ? [`unknown ${unknown.map((n) => `"${n}"`).join(', ')}`] : []),
    ];
    throw new Error(`mugraph: ${program}.${method}: ${kind}s ${parts.join('; ')} (expected ${kind}s: ${names.join(', ')})`);
  }
}
