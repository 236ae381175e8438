import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/frontend/program.js';
import { closeVerifierPool, warmVerifierPool } from '../../src/equivalence/verify-pool.js';
import { mutants } from '../../src/equivalence/mutate.js';
import { verify } from '../../src/equivalence/verify.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { attentionOneKernel, attentionSplitKV, gatedMlp, partialRowSums, rmsnormLinear, tiledMatmul } from '../ugraph/graphs.js';
import { normalizeThenMatmul, splitKMatmul } from './rewrites.js';

afterAll(closeVerifierPool);

describe('verify accepts correct μGraphs', () => {
  it('every hand-written benchmark μGraph at small shapes, with two seeds and a small false-accept bound', async () => {
    for (const fixture of UGRAPH_FIXTURES) {
      const { name, program, graph } = fixture.small();
      const result = await verify(program, graph);
      expect(result.verdict, `${name}: ${result.reason ?? ''}`).toBe('equivalent');
      expect(result.seeds).toHaveLength(2);
      expect(result.falseAcceptBound).toBeGreaterThan(0);
      expect(result.falseAcceptBound).toBeLessThan(1e-8);
      expect(result.ms).toBeGreaterThan(0);
    }
  });

  it('the listed rewrites: normalization after (and before) the matmul, split-K and split-KV with a combine kernel, (W‖B)(X‖XA), online softmax', async () => {
    const cases = { rmsnormLinear, normalizeThenMatmul, splitKMatmul, attentionSplitKV, attentionOneKernel, tiledMatmul, partialRowSums, gatedMlp };
    for (const [name, make] of Object.entries(cases)) {
      const { program, graph } = make();
      expect((await verify(program, graph)).verdict, name).toBe('equivalent');
    }
    const lora = UGRAPH_FIXTURES.find((f) => f.benchmark === 'lora')!;
    for (const separateXA of [true, false]) {
      const { program, graph } = lora.build('lora_concat', { ...lora.smallShape, separateXA });
      expect((await verify(program, graph)).verdict, `lora separateXA=${separateXA}`).toBe('equivalent');
    }
    // The naive lowering (one pre-defined kernel per primitive) of each benchmark program.
    for (const fixture of UGRAPH_FIXTURES) {
      const { program } = fixture.small();
      expect((await verify(program, kernelGraphFromProgram(program))).verdict, `${fixture.benchmark} naive`).toBe('equivalent');
    }
  });

  it('one full-shape verification per benchmark (b = 1), seeds on worker threads (warmed first)', async () => {
    await warmVerifierPool();
    for (const fixture of UGRAPH_FIXTURES) {
      const { name, program, graph } = fixture.full(1);
      const result = await verify(program, graph, { workers: true });
      expect(result.verdict, `${name}: ${result.reason ?? ''}`).toBe('equivalent');
      expect(result.seeds).toHaveLength(2);
    }
  }, 120_000);

  it('one wrong mutant per benchmark at full shape (b = 1) is rejected', async () => {
    for (const fixture of UGRAPH_FIXTURES) {
      const c = fixture.full(1);
      // An accumulator whose uses read it plus a twin: same shapes, twice the value.
      const mutant = mutants(c.graph).find((m) => m.kind === 'accum-duplicated')!;
      const result = await verify(c.program, mutant.graph, { workers: false });
      expect(result.verdict, `${c.name}: ${mutant.description}`).toBe('different');
      expect(result.firstMismatch).toBeDefined();
    }
  }, 120_000);

  it('the same pair gets the same default seeds; explicit seeds are used as given', async () => {
    const { program, graph } = tiledMatmul();
    const [a, b] = [await verify(program, graph), await verify(program, graph)];
    expect(a.seeds).toEqual(b.seeds);
    expect((await verify(program, graph, { seeds: [7, 8, 9] })).seeds).toEqual([7, 8, 9]);
    expect((await verify(program, graph, { seeds: 3 })).falseAcceptBound).toBeLessThan(a.falseAcceptBound);
  });
});

describe('verify rejects', () => {
  it('a different function, naming the first differing element', async () => {
    const { graph } = tiledMatmul();
    const program = buildProgram('matmul_plus', (g) => ({ y: g.add(g.matmul(g.input('x', [8, 32]), g.input('w', [32, 24])), 1e-3) }));
    const result = await verify(program, graph);
    expect(result.verdict).toBe('different');
    expect(result.falseAcceptBound).toBe(0);
    expect(result.firstMismatch).toMatchObject({ output: 'y', index: [0, 0] });
    expect(result.firstMismatch!.expected).not.toBe(result.firstMismatch!.actual);
  });

  it('a μGraph whose interface differs (positionally)', async () => {
    const { program } = tiledMatmul();
    const g = new KernelGraphBuilder();
    const x = g.input('x', [8, 32]);
    g.input('w', [32, 24]);
    g.output('y', g.scale(x, 2));
    const result = await verify(program, g.build());
    expect(result.verdict).toBe('different');
    expect(result.reason).toMatch(/output 0 \("y"\) is f32\[8, 24\] in the program but f32\[8, 32\]/);
  });
});

describe('verify reports unverifiable, never equivalent', () => {
  const nested = buildProgram('nested', (g) => ({ y: g.exp(g.exp(g.input('x', [4, 8]))) }));

  it('an exp of an exp in the program', async () => {
    const result = await verify(nested, kernelGraphFromProgram(nested));
    expect(result.verdict).toBe('unverifiable');
    expect(result.reason).toMatch(/nested exp/);
  });

  it('an exp of an exp in the μGraph only, inside a block graph', async () => {
    const program = buildProgram('single', (g) => ({ y: g.exp(g.input('x', [4, 8])) }));
    const g = new KernelGraphBuilder();
    const x = g.input('x', [4, 8]);
    const [y] = g.customKernel({ grid: 2 }, (b) => {
      b.output(b.accumSum(b.exp(b.exp(b.input(x, { imap: { x: 0 } })))), { omap: { x: 0 } });
    });
    g.output('y', y!);
    const result = await verify(program, g.build());
    expect(result.verdict).toBe('unverifiable');
    expect(result.reason).toMatch(/kernel 0 \(custom\) > block op .*nested exp/);
  });

  it('an exp of an online-softmax accumulator (rescaled by exps)', async () => {
    const { program, graph } = attentionOneKernel();
    const json = JSON.parse(JSON.stringify(graph.toJSON())) as ReturnType<typeof graph.toJSON>;
    const block = (json.nodes[0] as unknown as { block: { ops: unknown[]; outputs: { tensor: number }[] } }).block;
    const last = block.outputs[0]!.tensor;
    block.ops.push({ op: 'unary', fn: 'exp', inputs: [last] });
    block.outputs[0]!.tensor = last + 1;
    const { KernelGraph } = await import('../../src/ugraph/kernel-graph.js');
    const result = await verify(program, new KernelGraph(json));
    expect(result.verdict).toBe('unverifiable');
  });

  it('a denominator that vanishes on every draw', async () => {
    const program = buildProgram('zero', (g) => {
      const x = g.input('x', [2, 4]);
      return { y: g.div(x, g.sub(x, x)) };
    });
    const result = await verify(program, kernelGraphFromProgram(program), { maxRedraws: 2 });
    expect(result.verdict).toBe('unverifiable');
    expect(result.reason).toMatch(/divided by zero in the field on 3 draws/);
  });
});
