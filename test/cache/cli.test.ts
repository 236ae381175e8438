/**
 * `mugraph warm`, `verify` and `prune` as a user runs them: bin/mugraph.js (dist/) in a copy
 * of the fixture project. warm fills the lock (checking new entries on the adapter) and is
 * a no-op the second time; verify re-runs the entries and catches a tampered one; prune
 * deletes an entry no module references. With a `--config` listing several targets, each
 * command covers every target's entries.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockEntry } from '../../src/cache/entry.js';
import { ensureBuilt, ROOT } from '../plugin/dist.js';
import { reseal } from './entries.js';

const run = promisify(execFile);
let project: string;

beforeAll(async () => {
  ensureBuilt();
  project = await mkdtemp(join(tmpdir(), 'mugraph-cli-'));
  await cp(join(ROOT, 'fixtures/projects/basic/src'), join(project, 'src'), { recursive: true });
  await rm(join(project, 'src/model/broken.tensor.ts'));
});
afterAll(() => rm(project, { recursive: true, force: true }));

async function mugraph(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('node', [join(ROOT, 'bin/mugraph.js'), ...args], { cwd: project, env: { ...process.env, CI: '' } });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('mugraph warm / verify / prune', () => {
  it('warm fills the lock once, checking new entries against the reference', async () => {
    const first = await mugraph('warm');
    expect(first.code, first.out).toBe(0);
    // Searched: (x + y) · c is one kernel (the per-operator lowering has two).
    expect(first.out).toMatch(/compiled {2}scaled_sum \[export default\] {2}1 kernel {2}searched \([\d,]+ explored, \d+ screened, 1 verified\) {2}compile [\d.]+ s {2}checked f32 /);
    expect(first.out).toContain('2 programs: 2 compiled, 0 already locked, 0 rebuilt; lock: mugraph.lock');
    // Not a TTY: no live line, and a summary table of every program.
    expect(first.out).not.toContain('\x1b[2K');
    expect(first.out).toMatch(/^│ scaled_sum \[export default\] │ webgpu-defaults │ compiled │ +\d+ │ +[\d.]+ s │$/m);
    expect(first.out).toMatch(/^│ row_norm \[export rowNorm\] +│ webgpu-defaults │ compiled │ +\d+ │ +[\d.]+ s │$/m);
    const entries = await readdir(join(project, 'mugraph.lock'));
    expect(entries).toHaveLength(2);
    // The check gates what is written; its measurements (adapter, errors) differ between machines and stay out of the entry.
    const entry = JSON.parse(await readFile(join(project, 'mugraph.lock', entries[0]!), 'utf8')) as { verification: Record<string, unknown> };
    expect(Object.keys(entry.verification).sort()).toEqual(['equivalence', 'method', 'note']);
    expect(entry.verification.equivalence).toMatchObject({ verdict: 'equivalent', fullShape: true });
    expect(first.out).toMatch(/compiled {2}row_norm \[export rowNorm\] {2}\d+ kernels? .* field equivalent \d+ ms {2}-> mugraph\.lock\//);

    const second = await mugraph('warm', 'src/**/*.tensor.ts');
    expect(second.out).toContain('2 programs: 0 compiled, 2 already locked, 0 rebuilt');
    expect(second.out).toMatch(/^│ row_norm \[export rowNorm\] +│ webgpu-defaults │ hit +│ +\d+ │ +[\d.]+ s │$/m);
  });

  it('verify re-runs every entry and fails on a tampered one', async () => {
    const ok = await mugraph('verify');
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('2 entries: 2 verified (finite-field verifier and reference check on the adapter), 0 failed');
    expect(ok.out).toMatch(/OK {7}scaled_sum {2}1 kernel {2}field equivalent \(2 seeds, bound [\d.e-]+\) \d+ ms; reference check seeds 1,2: f32 rel L2 /);

    const [victim] = await readdir(join(project, 'mugraph.lock'));
    const file = join(project, 'mugraph.lock', victim!);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"schema": 3,', '"schema": 3, "extra": true,'));
    const bad = await mugraph('verify');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`${file}: corrupt or modified lock entry: content hash mismatch`);

    // Re-sealed (a correct content hash, as anyone can compute) after turning an add into a sub: the verifier catches it.
    await writeFile(file, text);
    const entries = await Promise.all((await readdir(join(project, 'mugraph.lock'))).map(async (name) => {
      const path = join(project, 'mugraph.lock', name);
      return { path, text: await readFile(path, 'utf8') };
    }));
    const sum = entries.find((e) => (JSON.parse(e.text) as LockEntry).program.name === 'scaled_sum')!;
    await writeFile(sum.path, reseal(JSON.parse(sum.text) as LockEntry, (e) => {
      const nodes = e.ugraph.nodes as unknown as { fn?: string; block?: { ops: { fn?: string }[] } }[];
      nodes.flatMap((n) => [n, ...(n.block?.ops ?? [])]).find((n) => n.fn === 'add')!.fn = 'sub';
    }));
    const resealed = await mugraph('verify');
    expect(resealed.code).toBe(1);
    expect(resealed.out).toContain(`${sum.path}: corrupt or modified lock entry: its μGraph does not compute the program: the finite-field verifier finds output "z" different`);
    await writeFile(sum.path, sum.text);
  });

  it('prune deletes only the entries no module references', async () => {
    const orphan = join(project, 'mugraph.lock', `${'0'.repeat(32)}.json`);
    await writeFile(orphan, '{}');
    const dry = await mugraph('prune', '--dry-run');
    expect(dry.out).toContain(`would delete mugraph.lock/${'0'.repeat(32)}.json`);
    expect(await readdir(join(project, 'mugraph.lock'))).toHaveLength(3);
    const done = await mugraph('prune');
    expect(done.code, done.out).toBe(0);
    expect(done.out).toContain('1 modules, 2 entries referenced, 1 pruned');
    expect(await readdir(join(project, 'mugraph.lock'))).toHaveLength(2);
  });

  it('with --config listing targets, warm, verify and prune cover every target', async () => {
    const target = pathToFileURL(join(ROOT, 'dist/ugraph/target.js')).href;
    await writeFile(join(project, 'multi.config.mjs'), `import { profileFromLimits, webgpuDefaults } from ${JSON.stringify(target)};\n`
      + "export default { lockDir: 'multi.lock', targets: [profileFromLimits({ maxComputeWorkgroupStorageSize: 32768 }, [], 'roomy'), webgpuDefaults] };\n");
    const warmed = await mugraph('warm', '--config', 'multi.config.mjs');
    expect(warmed.code, warmed.out).toBe(0);
    expect(warmed.out).toMatch(/compiled {2}scaled_sum \[export default\] \[target roomy\]  1 kernel/);
    expect(warmed.out).toContain('4 programs: 4 compiled');
    expect(await readdir(join(project, 'multi.lock'))).toHaveLength(4);

    const verified = await mugraph('verify', '--config', 'multi.config.mjs');
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toContain('4 entries: 4 verified (finite-field verifier and reference check on the adapter), 0 failed');

    expect((await mugraph('prune', '--config', 'multi.config.mjs', '--dry-run')).out).toContain('1 modules, 4 entries referenced, 0 unreferenced');
    // Without the config only the default target's entries are referenced: the roomy ones would go.
    expect((await mugraph('prune', '--lock-dir', 'multi.lock', '--dry-run')).out).toContain('1 modules, 2 entries referenced, 2 unreferenced');
  });
});

describe('prune never deletes what it should keep', () => {
  const orphanName = `${'f'.repeat(32)}.json`;
  const lockFiles = () => readdir(join(project, 'mugraph.lock'));

  beforeAll(async () => {
    if ((await lockFiles().catch(() => [])).length < 2) expect((await mugraph('warm', '--no-check')).code).toBe(0);
    await writeFile(join(project, 'mugraph.lock', orphanName), '{}');
  });

  it('--dry-run before a glob deletes nothing (the flag does not swallow the glob)', async () => {
    const before = await lockFiles();
    const dry = await mugraph('prune', '--dry-run', 'src/**/*.tensor.ts');
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain(`would delete mugraph.lock/${orphanName}`);
    expect(dry.out).toContain('1 unreferenced (dry run: nothing deleted)');
    expect(await lockFiles()).toEqual(before);
  });

  it('globs that match no tensor module delete nothing and exit 2, with or without --dry-run', async () => {
    const before = await lockFiles();
    for (const args of [['prune', 'nomatch/**'], ['prune', '--dry-run', 'nomatch/**']]) {
      const result = await mugraph(...args);
      expect(result.code, result.out).toBe(2);
      expect(result.out).toContain('"nomatch/**" matched no tensor module');
      expect(result.out).toContain('nothing pruned');
    }
    expect(await lockFiles()).toEqual(before);
  });

  it('lists every entry it deletes before deleting', async () => {
    const done = await mugraph('prune', 'src/**/*.tensor.ts');
    expect(done.code, done.out).toBe(0);
    const lines = done.out.trim().split('\n');
    expect(lines.at(-2)).toBe(`deleting mugraph.lock/${orphanName}`);
    expect(lines.at(-1)).toMatch(/1 pruned$/);
    expect(await lockFiles()).not.toContain(orphanName);
  });
});
