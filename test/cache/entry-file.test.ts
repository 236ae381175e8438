/**
 * Malformed entries are rejected, never crashed or hung on: whatever is at an entry's path
 * and whatever its text, reading it gives the entry or a CorruptEntryError naming the file
 * (src/cache/entry-file.ts, bounded-json.ts, entry.ts). Also: what the content hash covers
 * is exactly what is parsed (a `__proto__` key, -0), and `keys()` and a rebuilding write
 * cope with a directory named like an entry.
 */
import { execFileSync } from 'node:child_process';
import { constants, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureEntry } from '../../src/build/build-module.js';
import { MAX_ENTRY_BYTES, MAX_ENTRY_DEPTH } from '../../src/cache/bounded-json.js';
import { CorruptEntryError } from '../../src/cache/entry.js';
import { EntryDirectory } from '../../src/cache/store.js';
import { compiledEntry, lockContext, MODULE, reseal, scaledProgram } from './entries.js';

let scratch: string;
let fifos: string[] = [];
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-entry-file-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));
// A reader stuck opening a FIFO (the bug) is released by opening the other end.
afterEach(() => {
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader was waiting
    }
  }
  fifos = [];
});

let counter = 0;
/** A lock directory holding one freshly compiled entry; `store.read` reads it back. */
async function lockWithEntry() {
  const lockDir = join(scratch, `lock-${counter++}`);
  const { built, text } = await compiledEntry(lockDir);
  return { lockDir, built, text, store: new EntryDirectory(lockDir), read: () => new EntryDirectory(lockDir).read(built.key) };
}

/** Rejects unless `read` rejects with a CorruptEntryError naming `file` whose message matches `reason`, within 2 s. */
async function expectRejected(read: Promise<unknown>, file: string, reason: RegExp): Promise<void> {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the read did not finish within 2 s')), 2000));
  const error = await Promise.race([read, timeout]).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(CorruptEntryError);
  expect((error as Error).message).toContain(`${file}: corrupt or modified lock entry: `);
  expect((error as Error).message).toMatch(reason);
}

describe('entry text', () => {
  it.each([MAX_ENTRY_DEPTH + 1, 3000, 100_000])('nesting %i deep is rejected (no stack overflow)', async (depth) => {
    const { built, text, read } = await lockWithEntry();
    // Spliced into the text: building the value and stringifying it would overflow the test's own stack.
    await writeFile(built.file, text.replace('"report": {', `"report": { "deep": ${'['.repeat(depth)}0${']'.repeat(depth)},`));
    await expectRejected(read(), built.file, new RegExp(`nested deeper than ${MAX_ENTRY_DEPTH} levels`));
  });

  it(`an entry over ${MAX_ENTRY_BYTES} bytes is rejected, even re-sealed`, async () => {
    const { built, read } = await lockWithEntry();
    await writeFile(built.file, reseal(built.entry, (e) => { e.program.name = 'x'.repeat(MAX_ENTRY_BYTES); }));
    await expectRejected(read(), built.file, /over the 1048576-byte bound of an entry/);
  });

  it('text that is not UTF-8 is rejected', async () => {
    const { built, text, read } = await lockWithEntry();
    await writeFile(built.file, Buffer.concat([Buffer.from(text.replace('"naive-1"', '"naive-')), Buffer.from([0xff, 0x22])]));
    await expectRejected(read(), built.file, /not UTF-8 text/);
  });

  it('a "__proto__" key is covered by the content hash (it was set as the prototype and left out)', async () => {
    const { built, text, read } = await lockWithEntry();
    await writeFile(built.file, text.replace('"report": {', '"report": { "__proto__": { "kernels": 99 },'));
    await expectRejected(read(), built.file, /content hash mismatch/);
    await writeFile(built.file, text.replace('"verification": {', '"verification": { "__proto__": null,'));
    await expectRejected(read(), built.file, /content hash mismatch/);
  });

  it.each([['-0', '-0'], ['1e400', 'Infinity']])('the number %s, which the writer never writes and the hash would not see, is rejected', async (raw, shown) => {
    const { built, text, read } = await lockWithEntry();
    await writeFile(built.file, text.replace('"inputs": [0, 1]', `"inputs": [${raw}, 1]`));
    await expectRejected(read(), built.file, new RegExp(`holds the number ${shown}, which the lock's writer never writes`));
  });

  it('wrong types in the records every reader prints are rejected, even re-sealed', async () => {
    const { built, read } = await lockWithEntry();
    const edits: Array<[(e: Parameters<Parameters<typeof reseal>[1]>[0]) => void, RegExp]> = [
      [(e) => { e.report = { ...e.report, kernels: -1 }; }, /"report.kernels": Too small: expected number to be >=0/],
      [(e) => { e.report = { ...e.report, pipelines: 1.5 }; }, /"report.pipelines": Invalid input: expected int/],
      [(e) => { e.verification = { method: 'trust-me' } as unknown as typeof e.verification; }, /"verification.method": Invalid option: expected one of "search"\|"per-operator-lowering"/],
      [(e) => { e.program = { ...e.program, name: 7 as unknown as string }; }, /"program.name": Invalid input: expected string, received number/],
    ];
    for (const [edit, reason] of edits) {
      await writeFile(built.file, reseal(built.entry, edit));
      await expectRejected(read(), built.file, reason);
    }
  });

  it("fields the writer never writes are rejected, even re-sealed: lock format 1's timings and measurements, or anything else", async () => {
    const { built, read } = await lockWithEntry();
    type Edit = (e: Parameters<Parameters<typeof reseal>[1]>[0] & Record<string, unknown>) => void;
    const edits: Array<[Edit, RegExp]> = [
      [(e) => { e.report = { ...e.report, compileSeconds: 0.004 } as typeof e.report; }, /"report": Unrecognized key: "compileSeconds"/],
      [(e) => { e.verification = { ...e.verification, adapter: 'llvmpipe' } as typeof e.verification; }, /"verification": Unrecognized key: "adapter"/],
      [(e) => { e.reviewedBy = 'someone'; }, /the entry: Unrecognized key: "reviewedBy"/],
      // A key with a terminal escape sequence is quoted escaped: the message never carries the raw control character.
      [(e) => { e.report = { ...e.report, '\u001b[2J': 1 } as typeof e.report; }, /"report": Unrecognized key: "\\u001b\[2J"$/],
    ];
    for (const [edit, reason] of edits) {
      await writeFile(built.file, reseal(built.entry, edit as Parameters<typeof reseal>[1]));
      await expectRejected(read(), built.file, reason);
    }
  });
});

describe('what is at the entry path', () => {
  it('a directory is not an entry: a frozen build rejects it, a rebuild says what is in the way, keys() skips it', async () => {
    const { lockDir, built, store } = await lockWithEntry();
    await rm(built.file);
    await mkdir(built.file);
    await expectRejected(store.read(built.key), built.file, /not a regular file \(a directory\)/);
    await expectRejected(ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, true)), built.file, /not a regular file \(a directory\).*npx mugraph warm/s);
    await expect(ensureEntry(scaledProgram(), MODULE, lockContext(lockDir, false)))
      .rejects.toThrow(`${built.file}: cannot write the lock entry: a directory is in its place; delete it`);
    expect(await store.keys()).toEqual([]);
  });

  it('a FIFO is rejected at once, not read (which would block the build forever)', async () => {
    const { built, store } = await lockWithEntry();
    await rm(built.file);
    execFileSync('mkfifo', [built.file]);
    fifos.push(built.file);
    await expectRejected(store.read(built.key), built.file, /not a regular file \(a FIFO\)/);
    expect(await store.keys()).toEqual([built.key]); // listed, so that verify reports it and prune deletes it
    await store.remove(built.key);
    expect(await store.keys()).toEqual([]);
  });

  it('a symbolic link is not followed, even to a valid entry', async () => {
    const { built, text, store } = await lockWithEntry();
    const elsewhere = join(scratch, `elsewhere-${counter++}.json`);
    await writeFile(elsewhere, text);
    await rm(built.file);
    await symlink(elsewhere, built.file);
    await expectRejected(store.read(built.key), built.file, /not a regular file \(a symbolic link/);
  });

  it('an unreadable entry is a CorruptEntryError naming the file, and nothing at the path is a miss', async () => {
    const { built, store } = await lockWithEntry();
    const noPermission = process.getuid?.() !== 0; // root reads everything
    if (noPermission) {
      execFileSync('chmod', ['000', built.file]);
      await expectRejected(store.read(built.key), built.file, /cannot be (opened|read) \(EACCES\)/);
    }
    await rm(built.file, { force: true });
    expect(await store.read(built.key)).toBeUndefined();
  });
});
