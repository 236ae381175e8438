/**
 * Evaluating a tensor module is private and bounded (src/frontend/load-module.ts): the
 * bundle goes to a directory of its own, every file still sees its real location, an
 * endless definition is stopped with an error, callbacks the module leaves behind cannot
 * crash the host, a circular import is named, and the programs that come back are rebuilt
 * (and checked) by this thread's DSL. The worker is reused for the next module only when
 * the last one left nothing behind (src/frontend/evaluate-pool.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProgramError } from '../src/frontend/errors.js';
import { evaluateModule, loadTensorModule } from '../src/frontend/load-module.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'mugraph-evaluate-test-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: readonly string[]) => {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, lines.join('\n'));
  return file;
};

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => { throw new Error('expected a rejection'); }, (error: Error) => error);
}

describe('the module sees its own location', () => {
  it('import.meta.url, import.meta.dirname and __dirname name the real file, not a planted one in the temp dir', async () => {
    // What a shared temp dir let an attacker do: plant ./shapes.json where the bundle ran.
    writeFileSync(join(tmpdir(), 'shapes.json'), JSON.stringify({ n: 999 }));
    write('located/shapes.json', [JSON.stringify({ n: 4 })]);
    write('located/dims.cts', ["const { join } = require('node:path');", "module.exports = { shapesFile: join(__dirname, 'shapes.json') };"]);
    const file = write('located/model.tensor.ts', [
      "import { readFileSync } from 'node:fs';",
      "import { tensorProgram } from 'mugraph';",
      "import { shapesFile } from './dims.cts';",
      "const { n } = JSON.parse(readFileSync(new URL('./shapes.json', import.meta.url), 'utf8'));",
      "const { n: m } = JSON.parse(readFileSync(import.meta.dirname + '/shapes.json', 'utf8'));",
      "const { n: k } = JSON.parse(readFileSync(shapesFile, 'utf8'));",
      "export default tensorProgram('located', (g) => ({ y: g.exp(g.input('x', [n, m, k])) }));",
    ]);
    const { programs } = await loadTensorModule(file);
    expect(programs[0]!.program.inputSpecs[0]!.shape).toEqual([4, 4, 4]);
    rmSync(join(tmpdir(), 'shapes.json'), { force: true });
  });

  it('leaves nothing in the temp dir, whether the module loads or fails', async () => {
    const file = write('clean.tensor.ts', ["import { tensorProgram } from 'mugraph';", "export default tensorProgram('clean', (g) => ({ y: g.relu(g.input('x', [2])) }));"]);
    const bad = write('clean-bad.tensor.ts', ["import { tensorProgram } from 'mugraph';", "export default tensorProgram('bad', (g) => ({ y: g.relu(g.input('x', [0])) }));"]);
    // A temp dir of this test's own (os.tmpdir() reads TMPDIR), so other test files' evaluations do not show.
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      await loadTensorModule(file);
      expect(readdirSync(temp)).toEqual([]);
      await rejection(loadTensorModule(bad));
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

describe('evaluation is bounded', () => {
  it('an endless loop in a definition is stopped after the time limit, with an error at the module', async () => {
    const file = write('endless.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      "export default tensorProgram('endless', (g) => { const x = g.input('x', [2]); while (true) { /* forgot to break */ } return { y: x }; });",
    ]);
    const started = Date.now();
    const error = await rejection(loadTensorModule(file, { timeoutMs: 1500 }));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(isProgramError(error)).toBe(true);
    expect(error.message).toMatch(new RegExp(`^${file}:1:1: module: evaluating the module took longer than 1500 ms and was stopped`));
  });

  it('a DSL call in a promise after the definition returned is a ProgramError at its line, not an unhandled rejection', async () => {
    const file = write('late-promise.tensor.ts', [
      "import { tensorProgram, type Tensor } from 'mugraph';",
      'let saved: Tensor | undefined;',
      "const p = tensorProgram('late', (g) => {",
      "  saved = g.input('x', [4]);",
      '  Promise.resolve().then(() => g.exp(saved!));',
      '  return { y: g.relu(saved) };',
      '});',
      'export default p;',
    ]);
    const error = await rejection(loadTensorModule(file));
    expect(isProgramError(error)).toBe(true);
    expect(error.message).toMatch(new RegExp(`^${file}:5:\\d+: exp: program "late" is already built`));
  });

  it('the same from a 0 ms timer', async () => {
    const file = write('late-timer.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      "export default tensorProgram('late_timer', (g) => {",
      "  const x = g.input('x', [4]);",
      '  setTimeout(() => g.square(x), 0);',
      '  return { y: x };',
      '});',
    ]);
    const error = await rejection(loadTensorModule(file));
    expect(error.message).toMatch(new RegExp(`^${file}:4:\\d+: square: program "late_timer" is already built`));
  });

  it('a module that exits its own evaluation fails cleanly', async () => {
    const file = write('exits.tensor.ts', ["import { tensorProgram } from 'mugraph';", 'process.exit(3);', "export default tensorProgram('x', (g) => ({ y: g.input('x', [1]) }));"]);
    const error = await rejection(loadTensorModule(file));
    expect(error.message).toContain(`${file}:1:1: module: the module ended its own evaluation (exit code 3)`);
  });
});

describe('a warm worker serves the next module only when the last left nothing behind', () => {
  /** A module whose program's one dimension is the id of the worker thread that evaluated it, plus `lines` run first. */
  const threadModule = (name: string, lines: readonly string[] = [], dim = 'threadId') => write(`${name}.tensor.ts`, [
    "import { threadId } from 'node:worker_threads';",
    "import { tensorProgram } from 'mugraph';",
    ...lines,
    `export default tensorProgram('${name}', (g) => ({ y: g.exp(g.input('x', [${dim}])) }));`,
  ]);
  const workerOf = async (file: string) => (await loadTensorModule(file)).programs[0]!.program.inputSpecs[0]!.shape[0]!;

  it('one worker evaluates module after module; one that left a timer or changed a global is not reused', async () => {
    const first = await workerOf(threadModule('warm-a'));
    expect(await workerOf(threadModule('warm-b'))).toBe(first);
    // A timer still pending when the module answered: its worker is ended, so the timer never fires.
    expect(await workerOf(threadModule('leaves-timer', ["setTimeout(() => { throw new Error('late'); }, 100);"]))).toBe(first);
    const next = await workerOf(threadModule('after-timer'));
    expect(next).not.toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await workerOf(threadModule('after-timer-fired'))).toBe(next);
    // A global set by one module is not seen by the next.
    expect(await workerOf(threadModule('sets-global', ['(globalThis as Record<string, unknown>).leaked = 7;']))).toBe(next);
    expect(await workerOf(threadModule('reads-global', [], '(globalThis as Record<string, unknown>).leaked as number ?? 3'))).toBe(3);
  });

  it('after a module ran out of time, the next one evaluates on a fresh worker', async () => {
    const endless = threadModule('endless-then', ['while (Date.now() > 0) { /* never ends */ }']);
    await rejection(loadTensorModule(endless, { timeoutMs: 1000 }));
    expect(await workerOf(threadModule('after-endless'))).toBeGreaterThan(0);
  });
});

describe('what comes back is checked', () => {
  it('a circular import is named along with the error it causes', async () => {
    write('cycle/dims.ts', ["import { N } from './model.tensor.ts';", 'export const dims = [N, N];']);
    const file = write('cycle/model.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      "import { dims } from './dims.ts';",
      'export const N = 8;',
      "export default tensorProgram('cycle', (g) => ({ y: g.exp(g.input('x', dims)) }));",
    ]);
    const error = await rejection(loadTensorModule(file));
    expect(error.message).toMatch(new RegExp(`^${file}:4:\\d+: input: input "x": dimension 0 is undefined`));
    expect(error.message).toMatch(/model\.tensor\.ts imports .*dims\.ts imports .*model\.tensor\.ts: a circular import/);
  });

  it('a forged program (the brand without the DSL) is replayed through the DSL and refused', async () => {
    const file = write('forged.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      "const real = tensorProgram('real', (g) => ({ y: g.exp(g.input('x', [2])) }));",
      'const node = real.program.outputs[0].tensor;',
      "const outputs = [{ name: 'y\\nglobalThis.PWNED = 1', tensor: node }];",
      'export default { ...real, program: Object.assign(Object.create(Object.getPrototypeOf(real.program)), real.program, { outputs }) };',
    ]);
    const error = await rejection(loadTensorModule(file));
    expect(isProgramError(error)).toBe(true);
    expect(error.message).toMatch(/program: output name must be an identifier .*got "y\\nglobalThis.PWNED = 1"/);
  });

  it('programs come back with the same structure, sites and hash', async () => {
    const file = write('roundtrip.tensor.ts', [
      "import { tensorProgram } from 'mugraph';",
      "export const a = tensorProgram('a', (g) => {",
      "  const x = g.input('x', [4, 8], 'f16');",
      "  const unused = g.input('unused', [3]);",
      "  const w = g.input('w', [8, 2], 'f16');",
      '  const h = g.rmsNorm(g.add(x, 1.5), { eps: 1e-5 });',
      '  return { y: g.softmax(g.matmul(h, w)), s: g.mean(g.scale(x, 0.5), -1, { keepdim: true }) };',
      '});',
    ]);
    const { exports } = await evaluateModule(file);
    const program = (exports.a as { program: import('../src/frontend/program.js').Program }).program;
    expect(program.inputSpecs.map((s) => s.name)).toEqual(['x', 'unused', 'w']);
    expect(program.pretty({ sites: true })).toContain(`= rmsNorm{dim=1 eps=0.00001} f16[4, 8]`);
    expect(program.nodes.find((n) => n.op === 'matmul')!.site).toMatchObject({ file, line: 7 });
    expect(program.pretty()).toMatchInlineSnapshot(`
      "program a(x: f16[4, 8], unused: f32[3], w: f16[8, 2])
        %0 = const{value=1.5} f16[]
        %1 = add f16[4, 8] (x, %0)
        %2 = rmsNorm{dim=1 eps=0.00001} f16[4, 8] (%1)
        %3 = matmul f16[4, 2] (%2, w)
        %4 = softmax{dim=1} f16[4, 2] (%3)
        %5 = scale{c=0.5} f16[4, 8] (x)
        %6 = mean{dim=1 keepdim=true} f16[4, 1] (%5)
        return { y: %4, s: %6 }"
    `);
  });
});
