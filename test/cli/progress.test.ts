/**
 * The CLI's live line (src/cli/progress.ts) on a fake terminal: it is drawn with its clock,
 * redrawn as time passes and around permanent lines, kept to one row, and absent where the
 * stream is not a TTY (CI logs get the permanent lines only). Then `mugraph warm` on a TTY:
 * the live line names each program's phase (evaluating, compiling, searching, checking on the adapter)
 * while the permanent lines and the summary table go to the log.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress, formatDuration } from '../../src/cli/progress.js';
import { warm } from '../../src/cli/warm.js';
import { ROOT } from '../plugin/dist.js';

const ERASE = '\r\x1b[2K';

/** A stream that records what is written to it, a terminal of `columns` or not a TTY. */
function fakeStream(tty: boolean, columns = 80) {
  const writes: string[] = [];
  const stream = { isTTY: tty, columns, write: (chunk: string) => writes.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createProgress', () => {
  it('draws the status with its clock, clears it around permanent lines and when done', () => {
    const { stream, writes } = fakeStream(true);
    const logged: string[] = [];
    const progress = createProgress((line) => logged.push(`${writes.length}:${line}`), stream);
    progress.status('[1/2] a.tensor.ts: evaluating', performance.now() - 65_000);
    expect(writes).toEqual(['[1/2] a.tensor.ts: evaluating  1 min 05 s']);
    progress.log('a.tensor.ts');
    expect(logged).toEqual(['2:a.tensor.ts']); // the line was erased before the log line was printed
    expect(writes.slice(1)).toEqual([ERASE, '[1/2] a.tensor.ts: evaluating  1 min 05 s']);
    progress.done();
    expect(writes.at(-1)).toBe(ERASE);
  });

  it('redraws as the time passes, until done', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { stream, writes } = fakeStream(true);
    const progress = createProgress(() => {}, stream);
    progress.status('compiling');
    vi.advanceTimersByTime(1000);
    expect(writes.filter((w) => w.startsWith('compiling')).length).toBe(5);
    progress.done();
    const count = writes.length;
    vi.advanceTimersByTime(1000);
    expect(writes.length).toBe(count);
  });

  it('keeps the status to one row: control characters become spaces, the text is cut to fit the clock in', () => {
    const { stream, writes } = fakeStream(true, 20);
    createProgress(() => {}, stream).status('a\nb\x1b[31mc', performance.now());
    expect(writes[0]).toBe('a bc  0.0 s');
    createProgress(() => {}, stream).status('x'.repeat(40));
    expect(writes[1]).toBe(`${'x'.repeat(11)}…  0.0 s`); // 19 columns: the last one stays free
    const sizeless = fakeStream(true, 0);
    createProgress(() => {}, sizeless.stream).status('x'.repeat(40));
    expect(sizeless.writes[0], 'a terminal that reports 0 columns gets 80').toBe(`${'x'.repeat(40)}  0.0 s`);
  });

  it('writes nothing but the permanent lines where the stream is not a TTY', () => {
    const { stream, writes } = fakeStream(false);
    const logged: string[] = [];
    const progress = createProgress((line) => logged.push(line), stream);
    progress.status('compiling');
    progress.log('done');
    progress.done();
    expect(writes).toEqual([]);
    expect(logged).toEqual(['done']);
  });

  it('formats durations in seconds, then minutes', () => {
    expect([0.04, 12.34, 59.95, 245.2].map(formatDuration)).toEqual(['0.0 s', '12.3 s', '60.0 s', '4 min 05 s']);
  });
});

describe('mugraph warm', () => {
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'mugraph-warm-progress-'));
    await cp(join(ROOT, 'fixtures/projects/basic/src'), join(project, 'src'), { recursive: true });
    await rm(join(project, 'src/model/broken.tensor.ts'));
    await writeFile(join(project, 'config.mjs'), `export default { root: ${JSON.stringify(project)} };\n`);
  });
  afterAll(() => rm(project, { recursive: true, force: true }));

  it("shows each program's phase on the live line, and a summary table in the log", async () => {
    const { stream, writes } = fakeStream(true, 200);
    const logged: string[] = [];
    const report = await warm({ config: join(project, 'config.mjs'), globs: [], log: (line) => logged.push(line), progressStream: stream });
    expect(report.exitCode, logged.join('\n')).toBe(0);
    const phases = writes.filter((w) => w !== ERASE).map((w) => w.replace(/ {2}[\d.]+ s$/, ''));
    // The search's counts change as it goes: every searching line has them, then they are left out below.
    const searching = phases.filter((p) => p.includes(': searching'));
    expect(searching.length).toBeGreaterThan(0);
    for (const line of searching) expect(line).toMatch(/: searching: [\d,]+ explored, \d+ screened, \d+ verified$/);
    expect([...new Set(phases.map((p) => p.replace(/: searching: .*$/, ': searching')))]).toEqual([
      '[1/1] src/model/small.tensor.ts: evaluating',
      '[1/1] src/model/small.tensor.ts  scaled_sum [export default]: compiling and verifying',
      '[1/1] src/model/small.tensor.ts  scaled_sum [export default]: searching',
      '[1/1] src/model/small.tensor.ts  scaled_sum [export default]: checking on the adapter',
      '[1/1] src/model/small.tensor.ts  row_norm [export rowNorm]: compiling and verifying',
      '[1/1] src/model/small.tensor.ts  row_norm [export rowNorm]: searching',
      '[1/1] src/model/small.tensor.ts  row_norm [export rowNorm]: checking on the adapter',
    ]);
    expect(writes.at(-1)).toBe(ERASE);
    expect(logged).toContainEqual(expect.stringMatching(/^src\/model\/small\.tensor\.ts {2}\(evaluated in [\d.]+ s\)$/));
    expect(logged).toContainEqual(expect.stringMatching(/^ {2}compiled {2}row_norm \[export rowNorm\] {2}\d+ kernels? {2}searched \(.*\) {2}compile .* \([\d.]+ s\)$/));
    expect(logged).toContainEqual(expect.stringMatching(/^│ program +│ target +│ status +│ kernels │ +time │$/));
    expect(tableRows(logged)).toEqual([
      ['scaled_sum [export default]', 'webgpu-defaults', 'compiled'],
      ['row_norm [export rowNorm]', 'webgpu-defaults', 'compiled'],
    ]);
  });

  it('goes on past a program that fails and a module that does not evaluate, and lists both', async () => {
    const lock = join(project, 'mugraph.lock');
    for (const name of await readdir(lock)) {
      const entry = JSON.parse(await readFile(join(lock, name), 'utf8')) as { program: { name: string } };
      if (entry.program.name !== 'scaled_sum') continue;
      await rm(join(lock, name));
      await mkdir(join(lock, name)); // the entry cannot be written: a directory is in its place
    }
    await cp(join(ROOT, 'fixtures/projects/basic/src/model/broken.tensor.ts'), join(project, 'src/model/broken.tensor.ts'));
    const logged: string[] = [];
    const report = await warm({ config: join(project, 'config.mjs'), globs: [], check: false, log: (line) => logged.push(line) });
    expect(report.exitCode).toBe(2);
    expect(tableRows(logged)).toEqual([
      ['-', '-', 'error'],
      ['scaled_sum [export default]', 'webgpu-defaults', 'error'],
      ['row_norm [export rowNorm]', 'webgpu-defaults', 'hit'],
    ]);
    expect(logged.at(-1)).toMatch(/^1 programs: 0 compiled, 1 already locked, 0 rebuilt; 2 errors; lock: mugraph\.lock$/);
  });
});

/** Program, target and status of each row of the summary table in `logged`. */
function tableRows(logged: readonly string[]): string[][] {
  return logged.filter((line) => line.startsWith('│')).slice(1).map((row) => row.split('│').slice(1, 4).map((cell) => cell.trim()));
}
