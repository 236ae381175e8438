/**
 * This machine's record of the lock entries it has verified: `<cacheDir>/verified/<contentHash>`,
 * one small file per entry, written (atomically, atomic-write.ts) after the finite-field verifier
 * found the entry's μGraph equivalent to its program here (or, for the per-operator
 * lowering, unverifiable and trusted). A lock hit whose entry is listed is not verified
 * again (build-module.ts), so a teammate's rebuild pays one small read per program, and a
 * fresh machine (CI) verifies each entry once.
 *
 * Why the content hash is enough: it covers the whole entry, the program's canonical JSON
 * and the μGraph included, and a hit is used only for the program whose canonical JSON the
 * entry records (lock-hit.ts), so a listed hash names exactly the (program, μGraph) pair
 * verified. An entry edited in any way has another hash and is verified again. The file
 * holds the verifier's identity (VERIFIER_ID): a mark left by another version of the
 * verifier does not count.
 *
 * The scratch cache is this machine's and safe to delete: deleting it only costs one
 * verification per entry. A mark that cannot be read (missing, not a regular file, other
 * content) is no mark; a mark that cannot be written is not an error (the entry is then
 * verified again next time).
 */
import { join } from 'node:path';
import { readEntryFile } from './entry-file.js';
import { writeFileAtomically } from './atomic-write.js';

/**
 * The verifier whose verdicts the marks record; bump it when the verifier (src/equivalence)
 * changes what it accepts, so that every entry is verified again by the new one.
 */
export const VERIFIER_ID = 'finite-field-1';

const MARK = `${VERIFIER_ID}\n`;
const CONTENT_HASH = /^[0-9a-f]{64}$/;

export class VerifiedEntries {
  constructor(readonly dir: string) {}

  fileFor(contentHash: string): string {
    if (!CONTENT_HASH.test(contentHash)) throw new RangeError(`not a content hash: ${JSON.stringify(contentHash)}`);
    return join(this.dir, contentHash);
  }

  /** Whether this machine verified the entry with this content hash (with this verifier). */
  async has(contentHash: string): Promise<boolean> {
    // A regular file only, never followed through a link, read without blocking (entry-file.ts).
    return (await readEntryFile(this.fileFor(contentHash)).catch(() => undefined)) === MARK;
  }

  /** Records the entry as verified here; a failure to write is ignored (it is verified again next time). */
  async mark(contentHash: string): Promise<void> {
    await writeFileAtomically(this.fileFor(contentHash), MARK, 'the verified mark').catch(() => {});
  }
}
