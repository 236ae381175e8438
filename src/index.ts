/**
 * mugraph: the tensor-program DSL and the compiler API.
 * Import the runtime loader alone from `mugraph/runtime`.
 */
export { tensorProgram, type InputsOf, type OutputsOf, type ProgramInfo, type ProgramOutputs, type TensorProgram } from './tensor-program.js';
export type { GraphBuilder, Operand, ReduceOptions, RmsNormOptions } from './frontend/builder.js';
export { Tensor, type InputTag, type TensorInputs } from './frontend/tensor.js';
export { Program, isProgram, type ProgramDefinition, type TensorSpec } from './frontend/program.js';
export { ProgramError, isProgramError } from './frontend/errors.js';
export { expandComposites } from './frontend/expand.js';
export type { DType } from './ir/dtype.js';
export type { Shape } from './ir/shape.js';
export type {
  CompiledProgram, InputDTypes, LoadedProgram, LoadOptions, RunInputs, RunOutputs, TensorData, TensorDataFor, Variant,
} from './runtime/types.js';
// The μGraph IR, its builder, interpreter and diagram; a μGraph declared with the program it implements.
export * from './ugraph/index.js';
export { isUGraphProgram, ugraphProgram, type UGraphProgram } from './ugraph-program.js';
// The search (superoptimize) is in 'mugraph/search': it runs the verifier's Node-only workers,
// and this entry is also bundled for browsers.
