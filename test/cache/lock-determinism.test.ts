/**
 * The lock changes only on purpose: an entry is a function of its program, configuration
 * and compiler, so two warms of the same programs write the same bytes, however long
 * compiling took (the clock is stubbed to run at two very different speeds), whether the
 * new entries were checked on an adapter and how many modules were compiled at once (one,
 * or all three side by side on the search's worker threads). And an entry has one kernel count: what `warm`
 * prints, what `verify` prints, what the build reports (ProgramEvent.kernels) and what the
 * entry's report says are the same number, the kernel launches, also for a program whose
 * launches share pipelines (ntrans: 15 launches of 8 shaders).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTensorModule, createBuildContext } from '../../src/build/build-module.js';
import { type ProgramEvent, resolveOptions } from '../../src/build/options.js';
import type { LockEntry } from '../../src/cache/entry.js';
import { verify } from '../../src/cli/verify.js';
import { warm } from '../../src/cli/warm.js';

const ROOT = join(import.meta.dirname, '../..');
// Searched: the ones whose search is quick (the determinism of the others is the search's, tested in test/search).
const SEARCHED_PROGRAMS = ['fixtures/programs/small/rmsnorm.tensor.ts', 'fixtures/programs/small/lora.tensor.ts', 'fixtures/programs/small/gated-mlp.tensor.ts'];
const NTRANS = 'fixtures/programs/small/ntrans.tensor.ts';

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-determinism-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** `mugraph warm` of `globs` into `lockDir`, with performance.now() advancing `msPerCall` per call; the lock's files and what warm printed. */
async function warmInto(lockDir: string, globs: string[], options: { check: boolean; msPerCall: number; search?: false; jobs?: number }) {
  const config = join(lockDir, '..', 'mugraph.config.mjs');
  await mkdir(join(lockDir, '..'), { recursive: true });
  await writeFile(config, `export default ${JSON.stringify({ root: ROOT, ...(options.search === false ? { search: false } : {}) })};\n`);
  let now = 0;
  const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += options.msPerCall));
  const lines: string[] = [];
  try {
    const report = await warm({ config, globs, lockDir, cacheDir: join(lockDir, '..', 'cache'), check: options.check, ...(options.jobs ? { jobs: options.jobs } : {}), log: (line) => lines.push(line) });
    expect(report.exitCode, lines.join('\n')).toBe(0);
    return { files: await filesIn(lockDir), lines, programs: report.programs, config };
  } finally {
    clock.mockRestore();
  }
}

async function filesIn(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const)));
}

/** The number before " kernels" in the printed line about `program`. */
function printedKernels(lines: readonly string[], program: string): number {
  const line = lines.find((l) => new RegExp(`\\b${program}\\b.* kernels?\\b`).test(l));
  expect(line, lines.join('\n')).toBeDefined();
  return Number(/(\d+) kernels?\b/.exec(line!)![1]);
}

describe('two warms of the same programs', () => {
  it('write byte-identical entries, whatever compiling took, whether the entries were checked on an adapter and how many modules were searched at once', async () => {
    const first = await warmInto(join(scratch, 'a', 'lock'), SEARCHED_PROGRAMS, { check: true, msPerCall: 1000, jobs: 1 });
    const second = await warmInto(join(scratch, 'b', 'lock'), SEARCHED_PROGRAMS, { check: false, msPerCall: 1, jobs: 3 });
    expect(first.lines.join('\n')).toMatch(/compile [1-9]\d*\.\d\d s {2}checked f/); // compiled "slowly", and measured on the adapter
    const compileSeconds = (lines: string[]) => lines.flatMap((l) => /compile ([\d.]+) s/.exec(l)?.[1] ?? []).map(Number);
    expect(second.lines.join('\n')).toMatch(/compile [\d.]+ s {2}not measured/);
    // The stubbed clock ran 1000 times slower in the first warm: every program "took" longer to compile there.
    compileSeconds(first.lines).forEach((s, i) => expect(s).toBeGreaterThan(compileSeconds(second.lines)[i]!));
    expect(Object.keys(first.files)).toHaveLength(3);
    expect(second.files).toEqual(first.files);

    const again = await warmInto(join(scratch, 'a', 'lock'), SEARCHED_PROGRAMS, { check: true, msPerCall: 7 });
    expect(again.programs.map((p) => p.status)).toEqual(Array(3).fill('hit'));
    expect(again.files).toEqual(first.files);
  }, 300_000);
});

describe('the kernel count of an entry', () => {
  it('is one number: warm, verify, the build and the entry report the kernel launches', async () => {
    const lockDir = join(scratch, 'counts', 'lock');
    // The per-operator lowering (search: false), whose launches share pipelines.
    const warmed = await warmInto(lockDir, [NTRANS], { check: false, msPerCall: 1, search: false });
    const [file] = Object.keys(warmed.files);
    const entry = JSON.parse(warmed.files[file!]!) as LockEntry;
    expect(entry.report.pipelines).toBeLessThan(entry.report.kernels); // launches that share a pipeline: the two counts differ

    const verifyLines: string[] = [];
    const verified = await verify({ config: warmed.config, globs: [NTRANS], lockDir, cacheDir: join(scratch, 'counts', 'cache'), log: (line) => verifyLines.push(line) });
    expect(verified.exitCode, verifyLines.join('\n')).toBe(0);

    const events: ProgramEvent[] = [];
    const options = resolveOptions({ root: ROOT, lockDir, frozen: true, search: false, onProgram: (e) => events.push(e) }, {});
    await buildTensorModule(join(ROOT, NTRANS), createBuildContext(options));

    const counts = {
      warm: printedKernels(warmed.lines, 'ntrans_small'),
      warmSummary: warmed.programs[0]!.kernels,
      verify: printedKernels(verifyLines, 'ntrans_small'),
      build: events[0]!.kernels,
      entry: entry.report.kernels,
    };
    expect(counts).toEqual({ warm: 15, warmSummary: 15, verify: 15, build: 15, entry: 15 });
  });
});
