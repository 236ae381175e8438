/**
 * Shared checks of compiled μGraphs on the GPU: run a CompiledProgram on seeded random
 * inputs in one variant and compare every output with the float64 reference of the program
 * it implements and with the μGraph interpreter (on the same variant-rounded inputs).
 */
import { expect } from 'vitest';
export { relativeMaxError } from '../helpers/relative-error.js';
import type { Program } from '../../src/frontend/program.js';
import { compareToReference, roundInputsForVariant } from '../../src/reference/compare.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { loadCompiled } from '../../src/runtime/loader.js';
import type { CompiledProgram, Variant } from '../../src/runtime/types.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';

export async function expectGpuMatches(
  device: GPUDevice, program: Program, compiled: CompiledProgram, variant: Variant,
  options: { graph?: KernelGraph; seed?: number } = {},
): Promise<Record<string, Float32Array>> {
  const inputs = randomInputs(program, options.seed ?? 1);
  const rounded = roundInputsForVariant(inputs, program, variant);
  const expected = evaluateReference(program, rounded);
  const interpreted = options.graph ? evaluateKernelGraph(options.graph, rounded) : undefined;
  const loaded = await loadCompiled(compiled, device, { variant });
  try {
    const outputs = await loaded.run(inputs);
    for (const spec of program.outputSpecs) {
      const actual = outputs[spec.name]!;
      const vsReference = compareToReference(actual, expected[spec.name]!, variant);
      expect(vsReference.pass, `${program.name}.${spec.name} (${variant}) vs reference: ${JSON.stringify(vsReference)}`).toBe(true);
      if (interpreted) {
        const vsInterpreter = compareToReference(actual, interpreted[spec.name]!, variant);
        expect(vsInterpreter.pass, `${program.name}.${spec.name} (${variant}) vs μGraph interpreter: ${JSON.stringify(vsInterpreter)}`).toBe(true);
      }
    }
    return outputs;
  } finally {
    loaded.destroy();
  }
}

