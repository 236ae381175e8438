/**
 * Reading one entry file's text, whatever is at its path. Only a regular file is an entry:
 * a directory, FIFO, socket or device is a CorruptEntryError "not a regular file" (reading
 * a FIFO would block the build forever), and so is a symbolic link, which is not followed:
 * the build reads exactly the file the lock directory holds, never what a link points at
 * (a device, a FIFO, a file outside the repository). The lock directory itself may be a
 * link. The path is checked with lstat before it is opened, and opened without blocking
 * and without following a link, then checked again on the open descriptor (fstat), so
 * that a swap between the two cannot slip a FIFO in. Files over MAX_ENTRY_BYTES and text
 * that is not UTF-8 are rejected too. Every failure other than "no file" names the file.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { MAX_ENTRY_BYTES } from './bounded-json.js';
import { CorruptEntryError } from './entry.js';

/** O_NONBLOCK and O_NOFOLLOW where the platform has them (not on Windows, which has no FIFOs to block on). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/** The entry file's text, or undefined when nothing is at `file`. */
export async function readEntryFile(file: string): Promise<string | undefined> {
  const corrupt = (reason: string) => new CorruptEntryError(file, reason);
  let info: Stats;
  try {
    info = await lstat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw corrupt(`cannot be read (${errorCode(error) ?? (error as Error).message})`);
  }
  checkRegular(info, corrupt);
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined; // removed since the lstat
    if (errorCode(error) === 'ELOOP') throw corrupt('not a regular file (a symbolic link; entries are never followed through links)');
    throw corrupt(`cannot be opened (${errorCode(error) ?? (error as Error).message})`);
  }
  try {
    const opened = await handle.stat();
    checkRegular(opened, corrupt);
    return decodeUtf8(await readAtMost(handle, opened.size, MAX_ENTRY_BYTES + 1), corrupt);
  } catch (error) {
    if (error instanceof CorruptEntryError) throw error;
    throw corrupt(`cannot be read (${errorCode(error) ?? (error as Error).message})`);
  } finally {
    await handle.close();
  }
}

function checkRegular(info: Stats, corrupt: (reason: string) => CorruptEntryError): void {
  if (!info.isFile()) throw corrupt(`not a regular file (${kindOf(info)}); an entry is a plain JSON file`);
  if (info.size > MAX_ENTRY_BYTES) throw corrupt(`${info.size} bytes, over the ${MAX_ENTRY_BYTES}-byte bound of an entry`);
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symbolic link; entries are never followed through links';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** Up to `limit` bytes; `expected` (the fstat size) sizes the buffer, but the file may have grown since. */
async function readAtMost(handle: FileHandle, expected: number, limit: number): Promise<Buffer> {
  let buffer = Buffer.alloc(Math.min(expected + 1, limit));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length >= limit) break;
      const bigger = Buffer.alloc(Math.min(2 * buffer.length, limit));
      buffer.copy(bigger);
      buffer = bigger;
    }
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return buffer.subarray(0, length);
}

function decodeUtf8(bytes: Buffer, corrupt: (reason: string) => CorruptEntryError): string {
  if (bytes.length > MAX_ENTRY_BYTES) throw corrupt(`over the ${MAX_ENTRY_BYTES}-byte bound of an entry (it grew while being read)`);
  try {
    // ignoreBOM keeps a byte-order mark in the text (the writer never writes one), so JSON.parse rejects it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw corrupt('not UTF-8 text');
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}
