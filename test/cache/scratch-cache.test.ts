/**
 * The committed lock and the scratch cache (src/cache/store.ts). A dev build (`writeLock:
 * false`, what the Vite dev server uses) reads the lock, then the scratch cache, and writes
 * what it compiles to the scratch cache: a session with edits leaves the lock directory
 * exactly as it was. `mugraph warm` then adds to the lock what only the scratch cache has,
 * byte for byte and without compiling (even when the shared config says `writeLock: false`),
 * `mugraph verify` names such an entry before that, and `mugraph prune` drops the scratch
 * copies the lock now holds. A frozen build reads only the lock.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, type BuildContext, createBuildContext, MissingEntryError } from '../../src/build/build-module.js';
import { type MugraphOptions, resolveOptions } from '../../src/build/options.js';
import { prune } from '../../src/cli/prune.js';
import { verify } from '../../src/cli/verify.js';
import { warm } from '../../src/cli/warm.js';
import { PROJECT, snapshot } from './entries.js';

let project: string;
let lockDir: string;
let scratchDir: string;
let moduleFile: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'mugraph-scratch-'));
  await cp(join(PROJECT, 'src/model'), join(project, 'src/model'), { recursive: true });
  await rm(join(project, 'src/model/broken.tensor.ts'));
  lockDir = join(project, 'mugraph.lock');
  scratchDir = join(project, 'cache', 'entries');
  moduleFile = join(project, 'src/model/small.tensor.ts');
  // The options the dev server and the CLI share, saying writeLock: false as a dev setup may: warm writes the lock all the same.
  const options = { root: project, lockDir, cacheDir: join(project, 'cache'), writeLock: false };
  await writeFile(join(project, 'mugraph.config.mjs'), `export default ${JSON.stringify(options)};\n`);
});
afterAll(() => rm(project, { recursive: true, force: true }));

function context(options: MugraphOptions): BuildContext {
  return createBuildContext(resolveOptions({ root: project, lockDir, cacheDir: join(project, 'cache'), frozen: false, onProgram: () => {}, ...options }, {}));
}

const statuses = async (options: MugraphOptions) => (await buildTensorModule(moduleFile, context(options))).programs
  .map((p) => `${p.program.name} ${p.status} ${p.file.startsWith(lockDir) ? 'lock' : p.file.startsWith(scratchDir) ? 'scratch' : p.file}`);

describe('a dev build (writeLock: false)', () => {
  it('with edits, leaves the committed lock untouched and puts what it compiles in the scratch cache', async () => {
    expect(await statuses({})).toEqual(['scaled_sum compiled lock', 'row_norm compiled lock']); // the committed lock
    const committed = await snapshot(lockDir);

    expect(await statuses({ writeLock: false })).toEqual(['scaled_sum hit lock', 'row_norm hit lock']);
    const source = await readFile(moduleFile, 'utf8');
    await writeFile(moduleFile, source.replace('g.scale(g.add(x, y), 0.5)', 'g.scale(g.add(x, y), 0.25)'));
    expect(await statuses({ writeLock: false })).toEqual(['scaled_sum compiled scratch', 'row_norm hit lock']);
    expect(await statuses({ writeLock: false })).toEqual(['scaled_sum hit scratch', 'row_norm hit lock']);

    expect(await snapshot(lockDir)).toEqual(committed);
    expect(Object.keys(await snapshot(scratchDir))).toHaveLength(1);
  });

  it('a frozen build reads only the lock: an entry only the scratch cache has is missing', async () => {
    await expect(buildTensorModule(moduleFile, context({ frozen: true, writeLock: false }))).rejects.toThrow(MissingEntryError);
  });
});

describe('after a dev session', () => {
  const config = () => join(project, 'mugraph.config.mjs');

  it('verify names what the lock lacks that the scratch cache has, and the fix', async () => {
    const lines: string[] = [];
    const report = await verify({ globs: [], config: config(), log: (line) => lines.push(line) });
    expect(report.exitCode).toBe(1);
    expect(lines.join('\n')).toMatch(/MISSING {2}scaled_sum: not in the lock, but in the scratch cache \(compiled by the dev server\), from which warm adds it; run `npx mugraph warm src\/model\/small\.tensor\.ts`/);
  });

  it('warm adds what only the scratch cache has to the lock, byte for byte, without compiling it; prune drops the copy', async () => {
    const [scratchEntry] = Object.entries(await snapshot(scratchDir));
    const lines: string[] = [];
    const warmed = await warm({ globs: [], config: config(), check: false, log: (line) => lines.push(line) });
    expect(warmed.exitCode, lines.join('\n')).toBe(0);
    expect(lines.join('\n')).toMatch(/compiled {2}scaled_sum \[export default\] {2}1 kernel {2}from cache\/entries\/\w+\.json {2}not measured {2}field equivalent \(verified here before\) {2}-> mugraph\.lock\//);
    expect((await snapshot(lockDir))[scratchEntry![0]]?.text).toBe(scratchEntry![1].text);

    const pruneLines: string[] = [];
    const pruned = await prune({ globs: [], config: config(), log: (line) => pruneLines.push(line) });
    expect(pruned.exitCode, pruneLines.join('\n')).toBe(0);
    // The lock's entry of the program before the edit, which no module references now, and the scratch copy the lock now has.
    expect(pruned.pruned.map((file) => file.replace(project, ''))).toEqual([
      expect.stringMatching(/^\/mugraph\.lock\/\w{32}\.json$/),
      `/cache/entries/${scratchEntry![0]}`,
    ]);
    expect(await snapshot(scratchDir)).toEqual({});
    expect(await statuses({ frozen: true })).toEqual(['scaled_sum hit lock', 'row_norm hit lock']);
  });
});
