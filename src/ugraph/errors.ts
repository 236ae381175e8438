/**
 * The one error type of the μGraph IR. Every construction path (builder, constructor,
 * `fromJSON`, target validation) reports problems through it, so callers (the search,
 * the lock reader, tests) can tell an invalid μGraph from a bug.
 */
export class UGraphError extends Error {
  override readonly name = 'UGraphError';
  constructor(
    /** Where the problem is, outermost first, e.g. `node 3 (custom) > block > op 2 (binary add)`. */
    readonly where: string,
    /** What is wrong, without the location. */
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

export function isUGraphError(error: unknown): error is UGraphError {
  return error instanceof Error && error.name === 'UGraphError' && 'where' in error && 'detail' in error;
}
