/// <reference types="@webgpu/types" preserve="true" />
/**
 * The compiled-program description: everything the runtime loader needs to run a
 * program, as plain JSON-serializable data. Produced by the per-operator lowering at run
 * time today, and by the build-time compiler (custom kernels from the search) later;
 * the loader does not care which.
 */

export type ElementType = 'f16' | 'f32';
export type Variant = 'f16' | 'f32';

export interface CompiledTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype the program declares. In the f32 variant every buffer is stored as f32. */
  readonly dtype: ElementType;
  /** Index into `buffers`. */
  readonly buffer: number;
}

export interface CompiledBuffer {
  /** Number of elements (the byte size follows from the variant's storage type). */
  readonly elements: number;
  /** Declared element type; stored as f32 in the f32 variant. */
  readonly dtype: ElementType;
}

export interface CompiledKernel {
  readonly name: string;
  /** WGSL source per variant; `f16` is present when the program has f16 tensors. */
  readonly wgsl: { readonly f32: string; readonly f16?: string };
  /** Access of each binding in @group(0), in binding order. */
  readonly bindings: readonly ('read' | 'read_write')[];
}

export interface CompiledDispatch {
  readonly kernel: number;
  /** Buffer index bound at each binding of the kernel. */
  readonly buffers: readonly number[];
  readonly workgroups: readonly [number, number, number];
}

export interface CompiledProgram {
  readonly schema: 1;
  readonly name: string;
  /** Variants this description can run, best first. */
  readonly variants: readonly Variant[];
  readonly inputs: readonly CompiledTensor[];
  readonly outputs: readonly CompiledTensor[];
  readonly buffers: readonly CompiledBuffer[];
  readonly kernels: readonly CompiledKernel[];
  /** In submission order; all in one compute pass. */
  readonly dispatches: readonly CompiledDispatch[];
  /** What every variant needs of the device besides the f16 variant's 'shader-f16'; absent when nothing. */
  readonly requires?: DeviceRequirements;
}

export interface DeviceRequirements {
  /** Device features (e.g. 'subgroups'): the device must have been requested with them. */
  readonly features: readonly string[];
  /** Kernels assume subgroups of at least this many invocations (GPUAdapterInfo.subgroupMinSize). */
  readonly subgroupMinSize?: number;
}

/** Typed-array input: f32 tensors take Float32Array; f16 tensors Float32Array or Uint16Array (f16 bit patterns). */
export type TensorData = Float32Array | Uint16Array;

/** What `run()` takes for an input of dtype `D`: Uint16Array (f16 bit patterns) only for f16. */
export type TensorDataFor<D extends ElementType> = D extends 'f16' ? TensorData : Float32Array;

/**
 * A program's inputs by name, each with its dtype: `{ x: 'f16'; w: 'f32' }`. The default,
 * any names and dtypes, is what an untyped program (e.g. one loaded from a CompiledProgram) has.
 */
export type InputDTypes = Readonly<Record<string, ElementType>>;

/** The `inputs` argument of `run()`: every input by name, with a typed array its dtype accepts. */
export type RunInputs<Inputs extends InputDTypes = InputDTypes> = { readonly [K in keyof Inputs]: TensorDataFor<Inputs[K]> };

/** What `run()` resolves to: every output by name, decoded to f32. */
export type RunOutputs<Outputs extends string = string> = { [K in Outputs]: Float32Array };

/** One GPUBuffer per name, for `encode()`. */
export type BuffersOf<Names extends PropertyKey> = { readonly [K in Names]: GPUBuffer };

export interface LoadOptions {
  /** Force a variant; by default f16 where the device has `shader-f16` and the program has f16 tensors, else f32. */
  readonly variant?: Variant;
}

/**
 * A program loaded on a device. `Inputs` (name -> dtype) and `Outputs` (names) come from the
 * program's definition (see `tensorProgram`), so a missing or unknown input, an unknown
 * output or a Uint16Array for an f32 input is a type error; the defaults accept any names,
 * as the run-time checks do. Types only: the same loader serves every program.
 */
export interface LoadedProgram<Inputs extends InputDTypes = InputDTypes, Outputs extends string = string> {
  readonly name: string;
  readonly variant: Variant;
  readonly inputs: readonly CompiledTensor[];
  readonly outputs: readonly CompiledTensor[];
  /**
   * Uploads inputs, runs, reads back every output as a Float32Array (f16 outputs decoded).
   * `inputs` is an object whose own properties are the inputs (inherited ones do not count);
   * typed arrays on a SharedArrayBuffer are copied before upload.
   */
  run(inputs: RunInputs<Inputs>): Promise<RunOutputs<Outputs>>;
  /**
   * Records the program into `encoder` on caller-owned buffers, without copies. Buffers hold
   * the variant's storage type (`storageType(variant, dtype)`), STORAGE usage. Throws at once
   * for a missing or unknown name, a value that is not a GPUBuffer, a buffer without STORAGE
   * usage or too small. Whether a buffer belongs to this device and is not destroyed can only
   * be learnt from the device, later: the first time encode() sees a buffer it asks, and the
   * returned promise rejects if the device refuses the buffer (it resolves at once when there
   * is nothing left to ask); later calls with that buffer then throw. Left unawaited, such a
   * rejection is an unhandled rejection (Node ends the process by default). A buffer destroyed
   * after encode() first saw it is reported by the device at your submit, not here.
   */
  encode(encoder: GPUCommandEncoder, inputs: BuffersOf<keyof Inputs>, outputs: BuffersOf<Outputs>): Promise<void>;
  /** Frees the GPU buffers this program owns. Pipelines stay cached per device. */
  destroy(): void;
}
