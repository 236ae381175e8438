/**
 * Shared GPU test helpers: one Dawn device per test file (created in beforeAll, destroyed in
 * afterAll), and `runAndCompare`, which runs a program on the GPU with seeded random inputs
 * and checks every output against the float64 reference interpreter.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { isProgram, type Program } from '../../src/frontend/program.js';
import { createNodeDevice, type NodeGpu } from '../../src/gpu/node-device.js';
import { lowerPerOperator } from '../../src/lower/per-op.js';
import { compareToReference, type Comparison, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { loadCompiled } from '../../src/runtime/loader.js';
import type { Variant } from '../../src/runtime/types.js';
import { dslProgramOf, type TensorProgram } from '../../src/tensor-program.js';

/** Registers the file's device hooks; call at the top level of a test file, use the getter inside tests. */
export function useGpu(): () => NodeGpu {
  let gpu: NodeGpu | undefined;
  beforeAll(async () => {
    gpu = await createNodeDevice();
  });
  afterAll(() => gpu?.destroy());
  return () => {
    if (!gpu) throw new Error('the GPU is not ready: call useGpu() at the top level of the test file');
    return gpu;
  };
}

export interface RunResult {
  readonly outputs: Record<string, Float32Array>;
  readonly comparisons: Record<string, Comparison>;
}

/**
 * Lowers per operator, loads `variant`, runs on random inputs from `seed`, and expects every
 * output to pass `compareToReference` (the failure message names the output and the errors).
 */
export async function runAndCompare(device: GPUDevice, subject: TensorProgram | Program, seed: number, variant: Variant): Promise<RunResult> {
  const program = isProgram(subject) ? subject : dslProgramOf(subject);
  const inputs = randomInputs(program, seed);
  const expected = evaluateReference(program, roundInputsForVariant(inputs, program, variant));
  const loaded = await loadCompiled(lowerPerOperator(program), device, { variant });
  try {
    expect(loaded.variant).toBe(variant);
    const outputs = await loaded.run(inputs);
    const comparisons: Record<string, Comparison> = {};
    for (const spec of program.outputSpecs) {
      const cmp = compareToReference(outputs[spec.name]!, expected[spec.name]!, variant);
      comparisons[spec.name] = cmp;
      expect(cmp.pass, `${program.name}.${spec.name} (${variant}): ${JSON.stringify(cmp)}`).toBe(true);
    }
    return { outputs, comparisons };
  } finally {
    loaded.destroy();
  }
}
