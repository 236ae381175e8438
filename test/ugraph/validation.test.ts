import { describe, expect, it } from 'vitest';
import { isUGraphError, type UGraphError } from '../../src/ugraph/errors.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import type { BlockGraphBuilder } from '../../src/ugraph/block-builder.js';
import { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { workgroupMemory } from '../../src/ugraph/memory.js';
import { profileFromLimits, type TargetProfile, webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';
import { targetProblems } from '../../src/ugraph/target-check.js';
import { rmsnormLinear, tiledMatmul } from './graphs.js';

function errorOf(action: () => unknown): UGraphError {
  try {
    action();
  } catch (error) {
    if (isUGraphError(error)) return error;
    throw error;
  }
  throw new Error('expected a UGraphError');
}

/** A one-kernel graph over x [16, 64] and w [64, 32]; `body` writes the block graph. */
function customKernel(options: { grid: number | number[]; forloopRange?: number }, body: (b: BlockGraphBuilder, x: never, w: never) => void, shapes = { x: [16, 64], w: [64, 32] }) {
  const g = new KernelGraphBuilder();
  const x = g.input('x', shapes.x);
  const w = g.input('w', shapes.w);
  const outs = g.customKernel(options, (b) => body(b, x as never, w as never));
  outs.forEach((t, i) => g.output(`y${i}`, t));
  return g.build();
}

describe('block-graph construction errors', () => {
  it('phase violation: a binary op mixing loop-body and epilogue tensors', () => {
    const error = errorOf(() => customKernel({ grid: 4, forloopRange: 4 }, (b, x, w) => {
      const xt = b.input(x, { fmap: 1 });
      const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
      const prod = b.matmul(xt, wt);
      b.output(b.add(prod, b.accumSum(prod)), { omap: { x: 1 } });
    }));
    expect(error.message).toMatch(/node 0 \(custom\) > block > op t4 \(binary\): phase violation: input 0 \(t2\) is before accumulation \(loop body\) but input 1 \(t3\) is after accumulation/);
  });

  it('accumulators take loop-body tensors and savers take post-accumulation tensors', () => {
    expect(errorOf(() => customKernel({ grid: 1, forloopRange: 2 }, (b, x) => {
      const acc = b.accumSum(b.input(x, { fmap: 1 }));
      b.output(b.accumSum(acc));
    })).detail).toMatch(/accumulators take loop-body tensors, but t1 is after accumulation/);
    expect(errorOf(() => customKernel({ grid: 1 }, (b, x) => { b.output(b.exp(b.input(x))); })).detail)
      .toMatch(/savers take post-accumulation tensors, but t1 is before accumulation \(loop body\)/);
  });

  it('imap and fmap must divide their dimensions', () => {
    expect(errorOf(() => customKernel({ grid: 3 }, (b, x) => { b.input(x, { imap: { x: 1 } }); })).message)
      .toMatch(/input 0: imap: dimension 1 of \[16, 64\] \(size 64\) does not divide by grid.x = 3/);
    expect(errorOf(() => customKernel({ grid: 4, forloopRange: 5 }, (b, x) => { b.input(x, { imap: { x: 1 }, fmap: 1 }); })).detail)
      .toMatch(/fmap: dimension 1 of \[16, 64\] \(16 per workgroup\) does not divide by forloopRange 5/);
    expect(errorOf(() => customKernel({ grid: [1, 1] }, (b, x) => { b.input(x, { imap: { y: 0 } }); })).detail)
      .toMatch(/grid.y is 1; leave axes of size 1 unmapped/);
  });

  it('omap must give every grid axis > 1 its own output dimension', () => {
    const save = (omap: Record<string, number>) => () => customKernel({ grid: [2, 2], forloopRange: 1 }, (b, x) => {
      b.output(b.accumSum(b.input(x, { imap: { x: 0, y: 1 } })), { omap });
    });
    expect(errorOf(save({ x: 1, y: 1 })).detail).toMatch(/omap \{x:1, y:1\} maps two grid axes to the same dimension/);
    expect(errorOf(save({ x: 0 })).detail).toMatch(/grid.y = 2 but omap \{x:0\} does not map it.*never reduced/);
    expect(customKernel({ grid: [2, 2] }, (b, x) => {
      b.output(b.accumSum(b.input(x, { imap: { x: 0, y: 1 } })), { omap: { x: 1, y: 0 } });
    }).tensors.at(-1)!.shape).toEqual([16, 64]); // workgroup (x, y) writes block (y, x): a block transpose

  });

  it('rescaleBy must name a maxRescale accumulator whose shape broadcasts', () => {
    expect(errorOf(() => customKernel({ grid: 1, forloopRange: 2 }, (b, x) => {
      const xt = b.input(x, { fmap: 1 });
      const s = b.accumSum(xt);
      b.output(b.accumSum(xt, { rescaleBy: s }));
    })).detail).toMatch(/rescaleBy must name a maxRescale accumulator, but t1 is accum sum/);
    expect(errorOf(() => customKernel({ grid: 1, forloopRange: 2 }, (b, x) => {
      const xt = b.input(x, { fmap: 1 });
      const m = b.accumMaxRescale(xt);
      b.output(b.accumSumLastDim(xt, { rescaleBy: m }));
    })).detail).toMatch(/running max t1 \[16, 32\] must broadcast to the accumulated tensor \[16, 32\] and to the result \[16, 1\]/);
  });

  it('operator shapes are checked at both levels', () => {
    expect(errorOf(() => customKernel({ grid: 1 }, (b, x) => { const t = b.input(x); b.matmul(t, t); })).detail)
      .toMatch(/matmul inner dimensions differ: \[16, 64\] · \[16, 64\]/);
    const g = new KernelGraphBuilder();
    const a = g.input('a', [2, 3], 'f16');
    const c = g.input('c', [3, 2], 'f32');
    expect(errorOf(() => g.matmul(a, c)).message).toMatch(/node 0 \(matmul\): input dtypes differ \(f16 vs f32\)/);
    expect(errorOf(() => g.reshape(a, [4])).detail).toMatch(/cannot reshape \[2, 3\] \(6 elements\) into \[4\]/);
  });

  it('input iterators come before operators (tile ids are iterators first)', () => {
    expect(errorOf(() => customKernel({ grid: 1 }, (b, x, w) => { b.exp(b.input(x)); b.input(w); })).message)
      .toBe('node 0 (custom) > block > input 1: declare every input iterator before the first operator');
  });

  it('thread config is validated', () => {
    const g = new KernelGraphBuilder();
    const x = g.input('x', [4]);
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { vectorWidth: 3 as 4 } }, (b) => { b.output(b.accumSum(b.input(x))); })).message)
      .toMatch(/node 0 \(custom\) > thread: vectorWidth must be 1, 2 or 4, got 3/);
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { registerTile: [2, 2], vectorWidth: 4 } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toMatch(/registerTile columns \(2\) must be a multiple of vectorWidth \(4\)/);
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { invocations: 12, subgroupBroadcast: true } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toBe('subgroupBroadcast needs invocations in multiples of 8, got 12');
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { subgroupBroadcast: 1 as unknown as true } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toBe('subgroupBroadcast must be true or false, got 1');
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { invocations: 12, kLanes: 8 } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toBe('kLanes must be a power of two dividing invocations (12), got 8');
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { kLanes: 16 } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toMatch(/kLanes/);
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { streamOperands: 'yes' as unknown as true } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toBe('streamOperands must be true or false, got "yes"');
    expect(errorOf(() => g.customKernel({ grid: 1, thread: { subgroupRowSums: 1 as unknown as true } }, (b) => { b.output(b.accumSum(b.input(x))); })).detail)
      .toBe('subgroupRowSums must be true or false, got 1');
  });
});

describe('target validation', () => {
  it('workgroup memory over 16 KiB is an error naming the rule terms; a larger adapter accepts it', () => {
    // Loop body: x tile [40, 64] + w tile [64, 32] = 18432 bytes; given the thread config, the product accumulates in
    // registers and its accumulator is saved from them, so neither counts.
    const build = (target = webgpuDefaults) => {
      const g = new KernelGraphBuilder({ target });
      const x = g.input('x', [40, 128]);
      const w = g.input('w', [128, 64]);
      const [y] = g.customKernel({ grid: 2, forloopRange: 2 }, (b) => {
        const prod = b.matmul(b.input(x, { fmap: 1 }), b.input(w, { imap: { x: 1 }, fmap: 0 }));
        b.output(b.accumSum(prod), { omap: { x: 1 } });
      });
      g.output('y', y!);
      return g.build();
    };
    expect(errorOf(() => build()).message).toBe(
      'node 0 (custom) > block: needs 18432 bytes of workgroup memory (accumulators 0 + max(loop body 18432, epilogue 0)), over the limit of 16384 (target webgpu-defaults)',
    );
    const roomy = profileFromLimits({ maxComputeWorkgroupStorageSize: 32768 }, ['shader-f16'], 'lavapipe');
    // Without a thread config every tensor counts: x, w, x·w tiles and the [40, 32] accumulator.
    expect(build(roomy).customKernels.map(({ node }) => workgroupMemory(node.block).total)).toEqual([4 * (2560 + 2048 + 1280 + 1280)]);
    expect(build(roomy).customKernels.map(({ node }) => workgroupMemory(node.block, node.thread).total)).toEqual([18432]);
  });

  it('with a thread config, the rule skips streamed tiles, register matmuls and inline results, and counts reduction scratch', () => {
    const node = rmsnormLinear().graph.nodes[0]!;
    if (node.op !== 'custom') throw new Error('expected a custom kernel');
    const thread = { invocations: 4, registerTile: [4, 2] as const, vectorWidth: 2 as const };
    // w is streamed (the register tile spans all rows), x·w and x² live in registers / inline, and x·w's
    // accumulator is saved from registers: loop body x [4, 8] + 4 scratch; accumulator Σx² [4, 1];
    // epilogue: workgroup results + 4 scratch.
    const memory = workgroupMemory(node.block, thread);
    expect(memory.accumulators).toBe(4 * 4);
    expect(memory.loopBody).toBe(4 * (32 + 4));
    expect(memory.total).toBeLessThan(workgroupMemory(node.block).total);
  });

  it('the memory rule: accumulators + max(loop body, epilogue), 4 bytes per element, constants free', () => {
    const node = rmsnormLinear().graph.nodes[0]!;
    if (node.op !== 'custom') throw new Error('expected a custom kernel');
    // loop body: x [4, 8], w [8, 8], x·w [4, 8], x² [4, 8]; accumulators [4, 8], [4, 1]; epilogue: 3 × [4, 1] + [4, 8].
    expect(workgroupMemory(node.block)).toEqual({ accumulators: 4 * 36, loopBody: 4 * 160, epilogue: 4 * 44, total: 4 * 196 });
  });

  it('a grid over 65535 workgroups per dimension is an error', () => {
    const g = new KernelGraphBuilder();
    const x = g.input('x', [70000]);
    const [y] = g.customKernel({ grid: 70000 }, (b) => { b.output(b.accumSum(b.exp(b.input(x, { imap: { x: 0 } }))), { omap: { x: 0 } }); });
    g.output('y', y!);
    expect(errorOf(() => g.build()).message).toBe('node 0 (custom) > block: grid.x = 70000 exceeds maxComputeWorkgroupsPerDimension 65535 (target webgpu-defaults)');
  });

  it('invocations, bindings and buffer sizes are checked against the profile', () => {
    const small = profileFromLimits({ maxComputeInvocationsPerWorkgroup: 64, maxStorageBuffersPerShaderStage: 2, maxStorageBufferBindingSize: 1024 });
    expect(targetProblems(tiledMatmul().graph, small).map((p) => p.message)).toEqual([
      'tensor 1: [32, 24] needs 3072 bytes, over maxStorageBufferBindingSize 1024 (target adapter)',
      'node 0 (custom): binds 3 storage buffers, over maxStorageBuffersPerShaderStage 2 (target adapter)',
      'node 0 (custom) > thread: invocations 128 exceeds the workgroup size limit 64 (target adapter)',
    ]);
    expect(targetProblems(tiledMatmul().graph)).toEqual([]);
  });

  it('subgroup broadcast needs a target with subgroups of at least 8 invocations', () => {
    const build = (target: TargetProfile) => {
      const g = new KernelGraphBuilder({ target });
      const x = g.input('x', [8, 16]);
      const w = g.input('w', [16, 64]);
      const thread = { invocations: 8, registerTile: [8, 8] as [number, number], vectorWidth: 4 as const, subgroupBroadcast: true as const };
      const [y] = g.customKernel({ grid: 1, thread }, (b) => { b.output(b.accumSum(b.matmul(b.input(x), b.input(w)))); });
      g.output('y', y!);
      return g.build();
    };
    expect(errorOf(() => build(webgpuDefaults)).message)
      .toBe('node 0 (custom) > thread: subgroupBroadcast needs subgroups of at least 8 invocations; the target has no subgroups (target webgpu-defaults)');
    expect(errorOf(() => build(withSubgroups(webgpuDefaults, 4))).message)
      .toBe('node 0 (custom) > thread: subgroupBroadcast needs subgroups of at least 8 invocations; the target has subgroups of at least 4 (target webgpu-defaults+subgroups4)');
    const kLanes = new KernelGraphBuilder();
    const x = kLanes.input('x', [4, 8]);
    kLanes.output('y', kLanes.customKernel({ grid: 1, thread: { invocations: 8, kLanes: 4 } }, (b) => { b.output(b.accumSum(b.input(x))); })[0]!);
    expect(errorOf(() => kLanes.build()).message)
      .toBe('node 0 (custom) > thread: kLanes 4 needs subgroups of at least 4 invocations; the target has no subgroups (target webgpu-defaults)');
    const rowSums = new KernelGraphBuilder({ target: withSubgroups(webgpuDefaults, 4) });
    const r = rowSums.input('r', [4, 8]);
    rowSums.output('s', rowSums.customKernel({ grid: 1, thread: { invocations: 8, subgroupRowSums: true } }, (b) => { b.output(b.accumSumLastDim(b.input(r))); })[0]!);
    expect(errorOf(() => rowSums.build()).message)
      .toBe('node 0 (custom) > thread: subgroupRowSums needs subgroups of at least 8 invocations; the target has subgroups of at least 4 (target webgpu-defaults+subgroups4)');
    const graph = build(profileFromLimits({}, ['subgroups'], 'lavapipe', 8));
    expect(graph.customKernels[0]!.node.thread).toEqual({ invocations: 8, registerTile: [8, 8], vectorWidth: 4, subgroupBroadcast: true });
    // The flag is left out of the JSON of graphs without it, so their hashes stay as they were.
    expect(JSON.stringify(tiledMatmul().graph.toJSON())).not.toContain('subgroupBroadcast');
  });
});

describe('kernel-graph construction errors (also what fromJSON reports)', () => {
  const valid = () => JSON.parse(JSON.stringify(tiledMatmul().graph)) as Record<string, unknown> & { nodes: Record<string, unknown>[] };

  it('rejects forward references, unknown fields and unknown kernels', () => {
    const forward = valid();
    forward.nodes[0]!.inputs = [0, 5];
    expect(errorOf(() => KernelGraph.fromJSON(forward)).message)
      .toBe('node 0 (custom): input 1 refers to tensor 5, but only tensors 0..1 are defined before this op');
    const extra = valid();
    extra.nodes[0]!.colour = 'red';
    expect(errorOf(() => KernelGraph.fromJSON(extra)).detail).toMatch(/unknown field\(s\) colour/);
    const unknown = valid();
    unknown.nodes[0] = { op: 'conv2d', inputs: [0] };
    expect(errorOf(() => KernelGraph.fromJSON(unknown)).detail).toMatch(/unknown kernel "conv2d"/);
  });

  it('locates block-level errors inside the node', () => {
    const bad = valid() as any;
    bad.nodes[0].block.inputs[1].imap = [null, null, 1];
    expect(errorOf(() => KernelGraph.fromJSON(bad)).message)
      .toBe('node 0 (custom) > block > input 1: imap maps grid axis z to dimension 1, but grid.z is 1; leave axes of size 1 unmapped');
    const wrongArity = valid() as any;
    wrongArity.nodes[0].block.ops[0].inputs = [0];
    expect(errorOf(() => KernelGraph.fromJSON(wrongArity)).message).toBe('node 0 (custom) > block > op t2 (matmul): takes 2 input(s), got 1');
  });

  it('checks the schema version and input names', () => {
    expect(errorOf(() => KernelGraph.fromJSON({ ...valid(), schema: 2 })).detail).toMatch(/expected "schema": 1, got 2/);
    const g = new KernelGraphBuilder();
    g.input('x', [2]);
    expect(errorOf(() => g.input('x', [3])).detail).toBe('duplicate input name "x"');
  });
});
