/// <reference types="@webgpu/types" preserve="true" />
/**
 * Runs a tensor program on a WebGPU device in each variant, on seeded random inputs, and
 * compares every output with the float64 reference interpreter on the same inputs. Shared
 * by `mugraph check`, `mugraph verify` and the build's verification of lock entries.
 */
import { performance } from 'node:perf_hooks';
import type { Program } from '../frontend/program.js';
import type { Variant } from '../runtime/types.js';
import type { DslTensorProgram } from '../tensor-program.js';
import { type Comparison, compareToReference, roundInputsForVariant } from './compare.js';
import { evaluateReference } from './interpreter.js';
import { randomInputs } from './random.js';

/** f16 where the program has f16 tensors and the device has `shader-f16`; f32 always. */
export function supportedVariants(program: Program, device: GPUDevice): Variant[] {
  const hasF16 = [...program.inputs, ...program.nodes].some((t) => t.dtype === 'f16');
  return hasF16 && device.features.has('shader-f16') ? ['f16', 'f32'] : ['f32'];
}

export interface VariantCheck {
  readonly output: string;
  readonly variant: Variant;
  readonly comparison: Comparison;
  readonly gpuSeconds: number;
}

export interface VariantFailure {
  readonly variant: Variant;
  readonly error: string;
}

export interface ProgramCheck {
  /** One entry per output per variant that ran, or one failure per variant that did not. */
  readonly outcomes: ReadonlyArray<VariantCheck | VariantFailure>;
  readonly referenceSeconds: number;
}

/** The seeded random inputs of a program and the float64 reference's outputs on them. */
export interface ReferenceRun {
  /** Inputs the program declares f16 are drawn as f16 values (see checkProgram). */
  readonly inputs: Readonly<Record<string, Float32Array>>;
  readonly expected: Readonly<Record<string, Float64Array>>;
  /** Seconds the reference interpreter took. */
  readonly seconds: number;
}

export function referenceRun(program: Program, seed: number): ReferenceRun {
  const inputs = programInputs(program, seed);
  const start = performance.now();
  const expected = evaluateReference(program, inputs);
  return { inputs, expected, seconds: (performance.now() - start) / 1000 };
}

/**
 * Compares every output of `program` in `actual` (from the GPU, or any other
 * implementation) with the reference's; a missing output throws. `tolerance` overrides
 * the variant's threshold.
 */
export function compareOutputs(
  program: Program, actual: Readonly<Record<string, ArrayLike<number>>>, expected: Readonly<Record<string, Float64Array>>,
  variant: Variant, tolerance?: number,
): { output: string; comparison: Comparison }[] {
  return program.outputSpecs.map(({ name }) => {
    const got = actual[name];
    if (!got) throw new Error(`the result has no output "${name}"`);
    return { output: name, comparison: withTolerance(compareToReference(got, expected[name]!, variant), tolerance) };
  });
}

/**
 * Runs `value` (what the user's module exported) in each variant on the same seeded random
 * inputs and compares every output with the float64 reference. Inputs the program declares
 * f16 are drawn as f16 values (the only values such an input can hold), so every variant
 * and the reference see identical numbers and the reference is evaluated once; a caller
 * that also checks something else on those inputs passes its own `reference`.
 */
export async function checkProgram(
  value: DslTensorProgram, device: GPUDevice, variants: readonly Variant[], seed: number, tolerance?: number,
  reference: ReferenceRun = referenceRun(value.program, seed),
): Promise<ProgramCheck> {
  const outcomes: Array<VariantCheck | VariantFailure> = [];
  for (const variant of variants) {
    try {
      const gpuStart = performance.now();
      const actual = await runOnce(value, device, variant, reference.inputs);
      const gpuSeconds = (performance.now() - gpuStart) / 1000;
      const compared = compareOutputs(value.program, actual, reference.expected, variant, tolerance);
      outcomes.push(...compared.map(({ output, comparison }) => ({ output, variant, comparison, gpuSeconds })));
    } catch (error) {
      outcomes.push({ variant, error: messageOf(error) });
    }
  }
  return { outcomes, referenceSeconds: reference.seconds };
}

/** Seeded random inputs, f16-declared ones rounded to f16. */
function programInputs(program: Program, seed: number): Record<string, Float32Array> {
  const rounded = roundInputsForVariant(randomInputs(program, seed), program, 'f16');
  return Object.fromEntries(Object.entries(rounded).map(([name, values]) => [name, values instanceof Float32Array ? values : Float32Array.from(values)]));
}

async function runOnce(
  value: DslTensorProgram, device: GPUDevice, variant: Variant, inputs: Readonly<Record<string, Float32Array>>,
): Promise<Record<string, Float32Array>> {
  const loaded = await value.load(device, { variant });
  try {
    if (loaded.variant !== variant) throw new Error(`asked for the ${variant} variant, got ${loaded.variant}`);
    return await loaded.run(inputs);
  } finally {
    loaded.destroy();
  }
}

/** Re-judges a comparison against another threshold (same criterion as compareToReference). */
function withTolerance(comparison: Comparison, tolerance: number | undefined): Comparison {
  if (tolerance === undefined) return comparison;
  return { ...comparison, tolerance, pass: comparison.nanMismatch === 0 && comparison.relL2Error <= tolerance };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
