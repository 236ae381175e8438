/**
 * The thread config's subgroupRowSums (emit-row-sums.ts): row sums kept in registers are
 * combined across a row's lanes by a subgroupShuffleXor butterfly within clusters of up to
 * 8 lanes instead of a tree with a barrier per level; rows wider than a cluster meet in
 * workgroup memory once. Checked in the WGSL (barriers, no tree) and on the GPU against the
 * float64 reference and the μGraph interpreter, in both variants.
 */
import { describe, expect, it } from 'vitest';
import { compileKernelGraph } from '../../src/codegen/ugraph/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { formatThreadConfig } from '../../src/ugraph/thread-config.js';
import { webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';
import { useGpu } from '../helpers/gpu.js';
import { expectGpuMatches } from './helpers.js';

const gpu = useGpu();
const count = (text: string, needle: string) => text.split(needle).length - 1;

/**
 * Σ x² and Σ x·y over each row of [rows, width] tensors, `rowsPerGroup` rows per workgroup,
 * four loop iterations; `invocations` lanes share the workgroup's rows.
 */
function rowSums(name: string, s: { rows: number; width: number; rowsPerGroup: number; invocations: number; subgroupRowSums: boolean }) {
  const program = buildProgram(name, (g) => {
    const x = g.input('x', [s.rows, s.width], 'f16');
    const y = g.input('y', [s.rows, s.width], 'f16');
    return { xx: g.sum(g.square(x), 1, { keepdim: true }), xy: g.sum(g.mul(x, y), 1, { keepdim: true }) };
  });
  const g = new KernelGraphBuilder({ target: withSubgroups(webgpuDefaults, 8) });
  const x = g.input('x', [s.rows, s.width], 'f16');
  const y = g.input('y', [s.rows, s.width], 'f16');
  const thread = { invocations: s.invocations, ...(s.subgroupRowSums ? { subgroupRowSums: true as const } : {}) };
  const [xx, xy] = g.customKernel({ grid: s.rows / s.rowsPerGroup, forloopRange: 4, thread }, (b) => {
    const tile = { imap: { x: 0 }, fmap: 1 };
    const [xt, yt] = [b.input(x, tile), b.input(y, tile)];
    b.output(b.accumSumLastDim(b.square(xt)), { omap: { x: 0 } });
    b.output(b.accumSumLastDim(b.mul(xt, yt)), { omap: { x: 0 } });
  });
  g.output('xx', xx!);
  g.output('xy', xy!);
  const graph = g.build();
  const compiled = compileKernelGraph(graph, name);
  return { program, graph, compiled, wgsl: compiled.kernels[0]!.wgsl.f32 };
}

describe('subgroupRowSums', () => {
  it('rows of up to 8 lanes: a shuffle butterfly and one barrier, where the tree took one per level', async () => {
    // 2 rows per workgroup of 16 invocations: 8 lanes per row.
    const shape = { rows: 4, width: 128, rowsPerGroup: 2, invocations: 16 };
    expect(count(rowSums('tree_8', { ...shape, subgroupRowSums: false }).wgsl, 'workgroupBarrier();')).toBe(1 + 3 + 1);
    const { program, graph, compiled, wgsl } = rowSums('shuffled_8', { ...shape, subgroupRowSums: true });
    expect(wgsl).toContain('enable subgroups;');
    for (const mask of [4, 2, 1]) expect(wgsl).toMatch(new RegExp(`lanesum\\d+ \\+= subgroupShuffleXor\\(lanesum\\d+, ${mask}u\\);`));
    expect(count(wgsl, 'subgroupShuffleXor(')).toBe(2 * 3);
    expect(wgsl).not.toMatch(/if \(lid % \d+u < \d+u\)/);
    expect(count(wgsl, 'workgroupBarrier();')).toBe(1);
    expect(compiled.requires).toEqual({ features: ['subgroups'], subgroupMinSize: 8 });
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 3 });
  });

  it('rows wider than 8 lanes: clusters of 8 meet in workgroup memory once', async () => {
    // 1 row per workgroup of 32 invocations: 4 clusters of 8 lanes per row.
    const shape = { rows: 3, width: 256, rowsPerGroup: 1, invocations: 32 };
    expect(count(rowSums('tree_32', { ...shape, subgroupRowSums: false }).wgsl, 'workgroupBarrier();')).toBe(1 + 5 + 1);
    const { program, graph, compiled, wgsl } = rowSums('shuffled_32', { ...shape, subgroupRowSums: true });
    expect(count(wgsl, 'subgroupShuffleXor(')).toBe(2 * 3);
    expect(count(wgsl, 'workgroupBarrier();')).toBe(2);
    expect(wgsl).toMatch(/\+ lid \/ 8u \+ 3u\]/);
    for (const variant of ['f32', 'f16'] as const) await expectGpuMatches(gpu().device, program, compiled, variant, { graph, seed: 4 });
  });

  it('is kept in the canonical JSON and the pretty-printed thread config only when set', () => {
    const shape = { rows: 4, width: 128, rowsPerGroup: 2, invocations: 16 };
    const graph = (subgroupRowSums: boolean) => rowSums('json', { ...shape, subgroupRowSums }).graph;
    expect(JSON.stringify(graph(false).toJSON())).not.toContain('subgroupRowSums');
    expect(JSON.stringify(graph(true).toJSON())).toContain('"subgroupRowSums":true');
    const node = graph(true).nodes[0]!;
    expect(node.op === 'custom' && formatThreadConfig(node.thread)).toBe('invocations=16 registerTile=1x1 vectorWidth=1 subgroupRowSums');
  });
});
