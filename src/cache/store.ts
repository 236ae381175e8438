/**
 * The entry store: one `<key>.json` per entry in the lock directory (committed), or in
 * `<cacheDir>/entries` when the lock is turned off. Writes are atomic (a temporary file in
 * the same directory, then rename), so parallel builds never see a half-written entry, the
 * last writer of a key wins with a complete file, and a write that fails midway leaves the
 * previous entry as it was. Reads take only regular files (entry-file.ts) and validate
 * them (entry.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type LockEntry, parseEntry, serializeEntry } from './entry.js';
import { readEntryFile } from './entry-file.js';

export interface StoredEntry {
  readonly entry: LockEntry;
  readonly ugraph: KernelGraph;
  readonly file: string;
}

const ENTRY_FILE = /^([0-9a-f]{32})\.json$/;

export class KernelStore {
  /** Where entries are read and written. */
  readonly dir: string;

  constructor(lockDir: string | false, cacheDir: string) {
    this.dir = lockDir === false ? join(cacheDir, 'entries') : lockDir;
  }

  fileFor(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The validated entry, undefined when there is none; throws CorruptEntryError naming the file for anything else. */
  async read(key: string): Promise<StoredEntry | undefined> {
    const file = this.fileFor(key);
    const text = await readEntryFile(file);
    return text === undefined ? undefined : { ...parseEntry(text, file, key), file };
  }

  /** Writes atomically; returns the file written. */
  async write(entry: LockEntry): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = this.fileFor(entry.key);
    const temp = join(this.dir, `.${entry.key}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
    try {
      await writeFile(temp, serializeEntry(entry));
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      // rename replaces a file, link or FIFO, not a directory: say what is in the way.
      if (await isDirectory(file)) throw new Error(`${file}: cannot write the lock entry: a directory is in its place; delete it`);
      throw error;
    }
    return file;
  }

  /**
   * Keys of everything named like an entry (not validated), except directories: a file,
   * link, FIFO or socket named like one is listed, so that `verify` reports it and `prune`
   * can delete it.
   */
  async keys(): Promise<string[]> {
    let names: Dirent[];
    try {
      names = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((d) => !d.isDirectory()).flatMap((d) => ENTRY_FILE.exec(d.name)?.[1] ?? []).sort();
  }

  async remove(key: string): Promise<void> {
    await rm(this.fileFor(key), { force: true });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}
