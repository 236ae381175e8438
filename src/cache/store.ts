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
 * temporary file in the same directory, flushed to disk, then renamed over the entry:
 * atomic-write.ts), so
 * parallel builds never see a half-written entry, the last writer of a key wins with a
 * complete file, and a write that fails midway leaves the previous entry as it was. Reads
 * take only regular files (entry-file.ts) and validate them (entry.ts).
 *
 * `<cacheDir>/verified` records which entries this machine has verified (verified.ts), so
 * that a lock hit is verified once per machine, not on every build.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import { type LockEntry, parseEntry, serializeEntry } from './entry.js';
import { writeFileAtomically } from './atomic-write.js';
import { readEntryFile } from './entry-file.js';
import { VerifiedEntries } from './verified.js';

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

  /** Writes atomically (writeFileAtomically); returns the file written. */
  async write(entry: LockEntry): Promise<string> {
    const file = this.fileFor(entry.key);
    await writeFileAtomically(file, serializeEntry(entry), 'the lock entry');
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
  /** This machine's record of the entries it has verified (`<cacheDir>/verified`): a hit it lists is not verified again. */
  readonly verified: VerifiedEntries;

  constructor(lockDir: string | false, cacheDir: string, writeLock = true) {
    this.lock = lockDir === false ? undefined : new EntryDirectory(lockDir);
    this.scratch = new EntryDirectory(join(cacheDir, 'entries'));
    this.verified = new VerifiedEntries(join(cacheDir, 'verified'));
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
