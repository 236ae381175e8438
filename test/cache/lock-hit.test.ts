/**
 * The lock-hit checks (src/cache/lock-hit.ts), in the build and in `mugraph verify`: an
 * entry edited and re-sealed (a correct content hash over the edit, as anyone can compute)
 * is used only if its μGraph has the program's interface by position, fits the target and
 * is what the compiler produces for the program. A rejected entry fails a frozen build
 * naming the entry file and the command that fixes it, and is rebuilt otherwise, the reason
 * reported. Names are not part of the interface: an entry compiled from a program with
 * other names serves this one. A μGraph that does not compile is a CorruptEntryError too.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, ensureEntry } from '../../src/build/build-module.js';
import { CorruptEntryError } from '../../src/cache/entry.js';
import { regenerateEntry } from '../../src/cache/lock-hit.js';
import { verify } from '../../src/cli/verify.js';
import { KernelGraphBuilder } from '../../src/ugraph/builder.js';
import { KernelGraph, type KernelGraphJSON } from '../../src/ugraph/kernel-graph.js';
import { profileFromLimits } from '../../src/ugraph/target.js';
import { compiledEntry, lockContext, MODULE, PROJECT, reseal, scaledProgram } from './entries.js';

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-lock-hit-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

type Edit = (ugraph: { inputs: { shape: number[]; dtype: string; name: string }[]; nodes: Record<string, unknown>[]; outputs: { name: string; tensor: number }[] }) => void;

/** The kernel graph's nodes and every custom kernel's block operators (the searched μGraph is one custom kernel). */
const operators = (g: Parameters<Edit>[0]) => g.nodes.flatMap((n) => [n, ...((n as { block?: { ops: Record<string, unknown>[] } }).block?.ops ?? [])]);

/** Re-sealed edits of the scaled program's μGraph, each with the rejection it must get. */
const EDITS: Array<[string, Edit, RegExp]> = [
  ['other input shapes', (g) => { for (const input of g.inputs) input.shape = [8, 4]; },
    /does not have the program's interface: input 0 \("x"\) is f32\[4, 8\] in the program but f32\[8, 4\] in the μGraph/],
  ['other dtypes', (g) => { for (const input of g.inputs) input.dtype = 'f16'; }, /input 0 \("x"\) is f32\[4, 8\] in the program but f16\[4, 8\]/],
  ['an extra input', (g) => { g.inputs.push({ name: 'unused', shape: [4, 8], dtype: 'f32' }); for (const n of g.nodes) n.inputs = (n.inputs as number[]).map((i) => (i >= 2 ? i + 1 : i)); g.outputs[0]!.tensor++; },
    /the program has 2 input\(s\), the μGraph 3/],
  ['an extra output', (g) => { g.outputs.push({ name: 'sum', tensor: 2 }); }, /the program has 1 output\(s\), the μGraph 2/],
  ['another constant (same interface, another function)', (g) => { operators(g).find((n) => n.op === 'scale')!.c = 0.25; },
    /its μGraph does not compute the program: the finite-field verifier finds output "z" different at \[\d+, \d+\]/],
];

describe('a re-sealed entry is checked against the program it serves', () => {
  it.each(EDITS)('%s: a frozen build fails naming the entry file and the fix; otherwise it is rebuilt', async (_, edit, reason) => {
    const lockDir = join(scratch, `edit-${EDITS.findIndex((e) => e[1] === edit)}`);
    const { built } = await compiledEntry(lockDir);
    await writeFile(built.file, reseal(built.entry, (e) => edit(e.ugraph as unknown as Parameters<Edit>[0])));

    const frozen = ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, true));
    await expect(frozen).rejects.toThrow(CorruptEntryError);
    await expect(frozen).rejects.toThrow(reason);
    await expect(frozen).rejects.toThrow(`${built.file}: corrupt or modified lock entry`);
    await expect(frozen).rejects.toThrow('Delete the file and run `npx mugraph warm src/model/small.tensor.ts`');

    const rebuilt = await ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, false));
    expect(rebuilt.status).toBe('rebuilt');
    expect(rebuilt.reason).toMatch(reason);
    expect(rebuilt.entry.ugraph).toEqual(built.entry.ugraph);
  });

  it('a μGraph over the target limits is rejected, naming the target', async () => {
    const tiny = profileFromLimits({ maxComputeWorkgroupsPerDimension: 2 }, [], 'tiny-grids');
    const lockDir = join(scratch, 'target');
    const built = await ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, false, tiny));
    // One custom kernel, a workgroup per row: the right interface (and function), but a grid of 4 > 2.
    const g = new KernelGraphBuilder();
    const x = g.input('x', [4, 8]);
    const y = g.input('y', [4, 8]);
    const [z] = g.customKernel({ grid: 4 }, (b) => {
      b.output(b.scale(b.accumSum(b.add(b.input(x, { imap: { x: 0 } }), b.input(y, { imap: { x: 0 } }))), 0.5), { omap: { x: 0 } });
    });
    g.output('z', z!);
    await writeFile(built.file, reseal(built.entry, (e) => { e.ugraph = g.build().toJSON() as unknown as typeof e.ugraph; }));
    const frozen = ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, true, tiny));
    await expect(frozen).rejects.toThrow(CorruptEntryError);
    await expect(frozen).rejects.toThrow(/its μGraph does not fit target "tiny-grids": node 0 \(custom\) > block: grid.x = 4 exceeds maxComputeWorkgroupsPerDimension 2/);
  });

  it('names are labels: an entry compiled from a program with other names serves this one, relabelled', async () => {
    const lockDir = join(scratch, 'names');
    await compiledEntry(lockDir, scaledProgram(['a', 'b']));
    const hit = await ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, true));
    expect(hit.status).toBe('hit');
    expect((hit.entry.ugraph as KernelGraphJSON).inputs.map((t) => t.name)).toEqual(['a', 'b']);
    expect(hit.compiled.inputs.map((t) => t.name)).toEqual(['x', 'y']);
    expect(hit.compiled.outputs.map((t) => t.name)).toEqual(['z']);
  });
});

describe('regenerateEntry', () => {
  it('a μGraph that does not compile for the program is a CorruptEntryError naming the file, not a bare Error', async () => {
    const { built } = await compiledEntry(join(scratch, 'regenerate'));
    const ugraph = built.entry.ugraph as KernelGraphJSON;
    const extraInput = KernelGraph.fromJSON({ ...ugraph, inputs: [...ugraph.inputs, { name: 'unused', shape: [1], dtype: 'f32' }],
      nodes: ugraph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => (i >= 2 ? i + 1 : i)) })),
      outputs: ugraph.outputs.map((o) => ({ ...o, tensor: o.tensor + 1 })) });
    const stored = { entry: built.entry, ugraph: extraInput, file: built.file };
    expect(() => regenerateEntry(stored, scaledProgram())).toThrow(CorruptEntryError);
    expect(() => regenerateEntry(stored, scaledProgram())).toThrow(`${built.file}: corrupt or modified lock entry: its μGraph does not compile to WGSL`);
  });

  it("an entry whose report does not give its μGraph's kernel counts is rejected: the count a reviewer reads is the one the tools print", async () => {
    const lockDir = join(scratch, 'report-counts');
    const { built } = await compiledEntry(lockDir);
    for (const field of ['kernels', 'pipelines', 'customKernels'] as const) {
      const value = built.entry.report[field] + 1;
      await writeFile(built.file, reseal(built.entry, (e) => { e.report[field] = value; }));
      const frozen = ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, true));
      await expect(frozen).rejects.toThrow(CorruptEntryError);
      await expect(frozen).rejects.toThrow(`its report says ${field} ${value}, its μGraph compiles to ${built.entry.report[field]}`);
    }
  });
});

describe('mugraph verify', () => {
  it('makes the same checks: a re-sealed entry with other shapes fails, naming the file and the reason', async () => {
    const project = join(scratch, 'verify');
    await cp(join(PROJECT, 'src/model'), join(project, 'src/model'), { recursive: true });
    await rm(join(project, 'src/model/broken.tensor.ts'));
    const lockDir = join(project, 'mugraph.lock');
    const config = join(project, 'mugraph.config.mjs');
    await writeFile(config, `export default ${JSON.stringify({ root: project, lockDir })};\n`);
    const built = await buildTensorModule(join(project, 'src/model/small.tensor.ts'), lockContext(lockDir, false));
    const victim = built.programs[0]!;
    const [rows, columns] = (victim.entry.ugraph as KernelGraphJSON).inputs[0]!.shape;
    await writeFile(victim.file, reseal(victim.entry, (e) => {
      for (const input of e.ugraph.inputs) input.shape = [columns!, rows!];
    }));
    const lines: string[] = [];
    const report = await verify({ globs: [], config, log: (line) => lines.push(line) });
    const output = lines.join('\n');
    expect(report.exitCode, output).toBe(1);
    expect(output).toMatch(new RegExp(`FAIL {5}${victim.program.name}: ${victim.file.replaceAll('.', '\\.')}: corrupt or modified lock entry: its μGraph does not have the program's interface`));
  });
});
