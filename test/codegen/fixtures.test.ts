/**
 * The hand-written benchmark μGraphs (fixtures/ugraphs, small twins): the μGraph
 * interpreter equals the float64 reference of the program; the generated WGSL runs on the
 * GPU in both variants and matches the reference and the interpreter; and snapshots of
 * the pretty-printed μGraph and of the generated WGSL, so any change shows in review.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { planKernel } from '../../src/codegen/ugraph/plan.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';
import { workgroupMemory } from '../../src/ugraph/memory.js';
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

  it('codegen allocates no more workgroup memory than the thread-aware rule (small twin and b = 1, 8)', () => {
    for (const { graph: g } of [fixture.small(), fixture.full(1), fixture.full(8)]) {
      for (const { node } of g.customKernels) {
        const allocated = planKernel(node.block, node.thread).workgroupElements * 4;
        expect(allocated).toBeLessThanOrEqual(Math.max(4, workgroupMemory(node.block, node.thread).total));
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
