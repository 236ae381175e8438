/// <reference types="@webgpu/types" preserve="true" />
import type { GraphBuilder } from './frontend/builder.js';
import { buildProgram, isProgram, type Program, type TensorSpec } from './frontend/program.js';
import type { InputTag, Tensor, TensorInputs } from './frontend/tensor.js';
import { lowerPerOperator } from './lower/per-op.js';
import { loadCompiled } from './runtime/loader.js';
import type { InputDTypes, LoadedProgram, LoadOptions } from './runtime/types.js';

/**
 * What a module says about its program, built or not: its name, structural hash and the
 * inputs and outputs with their shapes and dtypes. The DSL's Program has these (and more);
 * a module the build plugin replaced has only these.
 */
export interface ProgramInfo {
  readonly name: string;
  /** Structural hash (32 hex digits) of the function computed; names do not count. */
  readonly hash: string;
  readonly inputSpecs: readonly TensorSpec[];
  readonly outputSpecs: readonly TensorSpec[];
}

/**
 * What a `*.tensor.ts` module exports, with or without the build plugin: the plugin replaces
 * the module at build time, but the types an app sees come from the source module, so this
 * one interface describes both. Without the plugin, `load()` lowers the program at run time
 * (one kernel per operator); the plugin's module loads precompiled kernels.
 *
 * `Inputs` (name -> dtype) and `Outputs` (names) type what `load()` returns: `run({ x })`
 * without `w`, an unknown input or `outputs.nope` is a type error. `tensorProgram` infers
 * them; the defaults accept any names.
 */
export interface TensorProgram<Inputs extends InputDTypes = InputDTypes, Outputs extends string = string> {
  readonly name: string;
  /** Metadata only: the DSL's Program is not part of a built module. */
  readonly program: ProgramInfo;
  load(device: GPUDevice, options?: LoadOptions): Promise<LoadedProgram<Inputs, Outputs>>;
}

/**
 * What `tensorProgram()` returns at run time: a TensorProgram whose `program` is the DSL's
 * Program. For this package's own code that compiles or checks a module it evaluated (the
 * compiler, the CLI, tests); apps see TensorProgram, which a built module also is.
 */
export interface DslTensorProgram extends TensorProgram {
  readonly program: Program;
}

/** The outputs a definition may return: tensors by name. */
export type ProgramOutputs = Readonly<Record<string, Tensor>>;

/**
 * The inputs of a program whose definition returned `Outputs`: name -> dtype of every input
 * an output is computed from. An output typed as a plain `Tensor` (a helper that does not
 * pass the tags on) admits any further names.
 */
export type InputsOf<Outputs extends ProgramOutputs> = TensorInputs<Outputs[keyof Outputs]> extends infer Tags extends InputTag
  // Through `infer` so that editors and errors show the resolved object, not InputsOf<...>.
  ? { readonly [Tag in Tags as Tag['name']]: Tag['dtype'] }
  : never;

/** The output names of a definition that returned `Outputs`. */
export type OutputsOf<Outputs extends ProgramOutputs> = keyof Outputs & string;

/**
 * Defines a tensor program. The definition runs once, now: shapes and dtypes are
 * checked immediately and any error names the line that caused it.
 *
 *   export default tensorProgram('rmsnorm_linear', (g) => {
 *     const x = g.input('x', [16, 4096], 'f16');
 *     const w = g.input('w', [4096, 6144], 'f16');
 *     return { y: g.matmul(g.rmsNorm(x), w) };
 *   });
 *
 * The types come from the definition, with no declaration of their own: the returned
 * object's keys are the outputs, and the inputs are those the outputs are computed from, as
 * each operator's result type records (see GraphBuilder). TypeScript cannot collect the
 * `g.input(...)` calls themselves, so an input no output uses is missing from the type
 * (while `run()` still requires it at run time).
 */
export function tensorProgram<Outputs extends ProgramOutputs>(
  name: string, define: (g: GraphBuilder) => Outputs,
): TensorProgram<InputsOf<Outputs>, OutputsOf<Outputs>> {
  return typed(tensorProgramOf(buildProgram(name, define)));
}

/** The TensorProgram of a built program: `load()` lowers it at run time, one kernel per operator. */
export function tensorProgramOf(program: Program): DslTensorProgram {
  return Object.freeze({
    name: program.name,
    program,
    load: (device: GPUDevice, options?: LoadOptions) => loadCompiled(lowerPerOperator(program), device, options),
  });
}

/**
 * The DSL Program behind a TensorProgram this package made (what `tensorProgram` returns
 * before any build): the way from an app-typed value to the compiler's input. Throws for a
 * module the build plugin replaced, whose `program` is metadata only.
 */
export function dslProgramOf(value: TensorProgram): Program {
  const { program } = value;
  if (!isProgram(program)) throw new Error(`mugraph: program "${String(program?.name)}" is a built module's (metadata only), not a DSL program`);
  return program;
}

/**
 * The loader checks names at run time whatever the types say, so the types a definition
 * implies are a view of the untyped program: nothing is converted.
 */
function typed<Inputs extends InputDTypes, Outputs extends string>(value: DslTensorProgram): TensorProgram<Inputs, Outputs> {
  return value as TensorProgram as TensorProgram<Inputs, Outputs>;
}
