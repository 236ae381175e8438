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
  /**
   * Matmul A operands that every invocation reads alike (the register tile spans all rows)
   * are read once per subgroup, lanes 0..SUBGROUP_BROADCAST_LANES-1 each reading a different
   * row (or K step), and shared by subgroupBroadcast instead of each invocation reading
   * them (codegen/ugraph/emit-matmul.ts). Present only when
   * set (so graphs without it keep their JSON and hash); needs invocations in multiples of
   * SUBGROUP_BROADCAST_LANES and a target with subgroups at least that wide (so that lanes
   * 0..7 of every subgroup exist; subgroups are assumed to be filled in order, as GPUs and
   * lavapipe do).
   */
  readonly subgroupBroadcast?: true;
  /**
   * Invocations that share each register tile of a matmul accumulated in registers, each
   * taking every kLanes-th K step (consecutive subgroup lanes; their partial tiles are
   * summed by subgroupShuffleXor after the loop). Reads of the streamed operand then spread
   * over kLanes rows at once. Present only when above 1: a power of two up to
   * SUBGROUP_BROADCAST_LANES dividing invocations; needs subgroups at least that wide.
   */
  readonly kLanes?: number;
  /**
   * Input tiles that matmuls re-read (A rows every column group reads, B columns every row
   * group reads) are read by each invocation straight from storage instead of being staged
   * in workgroup memory each iteration, so the K loop needs no barrier. Present only when
   * set. On lavapipe a barrier in the loop splits it into coroutine steps, and the register
   * tiles live in the coroutine's frame in memory between them (each FMA then loads, blends
   * and stores its accumulator there); on a GPU staging is what saves the re-reads.
   */
  readonly streamOperands?: true;
  /**
   * Row sums accumulated in registers (unrescaled sumLastDim) are combined across the lanes
   * of a row by a subgroupShuffleXor butterfly within clusters of up to
   * SUBGROUP_BROADCAST_LANES consecutive lanes, instead of a tree in workgroup memory with a
   * barrier per level (codegen/ugraph/emit-row-sums.ts); rows wider than a cluster pass the
   * clusters' totals through workgroup memory once. Present only when set; needs a target
   * with subgroups at least SUBGROUP_BROADCAST_LANES wide.
   */
  readonly subgroupRowSums?: true;
}

/** Lanes of every subgroup that read a broadcast A operand, one row or K step each (lanes 0..7). */
export const SUBGROUP_BROADCAST_LANES = 8;

/** Mirage's block size (128 threads), scalar code: valid everywhere and easy to read. */
export const DEFAULT_THREAD_CONFIG: ThreadConfig = Object.freeze({
  invocations: 128,
  registerTile: Object.freeze([1, 1] as const),
  vectorWidth: 1,
});

const VECTOR_WIDTHS: readonly unknown[] = [1, 2, 4];

/** Checks a thread config; missing fields take the defaults. */
export function parseThreadConfig(raw: unknown, where: string): ThreadConfig {
  const r = expectRecord(raw ?? {}, where, ['invocations', 'registerTile', 'vectorWidth', 'subgroupBroadcast', 'kLanes', 'streamOperands', 'subgroupRowSums']);
  const d = DEFAULT_THREAD_CONFIG;
  const invocations = expectInteger(r.invocations ?? d.invocations, where, 'invocations', 1);
  const tile = r.registerTile ?? d.registerTile;
  if (!Array.isArray(tile) || tile.length !== 2) fail(where, `registerTile must be [rows, columns], got ${JSON.stringify(tile)}`);
  const rows = expectInteger(tile[0], where, 'registerTile rows', 1, 64);
  const columns = expectInteger(tile[1], where, 'registerTile columns', 1, 64);
  const vectorWidth = (r.vectorWidth ?? d.vectorWidth) as 1 | 2 | 4;
  if (!VECTOR_WIDTHS.includes(vectorWidth)) fail(where, `vectorWidth must be 1, 2 or 4, got ${JSON.stringify(vectorWidth)}`);
  if (columns % vectorWidth !== 0) fail(where, `registerTile columns (${columns}) must be a multiple of vectorWidth (${vectorWidth})`);
  const broadcast = r.subgroupBroadcast ?? false;
  if (typeof broadcast !== 'boolean') fail(where, `subgroupBroadcast must be true or false, got ${JSON.stringify(broadcast)}`);
  // Lanes 0..7 of every subgroup must exist: subgroups (powers of two of at least 8) then each hold a multiple of 8.
  if (broadcast && invocations % SUBGROUP_BROADCAST_LANES !== 0) {
    fail(where, `subgroupBroadcast needs invocations in multiples of ${SUBGROUP_BROADCAST_LANES}, got ${invocations}`);
  }
  const kLanes = expectInteger(r.kLanes ?? 1, where, 'kLanes', 1, SUBGROUP_BROADCAST_LANES);
  if ((kLanes & (kLanes - 1)) !== 0 || invocations % kLanes !== 0) {
    fail(where, `kLanes must be a power of two dividing invocations (${invocations}), got ${kLanes}`);
  }
  const stream = r.streamOperands ?? false;
  if (typeof stream !== 'boolean') fail(where, `streamOperands must be true or false, got ${JSON.stringify(stream)}`);
  const rowSums = r.subgroupRowSums ?? false;
  if (typeof rowSums !== 'boolean') fail(where, `subgroupRowSums must be true or false, got ${JSON.stringify(rowSums)}`);
  const registerTile = Object.freeze([rows, columns] as const);
  return Object.freeze({
    invocations,
    registerTile,
    vectorWidth,
    ...(broadcast ? { subgroupBroadcast: true as const } : {}),
    ...(kLanes > 1 ? { kLanes } : {}),
    ...(stream ? { streamOperands: true as const } : {}),
    ...(rowSums ? { subgroupRowSums: true as const } : {}),
  });
}

export function formatThreadConfig(config: ThreadConfig): string {
  const broadcast = config.subgroupBroadcast ? ' subgroupBroadcast' : '';
  const kLanes = config.kLanes ? ` kLanes=${config.kLanes}` : '';
  const stream = config.streamOperands ? ' streamOperands' : '';
  const rowSums = config.subgroupRowSums ? ' subgroupRowSums' : '';
  return `invocations=${config.invocations} registerTile=${config.registerTile.join('x')} vectorWidth=${config.vectorWidth}${broadcast}${kLanes}${stream}${rowSums}`;
}
