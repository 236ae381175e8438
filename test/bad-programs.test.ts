/**
 * The corpus of invalid programs in test/bad-programs/: each file marks its offending line
 * with `// error: <regexp>`. Loading it must throw a ProgramError whose message matches and
 * whose site is exactly that file and line, under vitest (vite's module runner) and under
 * plain Node (the built dist/, evaluated in a worker that maps stacks itself). Also the
 * `mugraph check` CLI end to end: exit 2 with file:line on a bad program, 0 with a PASS per
 * variant on a good one, 1 when a forced zero tolerance makes the comparison fail.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProgramError } from '../src/frontend/errors.js';
import { loadTensorModule } from '../src/frontend/load-module.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORPUS = join(ROOT, 'test/bad-programs');
const GOOD_FIXTURE = join(ROOT, 'fixtures/programs/small/rmsnorm.tensor.ts');

interface Expectation {
  readonly file: string;
  readonly line: number;
  readonly pattern: RegExp;
}

/** The one `// error: <regexp>` marker of a corpus file. */
function expectationOf(file: string): Expectation {
  const markers = readFileSync(file, 'utf8').split('\n')
    .map((text, i) => ({ line: i + 1, match: /\/\/ error: (.+)$/.exec(text) }))
    .filter((m) => m.match !== null);
  if (markers.length !== 1) throw new Error(`${file}: expected exactly one "// error:" marker, found ${markers.length}`);
  return { file, line: markers[0]!.line, pattern: new RegExp(markers[0]!.match![1]!.trim()) };
}

const corpus = readdirSync(CORPUS).filter((f) => f.endsWith('.tensor.ts')).sort().map((f) => expectationOf(join(CORPUS, f)));

describe('bad programs under vitest', () => {
  it('the corpus has at least 60 programs', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });

  it.each(corpus.map((e) => [e.file.slice(CORPUS.length + 1), e] as const))('%s', async (_, expected) => {
    const error = await loadTensorModule(expected.file).then(
      () => { throw new Error('expected the module to be rejected'); },
      (e: unknown) => e,
    );
    if (!isProgramError(error)) throw error;
    expect(error.message).toMatch(expected.pattern);
    expect(error.site).toMatchObject({ file: expected.file, line: expected.line });
    expect(error.message.startsWith(`${expected.file}:${expected.line}:`)).toBe(true);
  });
});

describe('errors that are not ProgramErrors', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'mugraph-load-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const writeModule = (name: string, lines: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, lines.join('\n'));
    return file;
  };

  it('a missing file is named as missing', async () => {
    await expect(loadTensorModule(join(dir, 'absent.tensor.ts'))).rejects.toThrow(`${join(dir, 'absent.tensor.ts')}: no such file`);
  });

  it('a syntax error names the file and line', async () => {
    const file = writeModule('syntax.tensor.ts', ["import { tensorProgram } from 'mugraph';", '', 'export const = 3;']);
    await expect(loadTensorModule(file)).rejects.toThrow(`${file}:3:`);
  });

  it('an unresolvable import names the file and line', async () => {
    const file = writeModule('resolve.tensor.ts', ["import { tensorProgram } from 'mugraph';", "import { dims } from './missing.js';", 'export const d = dims;']);
    await expect(loadTensorModule(file)).rejects.toThrow(new RegExp(`${file}:2:\\d+: Could not resolve "./missing.js"`));
  });

  it('an exception in the user code names the file and line', async () => {
    const file = writeModule('throws.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      'const config: { dims?: number[] } = {};',
      'export default tensorProgram("p", (g) => ({ y: g.input("x", [config.dims![0]!]) }));',
    ]);
    await expect(loadTensorModule(file)).rejects.toThrow(new RegExp(`^${file}:3:\\d+: Cannot read properties of undefined`));
  });
});

/** Builds dist/ unless it is newer than every file under src/ (`npm test` has just built it). */
async function ensureBuilt(): Promise<void> {
  const entry = join(ROOT, 'dist/cli/main.js');
  const newestSource = Math.max(...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .map((f) => statSync(join(ROOT, 'src', f)).mtimeMs));
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestSource) return;
  // tsc emits even when another file has a type error; only a missing entry is fatal here.
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT }).catch(() => undefined);
  if (!existsSync(entry)) throw new Error('building dist/ failed: run `npm run build`');
}

interface NodeLoadResult {
  readonly file: string;
  readonly name?: string;
  readonly message?: string;
  readonly site?: { file: string; line: number };
}

/** Runs a node command in the repository root; never rejects on a non-zero exit. */
async function node(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir(), ...extraEnv };
  try {
    const { stdout, stderr } = await run('node', args, { cwd: ROOT, env, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('under plain Node, from dist/', () => {
  beforeAll(ensureBuilt, 120_000);

  /** Loads each file with dist/'s loadTensorModule in one plain Node process. */
  async function loadInNode(files: string[]): Promise<NodeLoadResult[]> {
    const script = `
      import { loadTensorModule } from './dist/frontend/load-module.js';
      const out = [];
      for (const file of JSON.parse(process.argv[1])) {
        try { await loadTensorModule(file); out.push({ file }); }
        catch (e) { out.push({ file, name: e.name, message: e.message, site: e.site }); }
      }
      console.log(JSON.stringify(out));`;
    const { code, stdout, stderr } = await node(['--input-type=module', '-e', script, JSON.stringify(files)]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    return JSON.parse(stdout) as NodeLoadResult[];
  }

  it('every bad program is located at its marked line', async () => {
    const results = await loadInNode(corpus.map((e) => e.file));
    for (const [i, expected] of corpus.entries()) {
      const result = results[i]!;
      expect({ file: result.file, name: result.name }).toEqual({ file: expected.file, name: 'ProgramError' });
      expect(result.message).toMatch(expected.pattern);
      expect(result.site).toMatchObject({ file: expected.file, line: expected.line });
    }
  });

  it('an exception in the user code names the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mugraph-load-'));
    try {
      const file = join(dir, 'throws.tensor.ts');
      writeFileSync(file, ['// a comment', 'const dims: number[] | undefined = undefined;', 'export const n = dims!.length;'].join('\n'));
      const [result] = await loadInNode([file]);
      expect(result!.message).toMatch(new RegExp(`^${file}:3:\\d+: Cannot read properties of undefined`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mugraph check exits 2 and prints file:line on an invalid program', async () => {
    const expected = corpus.find((e) => e.file.endsWith('helper-function.tensor.ts'))!;
    const { code, stdout } = await node(['bin/mugraph.js', 'check', expected.file]);
    expect(code).toBe(2);
    expect(stdout).toContain(`${expected.file}:${expected.line}:`);
    expect(stdout).toMatch(expected.pattern);
  });

  it('mugraph check exits 0 with a PASS line per variant on a good program', async () => {
    const { code, stdout } = await node(['bin/mugraph.js', 'check', GOOD_FIXTURE]);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^adapter: /m);
    // The summary is a table: │ output │ variant │ ... │ result │ load+run │
    const rows = stdout.split('\n').filter((l) => /^\s*│\s*o\s*│\s*f(16|32)\s*│/.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r) => /│\s*PASS\s*│/.test(r))).toBe(true);
    expect(rows.some((r) => /│\s*f32\s*│/.test(r))).toBe(true);
  }, 120_000);

  it('mugraph check exits 1 when the comparison fails (--tolerance 0)', async () => {
    const { code, stdout } = await node(['bin/mugraph.js', 'check', '--variant', 'f32', '--tolerance', '0', GOOD_FIXTURE]);
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/^\s*│\s*o\s*│\s*f32\s*│.*│\s*FAIL\s*│/m);
  }, 120_000);

  it.runIf(process.platform === 'linux')('mugraph check exits 2 with a clear message without a WebGPU adapter', async () => {
    const { code, stdout } = await node(['bin/mugraph.js', 'check', GOOD_FIXTURE], { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(code).toBe(2);
    expect(stdout).toMatch(/^error: cannot create a WebGPU device: .*no WebGPU adapter/m);
    // What a user of the package installs; the repository's script (not in the package) is named as a clone's way only.
    expect(stdout).toContain('apt-get install libvulkan1 mesa-vulkan-drivers');
    expect(stdout).toContain('bookworm-backports');
    expect(stdout).toMatch(/In a clone of mugraph's repository, `bash scripts\/ensure-webgpu\.sh`/);
  });

  it('mugraph --help and --version', async () => {
    const help = await node(['bin/mugraph.js', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('check <...files>');
    const version = await node(['bin/mugraph.js', '--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toContain(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('mugraph with an unknown command exits 2', async () => {
    const { code, stderr } = await node(['bin/mugraph.js', 'frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });
});
