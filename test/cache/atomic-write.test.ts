/**
 * The store's writes are atomic (src/cache/store.ts: a temporary file, then rename): a
 * write that fails midway leaves the previous entry intact and readable and nothing that
 * breaks later reads; readers never see part of an entry while large writes are under
 * way. A write interrupted after part of its content is simulated by failing `writeFile`
 * (node:fs/promises, mocked here) after it has written the first half (ENOSPC).
 */
import type * as fsPromises from 'node:fs/promises';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LockEntry, sealEntry } from '../../src/cache/entry.js';
import { KernelStore } from '../../src/cache/store.js';
import { compiledEntry } from './entries.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  return { ...actual, writeFile: vi.fn(actual.writeFile) };
});
const actualFs = await vi.importActual<typeof fsPromises>('node:fs/promises');

let scratch: string;
beforeAll(async () => { scratch = await mkdtemp(join(tmpdir(), 'mugraph-atomic-')); });
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** `entry` with a report field of `padding` bytes, sealed: a large entry, distinguishable by its hash. */
function padded(entry: LockEntry, padding: number, fill: string): LockEntry {
  const { contentHash: _, ...unsealed } = entry;
  return sealEntry({ ...unsealed, report: { ...entry.report, padding: fill.repeat(padding) } });
}

describe('KernelStore.write', () => {
  it('interrupted midway, leaves the previous entry intact and readable, and no file that breaks later reads', async () => {
    const lockDir = join(scratch, 'interrupted');
    const { built } = await compiledEntry(lockDir);
    const store = new KernelStore(lockDir, scratch);
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
    const store = new KernelStore(lockDir, scratch);
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
    const writer = new KernelStore(lockDir, scratch);
    await writer.write(versions[0]!);
    let writing = true;
    const writes = (async () => {
      for (let i = 1; i <= 24; i++) await writer.write(versions[i % 2]!);
      writing = false;
    })();
    /** What each read gave until the writes ended: a known version's hash, 'missing', or the error. */
    const reader = async () => {
      const store = new KernelStore(lockDir, scratch);
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
});
