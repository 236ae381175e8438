/**
 * `mugraph check --mugraph` as a user runs it (bin/mugraph.js from dist/) on the modules in
 * test/cli-mugraph/: μGraphs that implement their programs pass against the float64
 * reference in the interpreter and on the adapter, with `--svg` writing their diagrams; a
 * wrong μGraph FAILs (exit 1); a module without μGraphs, or with one that does not
 * implement its program, is invalid (exit 2) and the message names the file. The results
 * are a table whose load+run column is explained under it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xmlProblems } from './helpers/xml.js';
import { ensureBuilt, ROOT } from './plugin/dist.js';

const run = promisify(execFile);
const MODULES = 'test/cli-mugraph';
let svgDir: string;

beforeAll(async () => {
  ensureBuilt();
  svgDir = await mkdtemp(join(tmpdir(), 'mugraph-svg-'));
});
afterAll(() => rm(svgDir, { recursive: true, force: true }));

async function mugraph(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('node', [join(ROOT, 'bin/mugraph.js'), ...args], { cwd: ROOT });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The table rows of one output: `{ interpreter: 'PASS', f32: 'PASS', ... }`. */
function results(out: string, output: string): Record<string, string> {
  const rows = out.split('\n').map((line) => line.trim().split('│').slice(1, -1).map((cell) => cell.trim()))
    .filter((cells) => cells[0] === output && cells.length === 7);
  return Object.fromEntries(rows.map((cells) => [cells[1]!, cells[5]!]));
}

describe('mugraph check --mugraph', () => {
  it('passes μGraphs that implement their programs, in the interpreter and on the adapter, and draws them', async () => {
    const { code, out } = await mugraph('check', '--mugraph', '--svg', svgDir, `${MODULES}/good.ugraph.ts`);
    expect(code, out).toBe(0);
    expect(out).toContain('tiled_matmul(x f32[4, 32], w f32[32, 16]) -> y f32[4, 16]  [export default]');
    expect(out).toContain('rmsnorm_small(x f16[2, 64], w f16[64, 48]) -> o f16[2, 48]  [export rmsnormSmall]');
    expect(out).toMatch(/^ {4}μGraph [0-9a-f]{12}: 1 kernel \(1 custom\)$/m);
    expect(results(out, 'y')).toMatchObject({ interpreter: 'PASS', f32: 'PASS' });
    expect(results(out, 'o')).toMatchObject({ interpreter: 'PASS', f32: 'PASS' });
    expect(out).toMatch(/^ {4}│ output │ variant +│ max abs err │ rel L2 err │ tolerance │ result │ load\+run │$/m);
    expect(out).toContain('\nload+run: seconds to load the program on the adapter (create its pipelines, i.e. compile its shaders, which dominates a first run)');
    expect(out).toContain('outputs checked');

    expect((await readdir(svgDir)).sort()).toEqual(['good.ugraph.default.svg', 'good.ugraph.rmsnormSmall.svg']);
    for (const file of await readdir(svgDir)) {
      const svg = await readFile(join(svgDir, file), 'utf8');
      expect(xmlProblems(svg), file).toEqual([]);
      expect(svg).toContain('custom kernel #0: block graph');
    }
  }, 120_000);

  it('FAILs a μGraph that computes the wrong numbers, with exit code 1', async () => {
    const { code, out } = await mugraph('check', '--mugraph', '--variant', 'f32', `${MODULES}/wrong.ugraph.ts`);
    expect(code, out).toBe(1);
    expect(results(out, 'y')).toEqual({ interpreter: 'FAIL', f32: 'FAIL' });
    expect(out).toContain('2 outputs checked: 0 passed, 2 failed');
  }, 120_000);

  it('rejects a module that exports no μGraph, naming it (exit 2)', async () => {
    const { code, out } = await mugraph('check', '--mugraph', `${MODULES}/none.ugraph.ts`);
    expect(code, out).toBe(2);
    expect(out).toContain(`error: ${join(ROOT, MODULES, 'none.ugraph.ts')}:1:1: module: no μGraph exported`);
  });

  it('rejects a μGraph that does not implement its program, at the declaring line (exit 2)', async () => {
    const { code, out } = await mugraph('check', '--mugraph', `${MODULES}/mismatch.ugraph.ts`);
    expect(code, out).toBe(2);
    expect(out).toContain(`${join(ROOT, MODULES, 'mismatch.ugraph.ts')}:5:`);
    expect(out).toContain('the μGraph does not implement the program: input "x" is f32[4, 32] in the program but f16[4, 32] in the μGraph');
  });

  it('--svg without --mugraph is a usage error', async () => {
    const { code, out } = await mugraph('check', '--svg', svgDir, `${MODULES}/good.ugraph.ts`);
    expect(code).toBe(2);
    expect(out).toContain('--svg needs --mugraph');
  });
});
