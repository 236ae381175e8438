/**
 * The thread level of a custom kernel, explicit where Mirage leaves it to its code
 * generator: how many invocations a workgroup has, how many output elements each
 * invocation computes (register tile) and how wide its loads are (vector width). It
 * changes performance only, never the function computed, so the search and the cost
 * model may choose it freely; codegen must honour it.
 */
import { expectInteger, expectRecord, fail } from './check.js';

export interface ThreadConfig {
  /** Invocations per workgroup (a 1-D workgroup: @workgroup_size(invocations)). */
  readonly invocations: number;
  /** Output elements each invocation computes: [rows, columns] of the innermost two dims. */
  readonly registerTile: readonly [number, number];
  /** Elements per load/store along the innermost dimension: 1, 2 or 4 (vec2, vec4). */
  readonly vectorWidth: 1 | 2 | 4;
}

/** Mirage's block size (128 threads), scalar code: valid everywhere and easy to read. */
export const DEFAULT_THREAD_CONFIG: ThreadConfig = Object.freeze({
  invocations: 128,
  registerTile: Object.freeze([1, 1] as const),
  vectorWidth: 1,
});

const VECTOR_WIDTHS: readonly unknown[] = [1, 2, 4];

/** Checks a thread config; missing fields take the defaults. */
export function parseThreadConfig(raw: unknown, where: string): ThreadConfig {
  const r = expectRecord(raw ?? {}, where, ['invocations', 'registerTile', 'vectorWidth']);
  const d = DEFAULT_THREAD_CONFIG;
  const invocations = expectInteger(r.invocations ?? d.invocations, where, 'invocations', 1);
  const tile = r.registerTile ?? d.registerTile;
  if (!Array.isArray(tile) || tile.length !== 2) fail(where, `registerTile must be [rows, columns], got ${JSON.stringify(tile)}`);
  const rows = expectInteger(tile[0], where, 'registerTile rows', 1, 64);
  const columns = expectInteger(tile[1], where, 'registerTile columns', 1, 64);
  const vectorWidth = (r.vectorWidth ?? d.vectorWidth) as 1 | 2 | 4;
  if (!VECTOR_WIDTHS.includes(vectorWidth)) fail(where, `vectorWidth must be 1, 2 or 4, got ${JSON.stringify(vectorWidth)}`);
  if (columns % vectorWidth !== 0) fail(where, `registerTile columns (${columns}) must be a multiple of vectorWidth (${vectorWidth})`);
  return Object.freeze({ invocations, registerTile: Object.freeze([rows, columns] as const), vectorWidth });
}

export function formatThreadConfig(config: ThreadConfig): string {
  return `invocations=${config.invocations} registerTile=${config.registerTile.join('x')} vectorWidth=${config.vectorWidth}`;
}
