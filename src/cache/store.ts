/**
 * The entry store: one `<key>.json` per entry in the lock directory (committed), or in
 * `<cacheDir>/entries` when the lock is turned off. Writes are atomic (a temporary file in
 * the same directory, then rename), so parallel builds never see a half-written entry and
 * the last writer of a key wins with a complete file. Reads validate (entry.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type LockEntry, parseEntry, serializeEntry } from './entry.js';

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

  /** The validated entry, undefined when there is none; throws CorruptEntryError for a bad file. */
  async read(key: string): Promise<StoredEntry | undefined> {
    const file = this.fileFor(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return { ...parseEntry(text, file, key), file };
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
      throw error;
    }
    return file;
  }

  /** Keys of every entry file present (not validated). */
  async keys(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.flatMap((name) => ENTRY_FILE.exec(name)?.[1] ?? []).sort();
  }

  async remove(key: string): Promise<void> {
    await rm(this.fileFor(key), { force: true });
  }
}
