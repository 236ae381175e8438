/**
 * Atomic file writes, for lock entries (store.ts) and the verified marks (verified.ts).
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Writes `text` to `file` atomically: a temporary file beside it, created exclusively
 * (never through a link someone left at its name) and flushed to disk, then renamed over
 * `file`, so that a reader sees the old content or the new, never part of it, and a crash
 * right after cannot leave an empty file. The rename replaces whatever is at the path (a
 * link included) without following it. `what` names the file in the error when a
 * directory is in its place. Used for lock entries (store.ts) and the verified marks (verified.ts).
 */
export async function writeFileAtomically(file: string, text: string, what: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(file, '.json')}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await flush(temp, 'r+');
    await renameRetryingOnWindows(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    // rename replaces a file, link or FIFO, not a directory: say what is in the way.
    if (await isDirectory(file)) throw new Error(`${file}: cannot write ${what}: a directory is in its place; delete it`);
    throw error;
  }
  await flush(dir, 'r').catch(() => {}); // the rename itself, where directories can be flushed (not on Windows)
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
