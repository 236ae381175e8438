/**
 * `mugraph search` and `mugraph explain` as a user runs them (bin/mugraph.js from dist/), on
 * the small twins of the benchmarks: the search finds rmsnorm's one fused custom kernel and
 * says how (summary lines, table, --json); explain prints the μGraph, the report, the
 * diagram and the WGSL; bad input exits 2 with a message. Time budgets are small: a small
 * program searches in a few seconds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xmlProblems } from '../helpers/xml.js';
import { ensureBuilt, ROOT } from '../plugin/dist.js';

const run = promisify(execFile);
const RMSNORM = 'fixtures/programs/small/rmsnorm.tensor.ts';
const LORA = 'fixtures/programs/small/lora.tensor.ts';
let dir: string;

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'mugraph-explain-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function mugraph(...args: string[]): Promise<{ code: number; stdout: string; out: string }> {
  try {
    const { stdout, stderr } = await run('node', [join(ROOT, 'bin/mugraph.js'), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, out: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** What --json says of a program (the fields asserted here). */
interface SearchedJSON {
  readonly report: { readonly stopReason: string; readonly phases: readonly { readonly phase: string }[] };
  readonly verification: { readonly verdict: string };
  readonly candidates: readonly unknown[];
  readonly ugraph: { readonly nodes: readonly { readonly op: string }[] };
}

/** The cells of the summary table's row for `program`. */
function tableRow(out: string, program: string): string[] | undefined {
  return out.split('\n').map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim())).find((cells) => cells[0] === program);
}

describe('mugraph search', () => {
  it('finds one fused custom kernel for rmsnorm and summarizes the search', async () => {
    const { code, out } = await mugraph('search', '--time', '20000', RMSNORM);
    expect(code, out).toBe(0);
    expect(out).toContain(`${RMSNORM}  (evaluated in`);
    expect(out).toMatch(/^ {2}rmsnorm_small: search, 1 kernel \(1 custom\), [0-9.]+ s, stopped: /m);
    expect(out).toMatch(/^ {4}explored [0-9,]+ partial graphs, tried [0-9,]+ operators; pruned [0-9,]+ by expression/m);
    expect(out).toMatch(/^ {4}pick: .+/m);
    expect(out).toMatch(/│ program +│ target +│ source │ kernels │ custom │ +time │ stop +│ explored │ +pruned │ screened │ verified │/);
    const row = tableRow(out, 'rmsnorm_small');
    expect(row?.slice(0, 5)).toEqual(['rmsnorm_small', 'webgpu-defaults', 'search', '1', '1']);
    expect(Number(row?.[10])).toBeGreaterThanOrEqual(1);
    expect(out).toContain('1 program searched: 1 with a verified μGraph, 0 fell back to the per-operator lowering');
  }, 120_000);

  it('--json prints one document: the report, the candidates and the μGraph', async () => {
    const { code, stdout, out } = await mugraph('search', '--json', '--time', '20000', LORA);
    expect(code, out).toBe(0);
    const doc = JSON.parse(stdout) as { exitCode: number; errors: string[]; programs: SearchedJSON[] };
    expect(doc.exitCode).toBe(0);
    expect(doc.errors).toEqual([]);
    expect(doc.programs).toHaveLength(1);
    const [p] = doc.programs;
    expect(p).toMatchObject({ module: LORA, exportName: 'lora_small', program: 'lora_small', target: 'webgpu-defaults', source: 'search', customKernels: 1 });
    expect(['exhausted', 'time-limit', 'candidate-limit']).toContain(p!.report.stopReason);
    expect(p!.report.phases.map((ph) => ph.phase)).toContain('generate');
    expect(p!.verification.verdict).toBe('equivalent');
    expect(p!.candidates.length).toBeGreaterThanOrEqual(1);
    expect(p!.ugraph.nodes.map((n) => n.op)).toEqual(['custom']);
  }, 120_000);

  it('exits 2 with a message on bad input', async () => {
    const missing = await mugraph('search', '--time', '20000', 'fixtures/programs/small/nope.tensor.ts');
    expect(missing.code, missing.out).toBe(2);
    expect(missing.out).toMatch(/error: .*nope\.tensor\.ts/);

    const target = await mugraph('search', '--target', 'no-such-gpu', RMSNORM);
    expect(target.code, target.out).toBe(2);
    expect(target.out).toContain('error: unknown target "no-such-gpu"; known: webgpu-defaults');

    const time = await mugraph('search', '--time', 'soon', RMSNORM);
    expect(time.code, time.out).toBe(2);
    expect(time.out).toContain('--time must be a positive number of milliseconds, got soon');
  }, 120_000);
});

describe('mugraph explain', () => {
  it('prints the chosen μGraph, its kernels and the search report, draws it and prints its WGSL', async () => {
    const svg = join(dir, 'diagrams', 'rmsnorm.svg');
    const { code, out } = await mugraph('explain', RMSNORM, '--time', '20000', '--svg', svg, '--wgsl', '--variant', 'f32');
    expect(code, out).toBe(0);
    expect(out).toContain('rmsnorm_small(x f16[2, 64], w f16[64, 48]) -> o f16[2, 48]  for webgpu-defaults');
    expect(out).toMatch(/^μGraph [0-9a-f]{12} from the search \([0-9.]+ s\): 1 kernel \(1 custom\); 1 kernel launch, 1 pipeline$/m);
    expect(out).toContain('custom(x, w)');
    expect(out).toContain('\nsearch report:\n  stopped: ');
    expect(out).toMatch(/^ {2}pick: .+/m);
    expect(out).toMatch(/^ {2}verification: equivalent at full shape, seeds \d+, \d+/m);
    expect(out).toMatch(/^ {2}1\. cost \S+ {2}[0-9a-f]{12} {2}1 kernel \(1 custom\) {2}<- chosen$/m);
    expect(out).toContain('diagram: ');

    const drawn = await readFile(svg, 'utf8');
    expect(drawn.startsWith('<svg')).toBe(true);
    expect(xmlProblems(drawn)).toEqual([]);
    expect(drawn).toContain('custom kernel #0: block graph');

    expect(out).toContain('WGSL (f32 variant): 1 shader');
    expect(out).toContain('@compute');
    expect(out).not.toContain('enable f16;');
  }, 120_000);

  it('--lock explains the μGraph the lock holds, and searches when it holds none', async () => {
    const lock = ['--lock-dir', join(dir, 'lock'), '--cache-dir', join(dir, 'cache')];
    const before = await mugraph('explain', RMSNORM, '--lock', ...lock, '--time', '20000');
    expect(before.code, before.out).toBe(0);
    expect(before.out).toMatch(/note: no lock entry for rmsnorm_small \(.*lock\/[0-9a-f]{32}\.json\); searching instead/);
    expect(before.out).toContain('from the search');

    const warmed = await mugraph('warm', '--no-check', ...lock, RMSNORM);
    expect(warmed.code, warmed.out).toBe(0);
    const after = await mugraph('explain', RMSNORM, '--lock', ...lock);
    expect(after.code, after.out).toBe(0);
    expect(after.out).toMatch(/^μGraph [0-9a-f]{12} from the lock \(.*[0-9a-f]{32}\.json\): /m);
    expect(after.out).toContain('\nlock entry:\n  compiler: ');
    expect(after.out).not.toContain('search report:');
  }, 120_000);

  it('exits 2 when the module has no such program, or --svg would draw several', async () => {
    const program = await mugraph('explain', RMSNORM, '--program', 'nope');
    expect(program.code, program.out).toBe(2);
    expect(program.out).toContain('exports no program "nope"; it exports rmsnorm_small');

    const several = await mugraph('explain', 'fixtures/programs/gqa.tensor.ts', '--svg', join(dir, 'gqa.svg'));
    expect(several.code, several.out).toBe(2);
    expect(several.out).toContain('exports 2 programs (gqa_b1, gqa_b8): --svg draws one; choose it with --program <name>');
  }, 60_000);
});
