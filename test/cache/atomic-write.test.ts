/**
 * The store's writes are atomic (src/cache/store.ts: a temporary file, flushed, then
 * renamed over the entry): a write that fails midway leaves the previous entry intact and
 * readable and nothing that breaks later reads; readers never see part of an entry while
 * large writes are under way; the entry's path is replaced, never written through, so a
 * link left there cannot aim the write at another file. A write interrupted after part of
 * its content is simulated by failing `writeFile` (node:fs/promises, mocked here) after it
 * has written the first half (ENOSPC): a store that wrote the entry's file directly fails
 * these tests.
 *
 * Why not write-file-atomic (which also flushes): it resolves links (realpath) and writes
 * to their target, and takes a short write for a complete one; its current major also
 * needs a newer Node than this package supports. The flush and Windows' transient rename
 * refusals are handled here instead.
 */
import type * as fsPromises from 'node:fs/promises';
import { lstat, mkdtemp, open, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LockEntry, sealEntry } from '../../src/cache/entry.js';
import { EntryDirectory } from '../../src/cache/store.js';
import { compiledEntry } from './entries.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  return { ...actual, writeFile: vi.fn(actual.writeFile), open: vi.fn(actual.open), rename: vi.fn(actual.rename) };
});
const actualFs = await vi.importActual<typeof fsPromises>('node:fs/promises');

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-atomic-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** `entry` with a program name (a label, not in the key) of `padding` characters, sealed: a large entry, distinguishable by its hash. */
function padded(entry: LockEntry, padding: number, fill: string): LockEntry {
  const { contentHash: _, ...unsealed } = entry;
  return sealEntry({ ...unsealed, program: { ...entry.program, name: fill.repeat(padding) } });
}

describe('EntryDirectory.write', () => {
  it('interrupted midway, leaves the previous entry intact and readable, and no file that breaks later reads', async () => {
    const lockDir = join(scratch, 'interrupted');
    const { built } = await compiledEntry(lockDir);
    const store = new EntryDirectory(lockDir);
    const replacement = padded(built.entry, 10_000, 'r');
    vi.mocked(writeFile).mockImplementationOnce(async (path, data) => {
      await actualFs.writeFile(path, String(data).slice(0, String(data).length / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    await expect(store.write(replacement)).rejects.toThrow('ENOSPC');

    expect((await store.read(built.key))?.entry).toEqual(built.entry);
    expect(await readdir(lockDir)).toEqual([`${built.key}.json`]);
    expect(await store.keys()).toEqual([built.key]);
    await store.write(replacement);
    expect((await store.read(built.key))?.entry).toEqual(replacement);
  });

  it('a temporary file left by a writer killed before its rename does not affect reads, keys or writes', async () => {
    const lockDir = join(scratch, 'killed');
    const { built, text } = await compiledEntry(lockDir);
    const store = new EntryDirectory(lockDir);
    await actualFs.writeFile(join(lockDir, `.${built.key}.12345.deadbeef.tmp`), text.slice(0, 100));
    expect((await store.read(built.key))?.entry).toEqual(built.entry);
    expect(await store.keys()).toEqual([built.key]);
    await store.write(built.entry);
    expect((await store.read(built.key))?.entry).toEqual(built.entry);
  });

  it('readers never see a partial entry while large entries are being written', async () => {
    const lockDir = join(scratch, 'concurrent');
    const { built } = await compiledEntry(lockDir);
    const versions = [padded(built.entry, 700_000, 'a'), padded(built.entry, 900_000, 'b')];
    const known = new Set(versions.map((v) => v.contentHash));
    const writer = new EntryDirectory(lockDir);
    await writer.write(versions[0]!);
    let writing = true;
    const writes = (async () => {
      for (let i = 1; i <= 24; i++) await writer.write(versions[i % 2]!);
      writing = false;
    })();
    /** What each read gave until the writes ended: a known version's hash, 'missing', or the error. */
    const reader = async () => {
      const store = new EntryDirectory(lockDir);
      const seen: string[] = [];
      while (writing) {
        seen.push(await store.read(built.key).then((stored) => stored?.entry.contentHash ?? 'missing', (error: unknown) => String(error)));
      }
      return seen;
    };
    const [, ...reads] = await Promise.all([writes, reader(), reader()]);
    const seen = reads.flat();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((hash) => !known.has(hash)).slice(0, 3)).toEqual([]);
  });

  it('flushes the temporary file to disk before renaming it over the entry (a crash after the rename leaves a complete entry)', async () => {
    const lockDir = join(scratch, 'flushed');
    const { built } = await compiledEntry(lockDir);
    const steps: string[] = [];
    vi.mocked(open).mockImplementationOnce(async (path, ...rest) => {
      const handle = await actualFs.open(path, ...rest);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        steps.push(`flush ${basename(String(path))}`);
        return sync();
      };
      return handle;
    });
    vi.mocked(rename).mockImplementationOnce(async (from, to) => {
      steps.push(`rename ${basename(String(from))}`);
      return actualFs.rename(from, to);
    });
    await new EntryDirectory(lockDir).write(built.entry);
    const temp = steps.find((step) => step.startsWith('rename '))?.slice('rename '.length);
    expect(temp).toMatch(/\.tmp$/);
    expect(steps).toEqual([`flush ${temp}`, `rename ${temp}`]);
  });

  it('on Windows, tries a rename again that is refused for a moment (another process has the entry open); elsewhere fails at once', async () => {
    const lockDir = join(scratch, 'windows');
    const { built } = await compiledEntry(lockDir);
    const store = new EntryDirectory(lockDir);
    const refuse = async () => {
      throw Object.assign(new Error('EPERM: operation not permitted, rename'), { code: 'EPERM' });
    };
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    vi.mocked(rename).mockImplementationOnce(refuse).mockImplementationOnce(refuse);
    Object.defineProperty(process, 'platform', { ...platform, value: 'win32' });
    try {
      await expect(store.write(padded(built.entry, 10, 'w'))).resolves.toBe(built.file);
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    expect((await store.read(built.key))?.entry).toEqual(padded(built.entry, 10, 'w'));

    vi.mocked(rename).mockImplementationOnce(refuse);
    await expect(store.write(built.entry)).rejects.toThrow('EPERM'); // on Linux or macOS it is the permissions: no retry
    expect(await readdir(lockDir)).toEqual([`${built.key}.json`]);
  });

  it("replaces a link left at the entry's path instead of writing through it to the file it points at", async () => {
    const lockDir = join(scratch, 'link');
    const { built, text } = await compiledEntry(lockDir);
    const outside = join(scratch, 'outside.txt');
    await writeFile(outside, 'not an entry\n');
    await rm(built.file);
    await symlink(outside, built.file);
    await new EntryDirectory(lockDir).write(built.entry);
    expect(await readFile(outside, 'utf8')).toBe('not an entry\n');
    expect((await lstat(built.file)).isFile()).toBe(true);
    expect(await readFile(built.file, 'utf8')).toBe(text);
  });
});
