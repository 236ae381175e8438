/**
 * Split-KV found by the search alone (docs/search.md §6.6): on attention programs the
 * screened candidates include a split kernel (its grid divides the KV sequence, each
 * workgroup keeps a running max and rescaled sums and saves them) followed by a combine
 * kernel (a running max over the parts' maxes, the parts' sums rescaled by it, the
 * division). The candidate is re-verified independently at full shape of the small twin.
 */
import { describe, expect, it } from 'vitest';
import { EPS } from '../../fixtures/ugraphs/case.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { verify } from '../../src/equivalence/verify.js';
import { buildProgram, type Program } from '../../src/frontend/program.js';
import { superoptimize } from '../../src/search/superoptimize.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';

/** A split kernel then its combine kernel, as the generator builds them. */
function isSplitKv(graph: KernelGraph): boolean {
  const kernels = graph.customKernels.map((k) => k.node.block);
  return kernels.some((split, i) => {
    const combine = kernels[i + 1];
    if (!combine) return false;
    const rescaled = (ops: typeof split.ops) => ops.filter((op) => op.op === 'accum' && op.rescaleBy !== undefined).length;
    const hasRunningMax = (ops: typeof split.ops) => ops.some((op) => op.op === 'accum' && op.kind === 'maxRescale');
    // The split kernel saves its running max (a tensor other operators read) next to its sums.
    const savesRunningMax = split.outputs.some((o) => { const op = split.ops[o.tensor - split.inputs.length]; return op?.op === 'accum' && op.kind === 'maxRescale'; });
    return hasRunningMax(split.ops) && rescaled(split.ops) === 2 && savesRunningMax && split.forloopRange > 1
      && hasRunningMax(combine.ops) && rescaled(combine.ops) === 2 && combine.forloopRange === split.grid.find((g, axis) => split.outputs.some((o) => o.omap[axis] === 2 && g > 1));
  });
}

async function splitKvCandidate(program: Program): Promise<KernelGraph> {
  const result = await superoptimize(program);
  expect(result.source).toBe('search');
  const found = [result.ugraph, ...result.candidates.map((c) => c.ugraph)].find(isSplitKv);
  expect(found, 'no split-KV candidate').toBeDefined();
  expect((await verify(program, found!)).verdict).toBe('equivalent');
  return found!;
}

describe('split-KV with a combine kernel, found by the search', () => {
  it('gqa (small twin)', async () => {
    const graph = await splitKvCandidate(UGRAPH_FIXTURES.find((f) => f.benchmark === 'gqa')!.small().program);
    expect(graph.customKernels).toHaveLength(2);
  }, 120_000);

  // qknorm is cut into parts before the search (partition.ts); at full shapes its attention
  // part reads Q's mean square and the normalized V. The same part at the small twin's shapes:
  it('qknorm attention part (small twin shapes)', async () => {
    const program = buildProgram('qknorm_attention_part', (g) => {
      const meanSquare = g.input('t2', [2, 8, 1], 'f16');
      const q = g.input('q', [2, 8, 32], 'f16');
      const k = g.input('k', [2, 32, 128], 'f16');
      const v = g.input('t19', [2, 128, 32], 'f16');
      const normalized = g.mul(q, g.rsqrt(g.add(meanSquare, EPS)));
      return { o: g.matmul(g.softmax(g.matmul(normalized, k)), v) };
    });
    await splitKvCandidate(program);
  }, 240_000);
});
