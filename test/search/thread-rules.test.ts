/**
 * Thread-level rules (src/search/thread-rules.ts): on every hand μGraph (fixtures/ugraphs,
 * full shapes b = 1 and 8 and the small twins, on WebGPU's defaults and with subgroups of 8),
 * replacing each custom kernel's thread config by the rules' gives a graph that validates
 * and compiles, and on the small twins runs on the GPU and matches the float64 reference;
 * on the full shapes with subgroups the rules give back the hand configs (which the fixtures'
 * comments measured fastest); where the rules' config does not validate, a fallback does.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { compile } from '../../src/compile.js';
import {
  chooseThreadConfig, ruleThreadConfig, threadConfigCandidates, threadConfigProblems, validThreadConfigs, withChosenThreadConfigs,
} from '../../src/search/thread-rules.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { isUGraphError } from '../../src/ugraph/errors.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import { targetProblems } from '../../src/ugraph/target-check.js';
import { type TargetProfile, webgpuDefaults, withSubgroups } from '../../src/ugraph/target.js';
import { formatThreadConfig, parseThreadConfig } from '../../src/ugraph/thread-config.js';
import { expectGpuMatches } from '../codegen/helpers.js';
import { useGpu } from '../helpers/gpu.js';

const gpu = useGpu();
const SUBGROUPS_8 = withSubgroups(webgpuDefaults, 8);
const TARGETS: readonly TargetProfile[] = [webgpuDefaults, SUBGROUPS_8];

const configs = (graph: KernelGraph) => graph.customKernels.map(({ node }) => formatThreadConfig(node.thread));

describe.each(UGRAPH_FIXTURES.map((f) => [f.benchmark, f] as const))('%s', (_, fixture) => {
  const cases = [fixture.full(1), fixture.full(8), fixture.small()];

  it.each(TARGETS.map((t) => [t.name, t] as const))('the rules\' configs validate and compile (b = 1, 8, small) on %s', (_, target) => {
    for (const { program, graph, name } of cases) {
      const chosen = withChosenThreadConfigs(graph, target);
      expect(targetProblems(chosen, target), name).toEqual([]);
      for (const { node } of chosen.customKernels) {
        expect(parseThreadConfig(node.thread, name)).toEqual(node.thread);
        expect(threadConfigProblems(node.block, node.thread, target), name).toEqual([]);
      }
      const { compiled, report } = compile(program, { ugraph: chosen, target });
      expect(report.customKernels, name).toBe(graph.customKernels.length);
      for (const kernel of compiled.kernels) expect(kernel.wgsl.f32.length).toBeGreaterThan(0);
      // Features the target lacks are never used.
      if (target === webgpuDefaults) expect(configs(chosen).join(' ')).not.toMatch(/subgroup|kLanes/);
    }
  });

  it('on the full shapes with subgroups of 8, the rules give the hand configs', () => {
    for (const { graph, name } of [fixture.full(1), fixture.full(8)]) {
      expect(configs(withChosenThreadConfigs(graph, SUBGROUPS_8)), name).toEqual(configs(graph));
    }
  });

  it.each(TARGETS.flatMap((t) => (['f16', 'f32'] as const).map((v) => [t.name, v, t] as const)))(
    'small twin on %s runs on the GPU (%s) and matches the reference',
    async (_, variant, target) => {
      const { program, graph, name } = fixture.small();
      const chosen = withChosenThreadConfigs(graph, target);
      await expectGpuMatches(gpu().device, program, compile(program, { ugraph: chosen, target }).compiled, variant, { graph: chosen, seed: 3 });
      expect(name).toBe(`${fixture.benchmark}_small`);
    },
  );
});

/** Blocks the fixtures do not have: a matmul over more rows than one register tile spans, staged into workgroup memory, batched tiles. */
describe('other block graphs', () => {
  /** O = silu(X·W) over X (rows, k), W (k, n): a one-iteration matmul read by an elementwise op (staged, not in registers). */
  function siluMatmul(rows: number, k: number, n: number, columns: number) {
    const program = buildProgram('silu_mm', (g) => ({ o: g.silu(g.matmul(g.input('x', [rows, k], 'f32'), g.input('w', [k, n], 'f32'))) }));
    const g = new KernelGraphBuilder();
    const x = g.input('x', [rows, k], 'f32');
    const w = g.input('w', [k, n], 'f32');
    const [o] = g.customKernel({ grid: n / columns }, (b) => {
      b.output(b.accumSum(b.silu(b.matmul(b.input(x, {}), b.input(w, { imap: { x: 1 } })))), { omap: { x: 1 } });
    });
    g.output('o', o!);
    return { program, graph: g.build() };
  }

  /** O = X·W accumulated over a K loop in two column blocks (32 rows: two register-tile rows of 16). */
  function tallMatmul(rows: number, k: number, n: number, iterations: number) {
    const program = buildProgram('tall_mm', (g) => ({ o: g.matmul(g.input('x', [rows, k], 'f16'), g.input('w', [k, n], 'f16')) }));
    const g = new KernelGraphBuilder();
    const x = g.input('x', [rows, k], 'f16');
    const w = g.input('w', [k, n], 'f16');
    // Streamed: the builder validates with this config before the rules replace it.
    const [o] = g.customKernel({ grid: 2, forloopRange: iterations, thread: { streamOperands: true } }, (b) => {
      b.output(b.accumSum(b.matmul(b.input(x, { fmap: 1 }), b.input(w, { imap: { x: 1 }, fmap: 0 }))), { omap: { x: 1 } });
    });
    g.output('o', o!);
    return { program, graph: g.build() };
  }

  /** A batched matmul whose tiles keep a batch of 2 (the grid splits the batch in halves). */
  function batchedMatmul() {
    const program = buildProgram('batched_mm', (g) => ({ o: g.matmul(g.input('a', [4, 8, 16], 'f32'), g.input('b', [4, 16, 32], 'f32')) }));
    const g = new KernelGraphBuilder();
    const a = g.input('a', [4, 8, 16], 'f32');
    const bt = g.input('b', [4, 16, 32], 'f32');
    const [o] = g.customKernel({ grid: 2, forloopRange: 2 }, (b) => {
      b.output(b.accumSum(b.matmul(b.input(a, { imap: { x: 0 }, fmap: 2 }), b.input(bt, { imap: { x: 0 }, fmap: 1 }))), { omap: { x: 0 } });
    });
    g.output('o', o!);
    return { program, graph: g.build() };
  }

  const cases = { siluMatmul: siluMatmul(4, 16, 64, 32), tallMatmul: tallMatmul(32, 64, 64, 2), wideMatmul: tallMatmul(16, 64, 256, 2), batchedMatmul: batchedMatmul() };

  it.each(Object.entries(cases).flatMap(([name, c]) => TARGETS.map((t) => [name, t.name, c, t] as const)))(
    '%s on %s: validates, compiles and matches the reference (f32)',
    async (_, __, { program, graph }, target) => {
      const chosen = withChosenThreadConfigs(graph, target);
      await expectGpuMatches(gpu().device, program, compile(program, { ugraph: chosen, target }).compiled, 'f32', { graph: chosen, seed: 5 });
    },
  );

  it('register tiles: up to 16 rows, 16 columns or 8 to reach 8 tiles, one per invocation; broadcast where a tile spans every row', () => {
    const tall = cases.tallMatmul.graph.customKernels[0]!.node;
    expect(formatThreadConfig(chooseThreadConfig(tall.block, SUBGROUPS_8))).toBe('invocations=8 registerTile=16x8 vectorWidth=4 streamOperands');
    const wide = cases.wideMatmul.graph.customKernels[0]!.node;
    expect(formatThreadConfig(chooseThreadConfig(wide.block, SUBGROUPS_8))).toBe('invocations=8 registerTile=16x16 vectorWidth=4 subgroupBroadcast streamOperands');
    expect(formatThreadConfig(chooseThreadConfig(wide.block, webgpuDefaults))).toBe('invocations=8 registerTile=16x16 vectorWidth=4 streamOperands');
  });
});

describe('fallbacks', () => {
  const lora = UGRAPH_FIXTURES.find((f) => f.benchmark === 'lora')!.full(1).graph;
  const main = lora.customKernels[1]!.node;

  it('candidates come best first, each distinct; validThreadConfigs keeps those that validate; chooseThreadConfig takes the first', () => {
    const all = [...threadConfigCandidates(main.block, SUBGROUPS_8)].map(formatThreadConfig);
    expect(all[0]).toBe(formatThreadConfig(ruleThreadConfig(main.block, SUBGROUPS_8)));
    expect(new Set(all).size).toBe(all.length);
    const valid = [...validThreadConfigs(main.block, SUBGROUPS_8)];
    for (const config of valid) expect(threadConfigProblems(main.block, config, SUBGROUPS_8)).toEqual([]);
    expect(chooseThreadConfig(main.block, SUBGROUPS_8)).toEqual(valid[0]);
  });

  it('where the vector aliases of B operands exceed the storage bindings, a config without them', () => {
    // X, XA, W, B and O bind 5 buffers; W's and B's vec4 aliases 2 more.
    const fewBindings: TargetProfile = { ...SUBGROUPS_8, name: 'few-bindings', maxStorageBuffersPerShaderStage: 5 };
    expect(threadConfigProblems(main.block, ruleThreadConfig(main.block, fewBindings), fewBindings).join()).toMatch(/vector aliases/);
    const config = chooseThreadConfig(main.block, fewBindings);
    expect(threadConfigProblems(main.block, config, fewBindings)).toEqual([]);
    expect(config.vectorWidth).toBe(1);
  });

  it('where the workgroup size limit is below the rules\' invocations, fewer invocations', () => {
    const small: TargetProfile = { ...SUBGROUPS_8, name: 'small-workgroups', maxInvocationsPerWorkgroup: 16, maxWorkgroupSizeX: 16 };
    const config = chooseThreadConfig(main.block, small);
    expect(config.invocations).toBeLessThanOrEqual(16);
    expect(threadConfigProblems(main.block, config, small)).toEqual([]);
  });

  it('a block that fits no thread config is reported as a UGraphError', () => {
    const gqa = UGRAPH_FIXTURES.find((f) => f.benchmark === 'gqa')!.full(1).graph.customKernels[0]!.node;
    const tiny: TargetProfile = { ...SUBGROUPS_8, name: 'tiny-memory', maxWorkgroupStorageBytes: 1024 };
    let error: unknown;
    try {
      chooseThreadConfig(gqa.block, tiny);
    } catch (e) {
      error = e;
    }
    expect(isUGraphError(error)).toBe(true);
    expect(String(error)).toMatch(/no thread config fits.*workgroup memory/);
  });
});
