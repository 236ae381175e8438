/**
 * The kernel lock's core (src/cache/): options and their defaults, cache keys, entry
 * validation (every kind of damage is a CorruptEntryError naming the file), atomic writes
 * under parallel writers, the build of one module against the lock (hits, frozen misses,
 * names relabelled on a shared entry) and the generated module's imports.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, createBuildContext, ensureEntry, MissingEntryError, programKey } from '../../src/build/build-module.js';
import { CorruptEntryError } from '../../src/cache/entry.js';
import { formatProgramEvent, type ProgramEvent, resolveOptions, SEARCH_LIMIT_NAMES } from '../../src/build/options.js';
import { DEFAULT_SEARCH_LIMITS } from '../../src/search/superoptimize.js';
import { EntryDirectory } from '../../src/cache/store.js';
import { webgpuDefaults } from '../../src/ugraph/target.js';
import { MODULE, PROJECT, scaledProgram as scaled } from './entries.js';

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-cache-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions({ root: '/p' }, {});
    expect(o).toMatchObject({ root: '/p', lockDir: '/p/mugraph.lock', cacheDir: '/p/node_modules/.cache/mugraph', frozen: false, profile: false, search: {} });
    expect(o.targets).toEqual([webgpuDefaults]);
    expect(resolveOptions({ root: '/p', lockDir: false }, {}).lockDir).toBe(false);
    expect(resolveOptions({ root: '/p' }, { MUGRAPH_CACHE_DIR: '/c' }).cacheDir).toBe('/c');
  });

  it('takes the search as false or an object of known limits, and names what is wrong', () => {
    expect(resolveOptions({ root: '/p', search: false }, {}).search).toEqual({ enabled: false });
    expect(resolveOptions({ root: '/p', search: { timeMs: 500, extraRounds: 0 } }, {}).search).toEqual({ timeMs: 500, extraRounds: 0 });
    expect(() => resolveOptions({ search: { depth: 2 } as never }, {})).toThrow('mugraph: search.depth is not a search setting; the settings are enabled, timeMs, maxExplored,');
    expect(() => resolveOptions({ search: { maxKernels: 0 } }, {})).toThrow('mugraph: search.maxKernels must be a positive integer, got 0');
    expect(() => resolveOptions({ search: { timeMs: '5' } as never }, {})).toThrow('search.timeMs must be a positive integer, got "5"');
    expect(() => resolveOptions({ search: true } as never, {})).toThrow('`search` must be false or an object of limits');
  });

  it("names exactly the search's limits that a configuration may set", () => {
    const settable = Object.entries(DEFAULT_SEARCH_LIMITS).filter(([, value]) => typeof value === 'number').map(([name]) => name).sort();
    expect([...SEARCH_LIMIT_NAMES].sort()).toEqual(settable);
  });

  it('is frozen in CI unless told otherwise', () => {
    expect(resolveOptions({}, { CI: 'true' }).frozen).toBe(true);
    expect(resolveOptions({}, { CI: '1' }).frozen).toBe(true);
    expect(resolveOptions({}, { CI: 'false' }).frozen).toBe(false);
    expect(resolveOptions({ frozen: false }, { CI: 'true' }).frozen).toBe(false);
  });
});

describe('cache keys', () => {
  const options = resolveOptions({ root: '/p' }, {});
  it('ignore names, and change with the program, the search config and the target', () => {
    const key = programKey(scaled(), options);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(programKey(scaled(['a', 'b']), options)).toBe(key);
    expect(programKey(scaled(['x', 'y'], 0.25), options)).not.toBe(key);
    expect(programKey(scaled(), resolveOptions({ root: '/p', search: { maxKernels: 2 } }, {}))).not.toBe(key);
    expect(programKey(scaled(), resolveOptions({ root: '/p', target: { ...webgpuDefaults, maxWorkgroupStorageBytes: 32768 } }, {}))).not.toBe(key);
    // Key order in the configuration does not matter.
    expect(programKey(scaled(), resolveOptions({ root: '/p', search: { timeMs: 1000, maxKernels: 2 } }, {})))
      .toBe(programKey(scaled(), resolveOptions({ root: '/p', search: { maxKernels: 2, timeMs: 1000 } }, {})));
  });
});

describe('entries', () => {
  async function freshEntry(name: string) {
    const context = createBuildContext(resolveOptions({ root: PROJECT, lockDir: join(scratch, name), frozen: false, onProgram: () => {} }, {}));
    const built = await ensureEntry(scaled(), MODULE, context);
    return { context, built, text: await readFile(built.file, 'utf8') };
  }

  it('round-trips, and every kind of damage is a CorruptEntryError naming the file', async () => {
    const { context, built, text } = await freshEntry('damage');
    expect(built.status).toBe('compiled');
    expect((await context.store.target.read(built.key))?.entry).toEqual(built.entry);
    const damages: Array<[string, RegExp]> = [
      ['{"schema": 1,', /not valid JSON/],
      [text.replace('"schema": 3', '"schema": "3"'), /schema "3" is not 3/],
      [text.replace(/"key": "\w+"/, '"key": "0123456789abcdef0123456789abcdef"'), /does not match its file name/],
      [text.replace('"c": 0.5', '"c": 0.25'), /content hash mismatch/],
      [text.replace('"method": "search"', '"method": "reference-check"'), /content hash mismatch/],
    ];
    for (const [damaged, reason] of damages) {
      await writeFile(built.file, damaged);
      const read = context.store.target.read(built.key);
      await expect(read).rejects.toThrow(CorruptEntryError);
      await expect(read).rejects.toThrow(reason);
      await expect(read).rejects.toThrow(built.file);
    }
  });

  it('are written atomically: parallel writers of one key leave one complete file and no temporaries', async () => {
    const { context, built } = await freshEntry('parallel');
    const stores = Array.from({ length: 16 }, () => new EntryDirectory(context.store.dir));
    await Promise.all(stores.map((s) => s.write(built.entry)));
    expect(await readdir(context.store.dir)).toEqual([`${built.key}.json`]);
    expect((await context.store.target.read(built.key))?.entry).toEqual(built.entry);
  });
});

describe('buildTensorModule', () => {
  it('compiles, then hits; frozen without an entry names the fix; renamed twins share an entry', async () => {
    const events: ProgramEvent[] = [];
    const options = (frozen: boolean) => resolveOptions({ root: PROJECT, lockDir: join(scratch, 'build'), frozen, onProgram: (e) => events.push(e) }, {});
    await expect(buildTensorModule(MODULE, createBuildContext(options(true)))).rejects.toThrow(MissingEntryError);
    await expect(buildTensorModule(MODULE, createBuildContext(options(true)))).rejects.toThrow('Run `npx mugraph warm src/model/small.tensor.ts`');

    const first = await buildTensorModule(MODULE, createBuildContext(options(false)));
    const second = await buildTensorModule(MODULE, createBuildContext(options(true)));
    expect(events.map((e) => e.status)).toEqual(['compiled', 'compiled', 'hit', 'hit']);
    expect(second.code).toBe(first.code);
    expect(first.dependencies).toEqual(expect.arrayContaining([MODULE, join(PROJECT, 'src/model/shapes.ts')]));
    // The generated module imports the runtime loader and nothing else.
    expect([...first.code.matchAll(/^import .* from (.*);$/gm)].map((m) => m[1])).toEqual(['"mugraph/runtime"']);
    expect(first.code).toMatch(/^export \{ program0 as default, program1 as rowNorm \};$/m);

    const context = createBuildContext(options(false));
    const original = await ensureEntry(scaled(), MODULE, context);
    const renamed = await ensureEntry(scaled(['a', 'b']), MODULE, context);
    expect(renamed.key).toBe(original.key);
    expect(renamed.status).toBe('hit');
    expect(renamed.compiled.inputs.map((t) => t.name)).toEqual(['a', 'b']);
    expect(renamed.compiled.outputs.map((t) => t.name)).toEqual(['out']);
  });

  it('twins built at once compile once: the second finds the entry, and reports no compile time or check of its own', async () => {
    const context = createBuildContext(resolveOptions({ root: PROJECT, lockDir: join(scratch, 'twins'), frozen: false, onProgram: () => {} }, {}));
    const [first, second] = await Promise.all([ensureEntry(scaled(), MODULE, context), ensureEntry(scaled(['a', 'b']), MODULE, context)]);
    expect([first.status, second.status]).toEqual(['compiled', 'hit']);
    expect(first.compileSeconds).toBeGreaterThanOrEqual(0);
    expect(second).not.toHaveProperty('compileSeconds');
    expect(second.compiled.inputs.map((t) => t.name)).toEqual(['a', 'b']);
  });
});

describe('program events', () => {
  const base = { file: '/p/src/m.tensor.ts', exportName: 'default', programName: 'gqa', key: 'k', target: 'webgpu-defaults', entryFile: '/p/mugraph.lock/k.json' } as const;
  it('say what a search did, and what a long one is doing', () => {
    const search = { explored: 30512, screened: 2, verified: 0, ms: 12_400 };
    expect(formatProgramEvent({ ...base, status: 'searching', kernels: 0, search: { ...search, outcome: 'running' } }, '/p'))
      .toBe('searching gqa from src/m.tensor.ts for webgpu-defaults (12 s: 30,512 explored, 2 screened, 0 verified)');
    expect(formatProgramEvent({ ...base, status: 'compiled', kernels: 1, search: { ...search, verified: 1, ms: 800, outcome: 'search' } }, '/p'))
      .toBe('compiled gqa from src/m.tensor.ts for webgpu-defaults: 1 kernel (searched: 30,512 explored, 2 screened, 1 verified, 0.8 s) -> mugraph.lock/k.json');
    expect(formatProgramEvent({ ...base, status: 'compiled', kernels: 3, search: { ...search, outcome: 'per-op-fallback' } }, '/p'))
      .toBe('compiled gqa from src/m.tensor.ts for webgpu-defaults: 3 kernels (nothing searched verified, per-operator lowering: 30,512 explored, 2 screened, 0 verified, 12 s) -> mugraph.lock/k.json');
    expect(formatProgramEvent({ ...base, status: 'hit', kernels: 1 }, '/p')).toBeUndefined();
  });
});
