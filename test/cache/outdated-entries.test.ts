/**
 * Entries written by another mugraph version are recognised as such: rejected with the
 * reason (an OutdatedEntryError, "lock entry from another mugraph version"), failing a
 * frozen build with the fix, and rebuilt otherwise. Lock format 1 keyed entries by the
 * format and compiler too, so its files sit at other paths: `fixtures/format-1/` holds a
 * real one (rmsnorm_small, as the playground's lock had it), which the build finds by its
 * old key and replaces, deleting it when it writes the lock and leaving it alone when it
 * does not (the dev server). From format 2 on, an entry of another format or compiler sits
 * at the program's key and is replaced in place.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTensorModule, ensureEntry } from '../../src/build/build-module.js';
import { OutdatedEntryError } from '../../src/cache/entry.js';
import { verify } from '../../src/cli/verify.js';
import { compiledEntry, contextWith, MODULE, reseal, scaledProgram, snapshot } from './entries.js';

const ROOT = join(import.meta.dirname, '../..');
const FORMAT_1 = join(import.meta.dirname, 'fixtures/format-1');
const FORMAT_1_FILE = 'ff5b887758bd3f5edc92db737a0dbc0a.json';
const RMSNORM = join(ROOT, 'fixtures/programs/small/rmsnorm.tensor.ts');

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-outdated-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A lock directory holding the format-1 entry of rmsnorm_small, and its scratch cache. */
async function format1Lock(name: string) {
  const lockDir = join(scratch, name, 'lock');
  await mkdir(lockDir, { recursive: true });
  await cp(join(FORMAT_1, FORMAT_1_FILE), join(lockDir, FORMAT_1_FILE));
  return { lockDir, cacheDir: join(scratch, name, 'cache'), old: join(lockDir, FORMAT_1_FILE) };
}

describe('an entry in lock format 1', () => {
  it('fails a frozen build, named as outdated, with the fix', async () => {
    const { lockDir, cacheDir, old } = await format1Lock('frozen');
    const build = buildTensorModule(RMSNORM, contextWith({ root: ROOT, lockDir, cacheDir, frozen: true }));
    await expect(build).rejects.toThrow(OutdatedEntryError);
    await expect(build).rejects.toThrow(`${old}: lock entry from another mugraph version: it is in lock format 1, written by an older mugraph; `
      + 'this one reads and writes format 3');
    await expect(build).rejects.toThrow('run `npx mugraph warm fixtures/programs/small/rmsnorm.tensor.ts`');
  });

  it('is replaced by a build that writes the lock: rebuilt with the reason, and the old file deleted', async () => {
    const { lockDir, cacheDir } = await format1Lock('rebuilt');
    const [built] = (await buildTensorModule(RMSNORM, contextWith({ root: ROOT, lockDir, cacheDir }))).programs;
    expect(built!.status).toBe('rebuilt');
    expect(built!.reason).toMatch(/lock entry from another mugraph version: it is in lock format 1/);
    expect(await readdir(lockDir)).toEqual([`${built!.key}.json`]);
  });

  it('is left alone by the dev server (writeLock: false), which rebuilds into the scratch cache', async () => {
    const { lockDir, cacheDir } = await format1Lock('dev');
    const before = await snapshot(lockDir);
    const [built] = (await buildTensorModule(RMSNORM, contextWith({ root: ROOT, lockDir, cacheDir, writeLock: false }))).programs;
    expect(built!.status).toBe('rebuilt');
    expect(built!.file).toBe(join(cacheDir, 'entries', `${built!.key}.json`));
    expect(await snapshot(lockDir)).toEqual(before);
  });

  it('is reported by verify as what the lock has for the program, not as an unreferenced entry', async () => {
    const { lockDir, cacheDir } = await format1Lock('verify');
    const lines: string[] = [];
    const report = await verify({ globs: ['fixtures/programs/small/rmsnorm.tensor.ts'], lockDir, cacheDir, log: (line) => lines.push(line) });
    expect(report.exitCode).toBe(1);
    expect(lines.join('\n')).toMatch(new RegExp(`MISSING {2}rmsnorm_small: only an entry in lock format 1, written by an older mugraph \\(.*${FORMAT_1_FILE}\\), which warm replaces`));
    expect(lines.join('\n')).not.toContain('unreferenced');
  });
});

describe('an entry of another format or compiler at the program key', () => {
  const cases: Array<[string, (text: string) => string, RegExp]> = [
    ['an older format', (text) => text.replace('"schema": 3', '"schema": 2'), /it is in lock format 2, written by an older mugraph; this one reads and writes format 3/],
    ['a newer format', (text) => text.replace('"schema": 3', '"schema": 4'), /it is in lock format 4, written by a newer mugraph; this one reads and writes format 3 \(upgrade mugraph\)/],
    ['another compiler', (text) => reseal(JSON.parse(text), (e) => { e.config.compiler.compiler = 'naive-0'; }),
      /it was compiled by "naive-0"; this mugraph compiles with "search-1"/],
  ];

  it.each(cases)('%s: is rejected as outdated by a frozen build, and replaced in place otherwise', async (name, edit, reason) => {
    const lockDir = join(scratch, `in-place-${cases.findIndex((c) => c[0] === name)}`);
    const { built, text } = await compiledEntry(lockDir);
    await writeFile(built.file, edit(text));
    const frozen = ensureEntry(scaledProgram(), MODULE, contextWith({ lockDir, frozen: true }));
    await expect(frozen).rejects.toThrow(OutdatedEntryError);
    await expect(frozen).rejects.toThrow(`${built.file}: lock entry from another mugraph version: `);
    await expect(frozen).rejects.toThrow(reason);
    await expect(frozen).rejects.toThrow('run `npx mugraph warm src/model/small.tensor.ts`');

    const rebuilt = await ensureEntry(scaledProgram(), MODULE, contextWith({ lockDir }));
    expect(rebuilt.status).toBe('rebuilt');
    expect(rebuilt.reason).toMatch(reason);
    expect(await readFile(built.file, 'utf8')).toBe(text);
  });
});
