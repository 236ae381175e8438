/**
 * The benchmark μGraphs at full shape (b = 1), f16 variant, on the local adapter, against
 * the float64 reference. Minutes on a CPU adapter, so not part of `npm test` (whose
 * include pattern is *.test.ts): run it with `npm run check:full`.
 */
import { describe, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();

describe('benchmark μGraphs at full shape, b = 1, f16', () => {
  it.each(UGRAPH_FIXTURES.map((f) => [f.benchmark, f] as const))('%s', async (_, fixture) => {
    const { program, graph, name } = fixture.full(1);
    const started = performance.now();
    await expectGpuMatches(gpu().device, program, compileKernelGraph(graph, name), 'f16', { seed: 11 });
    console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s (compile, upload, run, reference)`);
  }, 600_000);
});
