/**
 * Runs a tensor program on a WebGPU device in each variant, on seeded random inputs, and
 * compares every output with the float64 reference interpreter on the same inputs. Shared
 * by `mugraph check`, `mugraph verify` and the build's verification of lock entries.
 */
import { performance } from 'node:perf_hooks';
import type { Program } from '../frontend/program.js';
import type { Variant } from '../runtime/types.js';
import type { TensorProgram } from '../tensor-program.js';
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

/**
 * Runs `value` (what the user's module exported) in each variant on the same seeded random
 * inputs and compares every output with the float64 reference. Inputs the program declares
 * f16 are drawn as f16 values (the only values such an input can hold), so every variant
 * and the reference see identical numbers and the reference is evaluated once.
 */
export async function checkProgram(
  value: TensorProgram, device: GPUDevice, variants: readonly Variant[], seed: number, tolerance?: number,
): Promise<ProgramCheck> {
  const { program } = value;
  const inputs = programInputs(program, seed);
  const referenceStart = performance.now();
  const expected = evaluateReference(program, inputs);
  const referenceSeconds = (performance.now() - referenceStart) / 1000;
  const outcomes: Array<VariantCheck | VariantFailure> = [];
  for (const variant of variants) {
    try {
      const gpuStart = performance.now();
      const actual = await runOnce(value, device, variant, inputs);
      const gpuSeconds = (performance.now() - gpuStart) / 1000;
      for (const { name } of program.outputSpecs) {
        const got = actual[name];
        if (!got) throw new Error(`the GPU result has no output "${name}"`);
        const comparison = withTolerance(compareToReference(got, expected[name]!, variant), tolerance);
        outcomes.push({ output: name, variant, comparison, gpuSeconds });
      }
    } catch (error) {
      outcomes.push({ variant, error: messageOf(error) });
    }
  }
  return { outcomes, referenceSeconds };
}

/** Seeded random inputs, f16-declared ones rounded to f16. */
function programInputs(program: Program, seed: number): Record<string, Float32Array> {
  const rounded = roundInputsForVariant(randomInputs(program, seed), program, 'f16');
  return Object.fromEntries(Object.entries(rounded).map(([name, values]) => [name, values instanceof Float32Array ? values : Float32Array.from(values)]));
}

async function runOnce(
  value: TensorProgram, device: GPUDevice, variant: Variant, inputs: Record<string, Float32Array>,
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
