/**
 * The lock and the finite-field verifier (issue 19 item 5; src/build/equivalence-check.ts,
 * src/cache/lock-hit.ts, src/cache/verified.ts):
 *
 * - a new entry records the verifier's verdict at full shape (seeds, bound), and this
 *   machine marks it verified (<cacheDir>/verified/<contentHash>);
 * - a re-sealed entry whose μGraph computes something else (an `add` turned into a `sub`, a
 *   scale times 10: both were used by builds when tried, before the verifier) is rejected
 *   by a frozen build, naming the entry file and the fix, rebuilt by another build, and
 *   failed by `mugraph verify`; both with `search: false` (the per-operator lowering, which a
 *   hit recomputes) and with the search, whose choice a hit cannot recompute, so only the verifier
 *   stands between such an entry and the build, and where a correct μGraph that is not the
 *   per-operator lowering is accepted;
 * - a hit this machine verified before is not verified again (ProgramBuild.equivalence.by:
 *   'mark'), while a mark removed, of another verifier, or of another content hash is no mark;
 * - the per-operator lowering of a program the field cannot evaluate (exp of exp) is
 *   recorded 'unverifiable' and used, trusted by construction; so is a searched μGraph stitched
 *   around the exp of an exp whose every part verifies, recorded with how to verify it again
 *   part by part; no other unverifiable μGraph is;
 * - when the compiler's choice is rejected, the per-operator lowering is written instead.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, ensureEntry } from '../../src/build/build-module.js';
import { chooseVerified } from '../../src/build/equivalence-check.js';
import { type CompileOutcome, compileProgram } from '../../src/build/compiler.js';
import { CorruptEntryError } from '../../src/cache/entry.js';
import { VERIFIER_ID } from '../../src/cache/verified.js';
import { verify } from '../../src/cli/verify.js';
import type { Program } from '../../src/frontend/program.js';
import { tensorProgram } from '../../src/index.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import type { KernelGraphJSON } from '../../src/ugraph/kernel-graph.js';
import { webgpuDefaults } from '../../src/ugraph/target.js';
import { contextWith, MODULE, PROJECT, reseal, scaledProgram } from './entries.js';

/**
 * Whether the build contexts below search (the compiler's choice is then not reproducible on
 * a hit: only the verifier stands between a re-sealed entry and the build) or not
 * (`search: false`: the per-operator lowering, which every hit recomputes and compares).
 */
const compilerMock = { searching: false };

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-lock-verify-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

let dirs = 0;
/** A fresh lock and scratch cache, and build contexts on them. */
function place() {
  const dir = join(scratch, `p${dirs++}`);
  const lockDir = join(dir, 'lock');
  const cacheDir = join(dir, 'cache');
  return {
    lockDir, cacheDir,
    context: (frozen: boolean, cache = cacheDir) => contextWith({ lockDir, cacheDir: cache, frozen, ...(compilerMock.searching ? {} : { search: false }) }),
    mark: (contentHash: string) => join(cacheDir, 'verified', contentHash),
  };
}

type UGraph = { nodes: Record<string, unknown>[] };
/** The kernel graph's nodes and every custom kernel's block operators. */
const operators = (g: UGraph) => g.nodes.flatMap((n) => [n, ...((n as { block?: { ops: UGraph['nodes'] } }).block?.ops ?? [])]);
const addToSub = (g: UGraph) => { operators(g).find((n) => n.op === 'binary' && n.fn === 'add')!.fn = 'sub'; };
const scaleTimesTen = (g: UGraph) => { const n = operators(g).find((m) => m.op === 'scale')!; n.c = (n.c as number) * 10; };
const EDITS: Array<[string, (g: UGraph) => void]> = [['an add turned into a sub', addToSub], ['a scale constant times 10', scaleTimesTen]];
const COMPUTES_SOMETHING_ELSE = /its μGraph does not compute the program: the finite-field verifier finds output "z" different at \[\d+, \d+\] \(seed \d+: \d+ in the program, \d+ in the μGraph, mod p\)/;

describe('a new entry', () => {
  it("records the verifier's verdict at full shape, and is marked verified on this machine", async () => {
    const { context, mark } = place();
    const built = await ensureEntry(scaledProgram(), MODULE, context(false));
    const record = built.entry.verification.equivalence;
    expect(record).toEqual({ verdict: 'equivalent', seeds: [expect.any(Number), expect.any(Number)], falseAcceptBound: expect.any(Number), fullShape: true });
    expect(record.falseAcceptBound).toBeGreaterThan(0);
    expect(record.falseAcceptBound).toBeLessThan(1e-9);
    expect(built.equivalence).toMatchObject({ by: 'verifier', verdict: 'equivalent' });
    // The time is reported, never written: the file holds no "ms".
    expect(await readFile(built.file, 'utf8')).not.toMatch(/"ms"/);
    expect(await readFile(mark(built.entry.contentHash), 'utf8')).toBe(`${VERIFIER_ID}\n`);
  });
});

describe('a re-sealed entry whose μGraph computes something else', () => {
  for (const searching of [false, true]) {
    describe(searching ? 'with a searching compiler (its choice not reproducible)' : 'with the per-operator compiler', () => {
      beforeAll(() => { compilerMock.searching = searching; });
      afterAll(() => { compilerMock.searching = false; });

      it.each(EDITS)('%s: a frozen build rejects it naming the entry file and the fix; another build rebuilds it', async (_, edit) => {
        const { context, mark } = place();
        const built = await ensureEntry(scaledProgram(), MODULE, context(false));
        const tampered = reseal(built.entry, (e) => edit(e.ugraph as unknown as UGraph));
        await writeFile(built.file, tampered);
        const tamperedHash = (JSON.parse(tampered) as { contentHash: string }).contentHash;

        const frozen = ensureEntry(scaledProgram(), MODULE, context(true));
        await expect(frozen).rejects.toThrow(CorruptEntryError);
        await expect(frozen).rejects.toThrow(`${built.file}: corrupt or modified lock entry: `);
        await expect(frozen).rejects.toThrow(COMPUTES_SOMETHING_ELSE);
        await expect(frozen).rejects.toThrow('Delete the file and run `npx mugraph warm src/model/small.tensor.ts`');
        await expect(readFile(mark(tamperedHash))).rejects.toThrow(/ENOENT/); // never marked verified

        const rebuilt = await ensureEntry(scaledProgram(), MODULE, context(false));
        expect(rebuilt.status).toBe('rebuilt');
        expect(rebuilt.reason).toMatch(COMPUTES_SOMETHING_ELSE);
        expect(rebuilt.entry).toEqual(built.entry);
      });
    });
  }

  it('mugraph verify fails it, naming the file; it passes the others, showing both checks', async () => {
    const { lockDir, cacheDir } = place();
    const moduleFile = join(PROJECT, 'src/model/small.tensor.ts');
    const built = await buildTensorModule(moduleFile, contextWith({ lockDir, cacheDir, frozen: false }));
    const victim = built.programs.find((p) => p.program.name === 'scaled_sum')!;
    await writeFile(victim.file, reseal(victim.entry, (e) => addToSub(e.ugraph as unknown as UGraph)));
    const lines: string[] = [];
    const report = await verify({ globs: ['src/model/small.tensor.ts'], config: await configFor(lockDir, cacheDir), log: (line) => lines.push(line) });
    const output = lines.join('\n');
    expect(report.exitCode, output).toBe(1);
    expect(output).toMatch(new RegExp(`FAIL {5}scaled_sum: ${victim.file.replaceAll('.', '\\.')}: corrupt or modified lock entry: its μGraph does not compute the program: `
      + 'the finite-field verifier finds output "z" different at'));
    // The other entry: the verifier ran again (it was marked verified when compiled), then the reference check where there is an adapter.
    expect(output).toMatch(/OK {7}row_norm {2}\d+ kernels? {2}field equivalent \(2 seeds, bound \d\.\de-\d+\) \d+ ms; (reference check seeds 1,2: f\w+ rel L2 |not run on an adapter)/);
  });
});

/** A config module for `mugraph verify` on the fixture project with this lock and cache. */
async function configFor(lockDir: string, cacheDir: string): Promise<string> {
  const file = join(lockDir, '..', 'mugraph.config.mjs');
  await writeFile(file, `export default ${JSON.stringify({ root: PROJECT, lockDir, cacheDir })};\n`);
  return file;
}

describe('a hit this machine verified before', () => {
  it('is not verified again; a removed mark, a mark of another verifier or an edited entry is', async () => {
    const { context, mark, cacheDir } = place();
    const built = await ensureEntry(scaledProgram(), MODULE, context(false));
    expect(built.equivalence.by).toBe('verifier');
    const hit = async (cache = cacheDir) => (await ensureEntry(scaledProgram(), MODULE, context(true, cache))).equivalence;

    expect(await hit()).toMatchObject({ by: 'mark', verdict: 'equivalent' });
    expect(await hit()).toMatchObject({ by: 'mark' });
    // Another machine (another scratch cache): verified once, then marked there too.
    const other = join(cacheDir, '..', 'other-cache');
    expect(await hit(other)).toMatchObject({ by: 'verifier', verdict: 'equivalent' });
    expect(await hit(other)).toMatchObject({ by: 'mark' });

    await rm(mark(built.entry.contentHash));
    expect(await hit()).toMatchObject({ by: 'verifier' });
    expect(await hit()).toMatchObject({ by: 'mark' });

    await writeFile(mark(built.entry.contentHash), 'finite-field-0\n');
    expect(await hit()).toMatchObject({ by: 'verifier' });

    // A harmless edit (a label) re-sealed: another content hash, so verified again.
    await writeFile(built.file, reseal(built.entry, (e) => { e.program.name = 'relabelled'; }));
    expect(await hit()).toMatchObject({ by: 'verifier', verdict: 'equivalent' });
    expect(await hit()).toMatchObject({ by: 'mark' });
  });

  it('buildTensorModule reports the verification as its own phase', async () => {
    const { lockDir, cacheDir } = place();
    const moduleFile = join(PROJECT, 'src/model/small.tensor.ts');
    await buildTensorModule(moduleFile, contextWith({ lockDir, cacheDir, frozen: false }));
    const fresh = await buildTensorModule(moduleFile, contextWith({ lockDir, cacheDir: join(cacheDir, '..', 'fresh'), frozen: true }));
    const marked = await buildTensorModule(moduleFile, contextWith({ lockDir, cacheDir, frozen: true }));
    expect(fresh.programs.map((p) => p.equivalence.by)).toEqual(['verifier', 'verifier']);
    expect(marked.programs.map((p) => p.equivalence.by)).toEqual(['mark', 'mark']);
    expect(fresh.timings.verifyMs).toBeGreaterThan(0);
    expect(marked.timings.verifyMs).toBeGreaterThanOrEqual(0);
  });
});

describe('with a searching compiler (its choice not reproducible)', () => {
  beforeAll(() => { compilerMock.searching = true; });
  afterAll(() => { compilerMock.searching = false; });

  /** z = (x + y) · c as one custom kernel, a workgroup per row: not the per-operator lowering. */
  function oneKernel(c: number): KernelGraphJSON {
    const g = new KernelGraphBuilder();
    const x = g.input('x', [4, 8]);
    const y = g.input('y', [4, 8]);
    const [z] = g.customKernel({ grid: 4 }, (b) => {
      b.output(b.scale(b.accumSum(b.add(b.input(x, { imap: { x: 0 } }), b.input(y, { imap: { x: 0 } }))), c), { omap: { x: 0 } });
    });
    g.output('z', z!);
    return g.build().toJSON();
  }

  it('a correct μGraph other than the per-operator lowering is used; a wrong one is rejected', async () => {
    const { context } = place();
    const built = await ensureEntry(scaledProgram(), MODULE, context(false));
    const rewrite = (c: number) => reseal(built.entry, (e) => {
      e.ugraph = oneKernel(c) as unknown as typeof e.ugraph;
      e.report.kernels = 1;
      e.report.pipelines = 1;
      e.report.customKernels = 1;
    });
    await writeFile(built.file, rewrite(0.5));
    const hit = await ensureEntry(scaledProgram(), MODULE, context(true));
    expect(hit.status).toBe('hit');
    expect(hit.equivalence).toMatchObject({ by: 'verifier', verdict: 'equivalent' });

    await writeFile(built.file, rewrite(5));
    await expect(ensureEntry(scaledProgram(), MODULE, context(true))).rejects.toThrow(COMPUTES_SOMETHING_ELSE);
  });
});

/** y = exp(exp(x)): the field cannot evaluate an exp of an exp (docs/equivalence.md §1). */
function expOfExp(): Program {
  return tensorProgram('exp_exp', (g) => ({ y: g.exp(g.exp(g.input('x', [4, 8], 'f32'))) })).program as Program;
}

describe('a program the field cannot evaluate (exp of exp)', () => {
  it("its per-operator lowering is recorded 'unverifiable' and used, trusted by construction", async () => {
    const { context } = place();
    const built = await ensureEntry(expOfExp(), MODULE, context(false));
    expect(built.entry.verification.equivalence).toMatchObject({ verdict: 'unverifiable', seeds: [], falseAcceptBound: 0, fullShape: true });
    expect(built.entry.verification.equivalence.reason).toMatch(/exp.*; the μGraph is the per-operator lowering, trusted by construction$/);
    expect((await ensureEntry(expOfExp(), MODULE, context(true))).equivalence).toMatchObject({ by: 'mark', verdict: 'unverifiable' });
    expect((await ensureEntry(expOfExp(), MODULE, context(true, join(scratch, 'exp-fresh')))).equivalence).toMatchObject({ by: 'verifier', verdict: 'unverifiable' });
  });

  it('the search finds nothing it can verify, so the entry holds the per-operator lowering, unverifiable and used', async () => {
    compilerMock.searching = true;
    try {
      const { context } = place();
      const built = await ensureEntry(expOfExp(), MODULE, context(false));
      expect(built.entry.report.source).toBe('per-op-fallback');
      expect(built.entry.verification).toMatchObject({ method: 'per-operator-lowering', equivalence: { verdict: 'unverifiable' } });
      expect(built.entry.verification.note).toMatch(/^the search found no verified μGraph: /);
    } finally {
      compilerMock.searching = false;
    }
  });

  it("an entry claiming 'equivalent' for it is rejected", async () => {
    const { context } = place();
    const built = await ensureEntry(expOfExp(), MODULE, context(false));
    await writeFile(built.file, reseal(built.entry, (e) => {
      e.verification.equivalence = { verdict: 'equivalent', seeds: [1, 2], falseAcceptBound: 1e-12, fullShape: true };
    }));
    await expect(ensureEntry(expOfExp(), MODULE, context(true))).rejects.toThrow(
      `${built.file}: corrupt or modified lock entry: its verification record says "equivalent", the finite-field verifier finds "unverifiable"`);
  });

  it('no other unverifiable μGraph is used', async () => {
    compilerMock.searching = true;
    try {
      const { context } = place();
      const built = await ensureEntry(expOfExp(), MODULE, context(false));
      const g = new KernelGraphBuilder();
      const x = g.input('x', [4, 8]);
      const [y] = g.customKernel({ grid: 4 }, (b) => { b.output(b.exp(b.exp(b.accumSum(b.input(x, { imap: { x: 0 } })))), { omap: { x: 0 } }); });
      g.output('y', y!);
      await writeFile(built.file, reseal(built.entry, (e) => {
        e.ugraph = g.build().toJSON() as unknown as typeof e.ugraph;
        Object.assign(e.report, { kernels: 1, pipelines: 1, customKernels: 1 });
      }));
      await expect(ensureEntry(expOfExp(), MODULE, context(true))).rejects.toThrow(
        /the finite-field verifier cannot verify its μGraph \(.*exp.*\), and only the per-operator lowering is used unverified/);
    } finally {
      compilerMock.searching = false;
    }
  });
});

/** softmax(softmax(x)·w): an exp of an exp, which the search cuts between the exps and stitches (docs/search.md §6.5). */
function nestedSoftmax(): Program {
  return tensorProgram('nested_softmax', (g) => {
    const x = g.input('x', [8, 16], 'f32');
    return { y: g.softmax(g.matmul(g.softmax(x, -1), g.input('w', [16, 8], 'f32')), -1) };
  }).program as Program;
}

describe('a searched μGraph stitched around an exp of an exp', () => {
  it('is used, verified part by part: the entry records how, a hit on another machine verifies it the same way, an edited storage map is rejected', async () => {
    compilerMock.searching = true;
    try {
      const { context } = place();
      const built = await ensureEntry(nestedSoftmax(), MODULE, context(false));
      expect(built.entry.report.source).toBe('search');
      expect(built.entry.report.customKernels).toBeGreaterThanOrEqual(2);
      const { equivalence } = built.entry.verification;
      expect(equivalence).toMatchObject({ verdict: 'unverifiable', fullShape: true, parts: { maxOperators: expect.any(Number) } });
      expect(equivalence.reason).toMatch(/verified part by part at full shape: 2 parts, 2 equivalent, 0 their per-operator lowering$/);
      expect(equivalence.falseAcceptBound).toBeGreaterThan(0);
      // Another machine (a fresh scratch cache) verifies the hit again, part by part.
      expect((await ensureEntry(nestedSoftmax(), MODULE, context(true, join(scratch, 'stitched-fresh')))).equivalence)
        .toMatchObject({ by: 'verifier', verdict: 'unverifiable' });
      // A storage map naming another tensor at the cut: the part no longer computes its subprogram.
      const storage = { ...equivalence.parts!.storage };
      const cut = Object.keys(storage).find((name) => name.startsWith('%') && storage[name] !== (built.entry.ugraph as unknown as { outputs: { tensor: number }[] }).outputs[0]!.tensor)!;
      storage[cut] = 0;
      await writeFile(built.file, reseal(built.entry, (e) => { e.verification.equivalence = { ...equivalence, seeds: [...equivalence.seeds], parts: { ...equivalence.parts!, storage } }; }));
      await expect(ensureEntry(nestedSoftmax(), MODULE, context(true, join(scratch, 'stitched-fresh-2'))))
        .rejects.toThrow(/cannot verify its μGraph whole \(.*\), nor part by part: /);
    } finally {
      compilerMock.searching = false;
    }
  }, 120_000);
});

describe('chooseVerified', () => {
  async function withAddTurnedSub(chosen: CompileOutcome): Promise<CompileOutcome> {
    const json = structuredClone(chosen.ugraph.toJSON()) as unknown as UGraph;
    addToSub(json);
    const { KernelGraph } = await import('../../src/ugraph/kernel-graph.js');
    return { ...chosen, ugraph: KernelGraph.fromJSON(json as unknown as KernelGraphJSON) };
  }

  it("falls back to the per-operator lowering when the compiler's choice computes something else", async () => {
    const program = scaledProgram();
    const chosen = await compileProgram(program, { enabled: false }, webgpuDefaults);
    const picked = await chooseVerified(program, await withAddTurnedSub(chosen), webgpuDefaults);
    expect(picked.outcome.ugraph.canonicalJSON()).toBe(chosen.ugraph.canonicalJSON());
    expect(picked.record.verdict).toBe('equivalent');
    expect(picked.fellBack).toMatch(/does not compute the program/);
  });

  it("does not take the search's verdict for another μGraph than the one it verified", async () => {
    const program = scaledProgram();
    const searched = await compileProgram(program, {}, webgpuDefaults);
    expect(searched.verified?.result.verdict).toBe('equivalent');
    const picked = await chooseVerified(program, await withAddTurnedSub(searched), webgpuDefaults);
    expect(picked.outcome.record.source).toBe('per-op-fallback');
    expect(picked.fellBack).toMatch(/does not compute the program/);
  });
});
