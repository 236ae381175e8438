/**
 * Where entries live: the committed lock (`lockDir`, reviewed and committed by users) and
 * the scratch cache's entries (`<cacheDir>/entries`, safe to delete). A build reads the
 * lock first, then the scratch cache, and writes new entries to the lock when `writeLock`
 * is set (the default, and always for `mugraph warm`), to the scratch cache otherwise (the
 * Vite dev server), so that editing a tensor module during development never touches the
 * committed lock. A frozen build (CI) reads only the lock: what it builds from is what is
 * committed. With `lockDir: false` the scratch cache is the only store.
 *
 * Each directory (EntryDirectory) holds one `<key>.json` per entry. Writes are atomic (a
 * temporary file in the same directory, flushed to disk, then renamed over the entry), so
 * parallel builds never see a half-written entry, the last writer of a key wins with a
 * complete file, and a write that fails midway leaves the previous entry as it was. Reads
 * take only regular files (entry-file.ts) and validate them (entry.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type LockEntry, parseEntry, serializeEntry } from './entry.js';
import { readEntryFile } from './entry-file.js';

export interface StoredEntry {
  readonly entry: LockEntry;
  readonly ugraph: KernelGraph;
  readonly file: string;
}

const ENTRY_FILE = /^([0-9a-f]{32})\.json$/;

/** One directory of entries: the lock, or the scratch cache's. */
export class EntryDirectory {
  constructor(readonly dir: string) {}

  fileFor(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The validated entry, undefined when there is none; throws CorruptEntryError naming the file for anything else. */
  async read(key: string): Promise<StoredEntry | undefined> {
    const file = this.fileFor(key);
    const text = await readEntryFile(file);
    return text === undefined ? undefined : { ...parseEntry(text, file, key), file };
  }

  /** Whether anything is at the key's path (not validated). */
  async has(key: string): Promise<boolean> {
    return (await lstat(this.fileFor(key)).catch(() => undefined)) !== undefined;
  }

  /**
   * Writes atomically; returns the file written. The temporary file is created exclusively
   * (never through a link someone left at its name) and flushed before the rename, so that a
   * crash right after cannot leave an empty entry; the rename replaces whatever is at the
   * entry's path (a link included) without following it.
   */
  async write(entry: LockEntry): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = this.fileFor(entry.key);
    const temp = join(this.dir, `.${entry.key}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
    try {
      await writeFile(temp, serializeEntry(entry), { flag: 'wx' });
      await flush(temp, 'r+');
      await renameRetryingOnWindows(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      // rename replaces a file, link or FIFO, not a directory: say what is in the way.
      if (await isDirectory(file)) throw new Error(`${file}: cannot write the lock entry: a directory is in its place; delete it`);
      throw error;
    }
    await flush(this.dir, 'r').catch(() => {}); // the rename itself, where directories can be flushed (not on Windows)
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

/** The lock and the scratch cache as a build uses them (see the header). */
export class KernelStore {
  /** The committed lock; undefined with `lockDir: false`. */
  readonly lock: EntryDirectory | undefined;
  /** The scratch cache's entries: what the dev server compiled, or every entry with `lockDir: false`. */
  readonly scratch: EntryDirectory;
  /** Where new entries are written. */
  readonly target: EntryDirectory;

  constructor(lockDir: string | false, cacheDir: string, writeLock = true) {
    this.lock = lockDir === false ? undefined : new EntryDirectory(lockDir);
    this.scratch = new EntryDirectory(join(cacheDir, 'entries'));
    this.target = writeLock ? this.lock ?? this.scratch : this.scratch;
  }

  /** The lock, or the scratch cache when there is no lock: what `verify` checks and `prune` keeps tidy first. */
  get primary(): EntryDirectory {
    return this.lock ?? this.scratch;
  }

  /** Where new entries are written. */
  get dir(): string {
    return this.target.dir;
  }

  /** The file a new entry for `key` is written to. */
  fileFor(key: string): string {
    return this.target.fileFor(key);
  }

  /** The directories a build reads, in order: a frozen one only the lock. */
  sources(frozen: boolean): readonly EntryDirectory[] {
    return frozen || this.primary === this.scratch ? [this.primary] : [this.primary, this.scratch];
  }
}

/** fsync: what was written to `path` reaches the disk (a file needs a writable handle on Windows). */
async function flush(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Errors Windows gives for a while when another process (a reader, a virus scanner) has the entry open. */
const TRANSIENT_ON_WINDOWS = new Set(['EPERM', 'EACCES', 'EBUSY']);
const RENAME_ATTEMPTS = 8;

/** rename, tried again with a growing pause (about 2.5 s in all) where Windows refuses it for a moment. */
async function renameRetryingOnWindows(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rename(from, to);
    } catch (error) {
      const transient = process.platform === 'win32' && TRANSIENT_ON_WINDOWS.has((error as NodeJS.ErrnoException).code ?? '');
      if (!transient || attempt === RENAME_ATTEMPTS) throw error;
      await sleep(10 * 2 ** attempt);
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}
