/**
 * `mugraph/runtime`: what a compiled `*.tensor.ts` module imports at run time. The loader,
 * the compiled-program types and the f16 helpers; nothing of the compiler, no dependency,
 * and no browser or Node global touched at import time.
 */
export { loadCompiled, missingRequirements, storageType, bufferByteSize } from './loader.js';
export type { RequirementsDevice } from './loader.js';
export { chooseTarget, loadForDevice, unmetRequirements } from './targets.js';
export type { DeviceCapabilities, TargetCandidate, TargetRequirements } from './targets.js';
export { decodeF16, encodeF16, f16BitsToF32, f32ToF16Bits, roundToF16 } from './f16.js';
export type {
  CompiledBuffer, CompiledDispatch, CompiledKernel, CompiledProgram, CompiledTensor, DeviceRequirements, ElementType, LoadedProgram, LoadOptions,
  TensorData, Variant,
} from './types.js';
