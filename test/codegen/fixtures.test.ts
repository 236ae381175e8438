/**
 * The hand-written benchmark μGraphs (fixtures/ugraphs, small twins): the μGraph
 * interpreter equals the float64 reference of the program; the generated WGSL runs on the
 * GPU in both variants and matches the reference and the interpreter; and snapshots of
 * the pretty-printed μGraph and of the generated WGSL, so any change shows in review.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches, relativeMaxError } from './helpers.js';

const gpu = useGpu();

describe.each(UGRAPH_FIXTURES.map((f) => [f.benchmark, f] as const))('%s (small twin)', (_, fixture) => {
  const { program, graph, name } = fixture.small();

  it('the μGraph interpreter equals the float64 reference', () => {
    for (const seed of [1, 2]) {
      const inputs = randomInputs(program, seed);
      const expected = evaluateReference(program, inputs);
      const actual = evaluateKernelGraph(graph, inputs);
      for (const output of program.outputSpecs) {
        expect(relativeMaxError(actual[output.name]!, expected[output.name]!), `${output.name}, seed ${seed}`).toBeLessThan(1e-9);
      }
    }
  });

  it.each(['f16', 'f32'] as const)('runs on the GPU (%s) and matches the reference and the interpreter', async (variant) => {
    await expectGpuMatches(gpu().device, program, compileKernelGraph(graph, name), variant, { graph, seed: 7 });
  });

  it('snapshots: the μGraph and its WGSL', () => {
    const compiled = compileKernelGraph(graph, name);
    expect(graph.pretty()).toMatchSnapshot();
    for (const kernel of compiled.kernels) expect(kernel.wgsl.f16).toMatchSnapshot(kernel.name);
  });
});
