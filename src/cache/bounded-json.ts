/**
 * JSON parsing for lock entries, within bounds. An entry is read from a directory anyone
 * can commit to, and everything downstream of the parse (the key sorter that hashes it,
 * KernelGraph.fromJSON, the messages that quote it) walks values recursively; bounding
 * the parse is what makes any text safe to hand them. The bounds are far above what the
 * writer produces: today's entries are 3 to 5 KB and nest 7 levels deep.
 *
 * Beyond size and depth, the parse refuses the numbers the writer never writes
 * (JSON.stringify writes neither): values beyond float64's range (1e400 parses to Infinity,
 * which the hash would see as null) and -0 (which the hash would see as 0). Every value the
 * reader uses is therefore one the content hash covers exactly.
 */

/** Largest entry file read, in bytes (1 MiB). */
export const MAX_ENTRY_BYTES = 1 << 20;
/** Deepest nesting of arrays and objects accepted in an entry. */
export const MAX_ENTRY_DEPTH = 64;

/** Text that is not JSON within the bounds; the message is the reason. */
export class BoundedJSONError extends Error {
  override readonly name = 'BoundedJSONError';
}

export function parseBoundedJSON(text: string): unknown {
  if (text.length > MAX_ENTRY_BYTES) throw new BoundedJSONError(`${text.length} characters, over the ${MAX_ENTRY_BYTES}-byte bound of an entry`);
  // Before JSON.parse, so that no recursive walk ever sees deeper nesting (V8's JSON.parse itself does not recurse).
  const depth = nestingDepth(text);
  if (depth > MAX_ENTRY_DEPTH) throw new BoundedJSONError(`nested deeper than ${MAX_ENTRY_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BoundedJSONError(`not valid JSON (${(error as Error).message})`);
  }
  const odd = unwrittenNumber(value);
  if (odd !== undefined) throw new BoundedJSONError(`holds the number ${odd}, which the lock's writer never writes`);
  return value;
}

/** The deepest nesting of `[` and `{` outside strings; stops counting past the bound. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      deepest = Math.max(deepest, ++depth);
      if (deepest > MAX_ENTRY_DEPTH) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** A number in `value` that JSON.stringify would not write back as itself ('-0', 'Infinity'), if any. */
function unwrittenNumber(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return '-0';
    return Number.isFinite(value) ? undefined : String(value);
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const field of Object.values(value)) {
    const odd = unwrittenNumber(field);
    if (odd !== undefined) return odd;
  }
  return undefined;
}
