/**
 * The lock as a build sees it, through real bundlers (the plugin from dist/): a frozen build
 * with a missing entry fails naming the command that fixes it; a tampered entry (hand-edited,
 * or re-sealed with a μGraph that does not fit the program) fails a frozen build naming the
 * file and the fix, and is rebuilt (and reported) otherwise; Vite's dev server hot-updates a
 * tensor module when a file it imports changes, and compiles what an edit changes into the
 * scratch cache, leaving the committed lock exactly as it was (the plugin sets `writeLock:
 * false` under `vite serve`).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, createBuildContext } from '../../src/build/build-module.js';
import { type MugraphOptions, type ProgramEvent, resolveOptions } from '../../src/build/options.js';
import type { LockEntry } from '../../src/cache/entry.js';
import { reseal, snapshot } from '../cache/entries.js';
import { buildWith, PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

let scratch: string;
beforeAll(async () => {
  ensureBuilt();
  scratch = await mkdtemp(join(tmpdir(), 'mugraph-lock-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

function optionsIn(dir: string, extra: MugraphOptions = {}): MugraphOptions {
  return { root: PROJECT, lockDir: join(dir, 'lock'), cacheDir: join(dir, 'cache'), ...extra };
}

/** Ways to damage the scaled_sum entry, with the reason the build must give. */
const TAMPERINGS: Array<[string, (text: string) => string, RegExp]> = [
  ['a hand-edited entry', (text) => text.replace('"c": 0.5', '"c": 0.25'), /content hash mismatch/],
  ['an entry re-sealed with other input shapes', (text) => reseal(JSON.parse(text) as LockEntry, (e) => {
    for (const input of e.ugraph.inputs) input.shape = [...input.shape].reverse();
  }), /its μGraph does not have the program's interface/],
];

describe.each(['rollup', 'esbuild'] as const)('%s', (bundler) => {
  it('a frozen build with no lock entry fails, naming the command that fixes it', async () => {
    const dir = join(scratch, bundler, 'frozen');
    const build = buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'out'), options: optionsIn(dir, { frozen: true }) });
    await expect(build).rejects.toThrow(/program "scaled_sum" has no kernel lock entry .*Run `npx mugraph warm src\/model\/small\.tensor\.ts`/s);
  });

  it.each(TAMPERINGS)('rejects %s: a frozen build fails naming the file and the fix, a normal build rebuilds it', async (_, tamper, reason) => {
    const dir = join(scratch, bundler, `tampered-${TAMPERINGS.findIndex((t) => t[1] === tamper)}`);
    const events: ProgramEvent[] = [];
    const options = optionsIn(dir, { frozen: false, onProgram: (e) => events.push(e) });
    await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'out'), options });
    const victim = events.find((e) => e.programName === 'scaled_sum')!.entryFile;
    const text = await readFile(victim, 'utf8');
    await writeFile(victim, tamper(text));

    const frozen = buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'out'), options: { ...options, frozen: true } });
    await expect(frozen).rejects.toThrow(new RegExp(`${victim.replaceAll('.', '\\.')}: corrupt or modified lock entry: ${reason.source}.*npx mugraph warm`, 's'));

    events.length = 0;
    await buildWith(bundler, { entry: 'src/main.js', outDir: join(dir, 'out'), options });
    expect(events.map((e) => e.status)).toEqual(['rebuilt', 'hit']);
    expect(events[0]!.reason).toMatch(reason);
    expect(JSON.parse(await readFile(victim, 'utf8')).ugraph).toEqual(JSON.parse(text).ugraph);
  });
});

describe('vite dev server', () => {
  it('hot-updates the tensor module when a file it imports changes; a session with edits leaves the committed lock untouched', async () => {
    const { createServer } = await import('vite');
    const { default: mugraph } = (await import('mugraph/vite' as string)) as { default: (o: MugraphOptions) => import('vite').Plugin };
    const root = join(scratch, 'hmr');
    await cp(join(PROJECT, 'src'), join(root, 'src'), { recursive: true });
    const tensorFile = join(root, 'src/model/small.tensor.ts');
    const lockDir = join(root, 'lock');
    const cacheDir = join(root, 'cache');
    // The committed lock: what `mugraph warm` wrote for the module as it is now.
    await buildTensorModule(tensorFile, createBuildContext(resolveOptions({ root, lockDir, cacheDir, onProgram: () => {} }, {})));
    const committed = await snapshot(lockDir);
    expect(Object.keys(committed)).toHaveLength(2);

    const events: ProgramEvent[] = [];
    const server = await createServer({
      root, configFile: false, logLevel: 'silent', server: { middlewareMode: true, hmr: false, watch: null },
      plugins: [mugraph({ lockDir, cacheDir, frozen: false, onProgram: (e) => events.push(e) })],
    });
    try {
      const result = await server.transformRequest('/src/model/small.tensor.ts');
      expect(result?.code).toContain('loadCompiled');
      const plugin = server.config.plugins.find((p) => p.name === 'mugraph')!;
      const hot = plugin.handleHotUpdate as (ctx: unknown) => Promise<{ file: string | null }[]> | { file: string | null }[] | undefined;
      const context = (file: string) => ({ file, server, modules: [], timestamp: Date.now(), read: () => readFile(file, 'utf8') });
      const updated = await hot.call({}, context(join(root, 'src/model/shapes.ts')));
      expect(updated?.map((m) => m.file)).toEqual([tensorFile]);
      expect(await hot.call({}, context(join(root, 'src/main.js')))).toBeUndefined();

      // An edit: scaled_sum becomes another program, compiled into the scratch cache.
      await writeFile(tensorFile, (await readFile(tensorFile, 'utf8')).replace('g.scale(g.add(x, y), 0.5)', 'g.scale(g.add(x, y), 0.25)'));
      await hot.call({}, context(tensorFile));
      await server.transformRequest('/src/model/small.tensor.ts');
      expect(events.map((e) => `${e.programName} ${e.status} ${e.entryFile.startsWith(lockDir) ? 'lock' : 'scratch'}`))
        .toEqual(['scaled_sum hit lock', 'row_norm hit lock', 'scaled_sum compiled scratch', 'row_norm hit lock']);
      expect(await snapshot(lockDir)).toEqual(committed);
      expect(Object.keys(await snapshot(join(cacheDir, 'entries')))).toEqual([`${events[2]!.key}.json`]);
    } finally {
      await server.close();
    }
  });
});
