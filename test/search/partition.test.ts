/**
 * Automatic partitioning (docs/search.md §6.5): where partitionProgram cuts and why, that
 * the parts are valid subprograms whose per-operator lowerings stitch back into a μGraph
 * the verifier accepts, and superoptimize() on programs it must cut: each part searched
 * and fused, the stitched μGraph verified (whole, or part by part for an exp of an exp)
 * and matching the float64 reference on WebGPU. Small shapes, short time limits.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { verify } from '../../src/equivalence/verify.js';
import { buildProgram, type Program } from '../../src/frontend/program.js';
import { nestedExps } from '../../src/search/nested-exp.js';
import { partitionProgram } from '../../src/search/partition.js';
import { sliceGraph, stitchParts } from '../../src/search/stitch.js';
import { superoptimize } from '../../src/search/superoptimize.js';
import { verifyParts } from '../../src/search/verify-parts.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { kernelGraphFromProgram } from '../../src/ugraph/lower-naive.js';
import { expectGpuMatches } from '../codegen/helpers.js';
import { useGpu } from '../helpers/gpu.js';

const gpu = useGpu();

/** rmsnorm, matmul, silu | transpose | softmax, matmul: two fusable parts around a transpose. */
const transposed = () => buildProgram('transposed', (g) => {
  const x = g.input('x', [8, 16], 'f32');
  const w = g.input('w', [16, 8], 'f32');
  const v = g.input('v', [8, 16], 'f32');
  const t = g.transpose(g.silu(g.matmul(g.rmsNorm(x), w)), [1, 0]);
  return { y: g.matmul(g.softmax(t, -1), v) };
});

/** softmax(softmax(x)·w): the second softmax's exp reads a value derived from the first's. */
const nestedSoftmax = () => buildProgram('nested_softmax', (g) => {
  const x = g.input('x', [8, 16], 'f32');
  const w = g.input('w', [16, 8], 'f32');
  return { y: g.softmax(g.matmul(g.softmax(x, -1), w), -1) };
});

/** Two outputs that read the same input and share no computed value. */
const independentOutputs = () => buildProgram('independent', (g) => {
  const x = g.input('x', [8, 16], 'f32');
  const w = g.input('w', [16, 8], 'f32');
  const u = g.input('u', [16, 8], 'f32');
  return { a: g.matmul(g.rmsNorm(x), w), b: g.silu(g.matmul(x, u)) };
});

/** Two outputs that share the normalized x. */
const sharedOutputs = () => buildProgram('shared', (g) => {
  const x = g.input('x', [8, 16], 'f32');
  const n = g.rmsNorm(x);
  return { a: g.matmul(n, g.input('w', [16, 8], 'f32')), b: g.matmul(n, g.input('u', [16, 8], 'f32')) };
});

/** Every part's per-operator lowering, stitched. */
function stitchedLowering(program: Program, maxOperators?: number) {
  const plan = partitionProgram(program, maxOperators ? { maxOperators } : {});
  const parts = plan.parts.map((part) => ({ sub: part.sub, ugraph: kernelGraphFromProgram(part.sub.program) }));
  return { plan, parts, ...stitchParts(plan.expanded, parts) };
}

const storageOf = (s: ReturnType<typeof stitchedLowering>) => Object.fromEntries([...s.storage].map(([t, id]) => [s.plan.label(t), id]));

describe('partitionProgram: where and why it cuts', () => {
  it('cuts around a transpose: the operators before and after are parts of their own, the transpose its pre-defined kernel', () => {
    const plan = partitionProgram(transposed());
    expect(plan.parts.map((p) => p.plan)).toEqual(['search', 'per-op', 'search']);
    expect(plan.parts[1]!.nodes.map((n) => n.op)).toEqual(['transpose']);
    expect(plan.cuts).toHaveLength(1);
    expect(plan.cuts[0]!.reason).toBe('unsupported-operator');
    // The storage tensors at the cut: silu's result in, the transpose's out.
    expect(plan.parts[0]!.sub.outputs).toEqual(plan.parts[1]!.sub.inputs);
    expect(plan.parts[2]!.sub.inputs[0]).toBe(plan.parts[1]!.sub.outputs[0]);
    expect(plan.cuts[0]!.tensors).toEqual([...plan.parts[1]!.sub.inputs, ...plan.parts[1]!.sub.outputs].map(plan.label));
    // Subprograms are programs of their own: the storage tensors are their inputs.
    expect(plan.parts[2]!.sub.program.inputSpecs.map((s) => s.shape)).toEqual([[8, 8], [8, 16]]);
  });

  it('puts operators whose readers all come after a cut with those readers: rmsnorm(q) joins the matmul with a transposed k', () => {
    const program = buildProgram('qk', (g) => {
      const k = g.transpose(g.input('k', [8, 16], 'f32'), [1, 0]);
      return { s: g.matmul(g.rmsNorm(g.input('q', [8, 16], 'f32')), k) };
    });
    const plan = partitionProgram(program);
    expect(plan.parts.map((p) => [p.plan, p.nodes.length])).toEqual([['per-op', 1], ['search', 7]]);
    // The transposed k is the stored tensor: %n in the listing, input tn of the subprogram.
    expect(plan.parts[1]!.sub.program.inputSpecs.map((s) => s.name)).toEqual(['q', `t${plan.label(plan.parts[0]!.nodes[0]!).slice(1)}`]);
  });

  it('cuts an exp of an exp where it stores least, leaving both sides verifiable', () => {
    const plan = partitionProgram(nestedSoftmax());
    expect(nestedExps(plan.expanded.nodes.filter((n) => n.op !== 'input' && n.op !== 'const'))).toHaveLength(1);
    expect(plan.cuts.map((c) => c.reason)).toEqual(['nested-exp']);
    expect(plan.parts).toHaveLength(2);
    // softmax(x)·w (64 elements) is stored, not softmax(x) (128): the matmul goes with the first softmax.
    expect(plan.parts[0]!.nodes.map((n) => n.op)).toEqual(['reduce', 'binary', 'unary', 'reduce', 'binary', 'matmul']);
    for (const part of plan.parts) expect(nestedExps(part.nodes)).toEqual([]);
  });

  it('searches outputs apart when they share no computed value, together when they do', () => {
    const apart = partitionProgram(independentOutputs());
    expect(apart.parts).toHaveLength(2);
    expect(apart.cuts.map((c) => c.reason)).toEqual(['independent']);
    expect(apart.parts.map((p) => p.sub.program.outputs.length)).toEqual([1, 1]);
    expect(partitionProgram(sharedOutputs()).parts).toHaveLength(1);
  });

  it('cuts a part over the operator limit, storing as little as it can', () => {
    const plan = partitionProgram(nestedSoftmax(), { maxOperators: 4 });
    expect(plan.parts.every((p) => p.nodes.length <= 4)).toBe(true);
    expect(plan.cuts.some((c) => c.reason === 'size')).toBe(true);
    expect(plan.parts.flatMap((p) => p.nodes)).toHaveLength(11);
  });

  it('leaves a program it can search whole as one part', () => {
    const plan = partitionProgram(sharedOutputs());
    expect(plan.cuts).toEqual([]);
    expect(plan.parts[0]!.nodes).toHaveLength(plan.expanded.nodes.filter((n) => n.op !== 'input' && n.op !== 'const').length);
  });
});

describe('stitching and verification part by part', () => {
  it('stitched per-operator lowerings verify whole, and each part slices back out as it went in', async () => {
    for (const program of [transposed(), independentOutputs(), nestedSoftmax()]) {
      const stitched = stitchedLowering(program, 5);
      stitched.parts.forEach((part) => {
        const ids = [...part.sub.inputs, ...part.sub.outputs].map((t) => stitched.storage.get(t)!);
        const slice = sliceGraph(stitched.graph, ids.slice(0, part.sub.inputs.length), ids.slice(part.sub.inputs.length));
        expect(slice.canonicalJSON()).toBe(part.ugraph.canonicalJSON());
      });
      const whole = await verify(program, stitched.graph);
      expect(whole.verdict).toBe(program.name === 'nested_softmax' ? 'unverifiable' : 'equivalent');
      const parts = await verifyParts(program, stitched.graph, storageOf(stitched), { partition: { maxOperators: 5 } });
      expect(parts.accepted, JSON.stringify(parts)).toBe(true);
    }
  }, 60_000);

  it('verifyParts rejects a stitched μGraph with a wrong part', async () => {
    const program = nestedSoftmax();
    const plan = partitionProgram(program);
    const last = plan.parts[1]!;
    // exp without the normalization: the same interface as the second softmax, another function.
    const g = new KernelGraphBuilder();
    const [shape, dtype] = [last.sub.inputs[0]!.shape, last.sub.inputs[0]!.dtype];
    g.output('y', g.exp(g.input('s', shape, dtype)));
    const parts = [{ sub: plan.parts[0]!.sub, ugraph: kernelGraphFromProgram(plan.parts[0]!.sub.program) }, { sub: last.sub, ugraph: g.build() }];
    const stitched = stitchParts(plan.expanded, parts);
    const storage = Object.fromEntries([...stitched.storage].map(([t, id]) => [plan.label(t), id]));
    const result = await verifyParts(program, stitched.graph, storage);
    expect(result.accepted).toBe(false);
    expect(result.parts.map((p) => p.accepted)).toEqual(['equivalent', 'rejected']);
    // A storage map that misnames the output is refused before any part is verified.
    expect((await verifyParts(program, stitched.graph, { ...storage, [plan.label(plan.expanded.outputs[0]!.tensor)]: 0 })).accepted).toBe(false);
  }, 60_000);
});

describe('superoptimize on programs it must cut', () => {
  const search = (program: Program) => superoptimize(program, { limits: { timeMs: 8_000 } });

  it('a transpose between two fusable parts: each part one fused kernel, verified whole, right on the GPU', async () => {
    const program = transposed();
    const result = await search(program);
    expect(result.source).toBe('search');
    const { parts, cuts } = result.report.partition;
    expect(cuts.map((c) => c.reason)).toEqual(['unsupported-operator']);
    expect(parts.map((p) => [p.source, p.kernels, p.customKernels])).toEqual([['search', 1, 1], ['per-op', 1, 0], ['search', 1, 1]]);
    expect(result.ugraph.nodes.map((n) => n.op)).toEqual(['custom', 'transpose', 'custom']);
    expect(result.verification?.verdict).toBe('equivalent');
    expect((await verify(program, result.ugraph)).verdict).toBe('equivalent');
    // Counters are the parts' sums.
    expect(result.report.verified).toBeGreaterThanOrEqual(2);
    expect(result.report.explored).toBeGreaterThan(0);
    await expectGpuMatches(gpu().device, program, compile(program, { ugraph: result.ugraph }).compiled, 'f32', { graph: result.ugraph, seed: 7 });
  }, 120_000);

  it('an exp of an exp: parts searched and verified on their own; the whole is unverifiable, verifyParts accepts it', async () => {
    const program = nestedSoftmax();
    const result = await search(program);
    expect(result.source).toBe('search');
    expect(result.report.partition.parts.map((p) => p.source)).toEqual(['search', 'search']);
    expect(result.verification?.verdict).toBe('unverifiable');
    expect(result.report.pick).toMatch(/unverifiable whole/);
    const parts = await verifyParts(program, result.ugraph, result.report.partition.storage);
    expect(parts.accepted).toBe(true);
    expect(parts.parts.map((p) => p.accepted)).toEqual(['equivalent', 'equivalent']);
    await expectGpuMatches(gpu().device, program, compile(program, { ugraph: result.ugraph }).compiled, 'f32', { graph: result.ugraph, seed: 8 });
  }, 120_000);

  it('exp(exp(x)): two one-operator parts, so exactly the per-operator lowering, and the report says where it cut', async () => {
    const program = buildProgram('nested_exp', (g) => ({ y: g.exp(g.exp(g.input('x', [4, 8], 'f32'))) }));
    const result = await search(program);
    expect(result.source).toBe('per-op-fallback');
    expect(result.ugraph.canonicalJSON()).toBe(kernelGraphFromProgram(program).canonicalJSON());
    expect(result.report.partition.cuts.map((c) => c.reason)).toEqual(['nested-exp']);
    expect(result.report.partition.parts.map((p) => p.why)).toEqual([expect.stringMatching(/one operator/), expect.stringMatching(/one operator/)]);
  }, 60_000);

  it('a program it can search whole: searched as before, the report says one part and no cuts', async () => {
    const program = buildProgram('one_part', (g) => ({ y: g.silu(g.matmul(g.input('x', [8, 16], 'f32'), g.input('w', [16, 8], 'f32'))) }));
    const result = await search(program);
    expect(result.source).toBe('search');
    expect(result.report.partition.cuts).toEqual([]);
    expect(result.report.partition.parts.map((p) => [p.why, p.operators, p.kernels])).toEqual([['the whole program', 2, 1]]);
    expect(result.report.phases.map((p) => p.phase)).toEqual(['target', 'generate', 'select', 'verify']);
  }, 60_000);

  it('two independent outputs: two searches, stitched, verified whole, right on the GPU', async () => {
    const program = independentOutputs();
    const result = await search(program);
    expect(result.source).toBe('search');
    expect(result.report.partition.parts.map((p) => [p.source, p.outputs.length])).toEqual([['search', 1], ['search', 1]]);
    expect(result.ugraph.outputs.map((o) => o.name)).toEqual(['a', 'b']);
    expect(result.verification?.verdict).toBe('equivalent');
    await expectGpuMatches(gpu().device, program, compile(program, { ugraph: result.ugraph }).compiled, 'f32', { graph: result.ugraph, seed: 9 });
  }, 120_000);

  it('the same μGraph whatever the number of threads: in this thread, one worker, two workers (parts at once)', async () => {
    const program = transposed();
    const limits = { timeMs: Number.POSITIVE_INFINITY, maxExplored: 20_000 };
    const [here, one, two] = [
      await superoptimize(program, { limits, threads: 0 }),
      await superoptimize(program, { limits, threads: 1 }),
      await superoptimize(program, { limits, threads: 2 }),
    ];
    expect(here.source).toBe('search');
    expect(one.ugraph.canonicalJSON()).toBe(here.ugraph.canonicalJSON());
    expect(two.ugraph.canonicalJSON()).toBe(here.ugraph.canonicalJSON());
    const counts = (r: typeof here) => [r.report.explored, r.report.screened, r.report.verified, r.candidates.map((c) => c.ugraph.hash)];
    expect(counts(one)).toEqual(counts(here));
    expect(counts(two)).toEqual(counts(here));
  }, 180_000);
});
