/**
 * Thread-level rules: the thread config (ugraph/thread-config.ts) of a custom kernel the
 * search generated, chosen from its block graph and the target by documented rules rather
 * than searched (docs/search.md, "Thread-level rules and the cost estimate"). A thread
 * config never changes the function computed, only how fast it runs, so any config that
 * validates is correct; the rules pick the one the hand μGraphs (fixtures/ugraphs/*.ts)
 * measured fastest on lavapipe, and each rule cites the measurement behind it.
 *
 * `threadConfigCandidates` yields configs best-first: the rules' config, then the same with
 * fewer features or invocations, then plain configs that fit almost any block.
 * `validThreadConfigs` keeps those that pass the real validators (threadConfigProblems:
 * parseThreadConfig, checkTarget's rules incl. workgroup memory, and the storage bindings
 * codegen adds for vector reads), and `chooseThreadConfig` returns the first of them.
 */
import { vectorAliases } from '../codegen/ugraph/custom-kernel.js';
import { numel } from '../ir/shape.js';
import type { BlockGraph } from '../ugraph/block-graph.js';
import { UGraphError } from '../ugraph/errors.js';
import { KernelGraph, type KernelGraphJSON } from '../ugraph/kernel-graph.js';
import type { CustomKernelNode } from '../ugraph/kernel-ops.js';
import { registerRowSumCandidates } from '../ugraph/memory.js';
import { blockResidency, fusedAccumulator, largestDivisorAtMost } from '../ugraph/residency.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { DEFAULT_THREAD_CONFIG, formatThreadConfig, parseThreadConfig, SUBGROUP_BROADCAST_LANES, type ThreadConfig } from '../ugraph/thread-config.js';
import { loopWritesWorkgroup } from './cost.js';

/**
 * Register-tile rows at most: a tile spans every row of a matmul up to 16 (gated_mlp b8,
 * lora, rmsnorm b8 and attention all use rows = the workgroup's 16 rows), so the B operand
 * (weights, K, V) is read once per workgroup and every invocation reads the same A rows
 * (what subgroupBroadcast shares). 16 rows x 16 columns = 256 f32 accumulators, the
 * widest tile measured to win (lora 16 x 16 ~1.25x faster than 16 x 8).
 */
export const MAX_REGISTER_ROWS = 16;

/**
 * Register-tile columns tried, widest first. 16 columns read an f16 B operand as two packed
 * loads of 8 halves per K step (plan.ts matmulColumnChunk): against 8 columns, kernel-only
 * on lavapipe, gated_mlp b1 ~1.7x and b8 ~1.3x faster, lora ~1.25x. 8 columns are taken
 * only to reach a subgroup of tiles (MIN_TILES) or for tiles of few rows (NARROW_COLUMNS);
 * never 4 (a tile of 4 columns reads 4 halves per load): attention's 16 x 4 tiles were
 * ~1.45x slower than 16 x 8 (gqa.ts), rmsnorm b1 without subgroups 2 x 4 (8 invocations)
 * 1.9x slower than 2 x 8 (4 invocations).
 */
export const REGISTER_COLUMNS = [16, 8] as const;

/**
 * Tiles (invocations) a matmul kernel should have at least: one lavapipe SIMD register of
 * lanes, and SUBGROUP_BROADCAST_LANES, so that subgroup broadcast applies. Attention's
 * 64-wide tiles take 8 columns (8 invocations) rather than 16 (4 invocations, no broadcast);
 * where even 8 columns do not reach it, the tiles stay 16 wide (lora's X·A kernel: one
 * 16 x 16 tile, one invocation).
 */
export const MIN_TILES = SUBGROUP_BROADCAST_LANES;

/**
 * kLanes applies where a register tile has at most this many rows: each B load then feeds
 * few FMAs, and the kernel waits on W's cache misses, which kLanes lanes issue for kLanes
 * rows at once. rmsnorm b1 (2 rows): 1 x 32 tiles with 8 K lanes, kernel-only ~2.5x faster
 * (31.6 -> 12.9 ms); rmsnorm b8 (16 rows): the split was ~1.6x slower, and gated_mlp b1
 * (8 rows) runs without it.
 */
export const K_LANE_MAX_ROWS = 4;
/**
 * Columns of a tile with at most K_LANE_MAX_ROWS rows where kLanes is not available (no
 * subgroups): as with kLanes, more invocations put more of B's loads in flight. rmsnorm b1
 * on WebGPU's defaults (interleaved in one process, f16, kernel time relative to the hand
 * μGraph's kLanes config): 2 x 8 tiles (4 invocations) 1.93x, 2 x 16 (2) 3.17x, 2 x 32 (1)
 * 3.17x, 2 x 4 (8) 3.62x.
 */
export const NARROW_COLUMNS = 8;
/**
 * Columns of a tile with at most K_LANE_MAX_ROWS rows without kLanes, where the kernel still
 * has MIN_TILES such tiles: few rows give each B load few FMAs, and wider tiles pay for
 * their loads better. rmsnorm b1 on WebGPU's defaults (2 rows, 256 columns per workgroup,
 * f16, interleaved, kernel time): 2 x 32 tiles (8 invocations) 19.7 ms, 2 x 16 (16) 42.9 ms;
 * 2 x 64 with 512 columns per workgroup (8 invocations) 19.8 ms; the per-operator lowering
 * 52.4 ms. At 8 rows (gated_mlp b1) 8 x 32 gained ~10% over 8 x 16, within the noise.
 * Where 32 columns leave fewer than MIN_TILES tiles, NARROW_COLUMNS keeps lanes busy instead.
 */
export const FEW_ROW_COLUMNS = 32;
/** Lanes splitting a tile's K steps (rmsnorm b1's 8). */
export const K_LANES = SUBGROUP_BROADCAST_LANES;
/** Register-tile columns with kLanes at most (rmsnorm b1's 32: the lanes share the tile, so it may be wide). */
export const K_LANE_MAX_COLUMNS = 32;
/** K steps per iteration each of the kLanes lanes takes at least (shorter K loops do not pay for the shuffles after the loop). */
export const MIN_STEPS_PER_K_LANE = 4;

/**
 * Invocations of a kernel without register-tiled matmuls (row-wise and elementwise
 * kernels): what every hand one uses (ntrans' statistics and output kernels, the attention
 * combine kernel, qknorm's V normalization); ntrans' output kernel with half a row per
 * workgroup at 64 invocations was ~1.7x faster than 256-element workgroups.
 */
export const ROW_WISE_INVOCATIONS = 64;

/**
 * subgroupRowSums applies where a row's partial sums meet across at least this many lanes
 * (a tree of 3 or more barrier levels): ntrans' statistics kernel (64 lanes per row) 0.87-0.95x
 * the kernel time; rmsnorm's Σx² (2 or 4 lanes per row) ran 1.00-1.48x with it, so not there.
 */
export const ROW_SUM_MIN_LANES = 8;

/** A matmul of the block graph: its output tile m x n (batch tiles of them), its K, and whether it accumulates in registers. */
interface BlockMatmul {
  readonly id: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
  /** Its only reader is a `sum` accumulator: it accumulates in register tiles (residency.ts). */
  readonly fused: boolean;
}

function matmulsOf(block: BlockGraph): BlockMatmul[] {
  const { readers } = blockResidency(block, DEFAULT_THREAD_CONFIG);
  return block.tensors.flatMap((tensor, id) => {
    const op = tensor.op;
    if (op?.op !== 'matmul') return [];
    const [m, n] = tensor.shape.slice(-2) as [number, number];
    const k = block.tensors[op.inputs[0]!]!.shape.at(-1)!;
    const fused = tensor.phase === 'pre' && fusedAccumulator(block, id, readers[id]!) !== undefined;
    return [{ id, m, n, k, batch: numel(tensor.shape.slice(0, -2)), fused }];
  });
}

/** Register tiles of `matmul` under a [rows, cols] config (shrunk to divisors, as residency.ts registerTile does). */
function tilesOf(matmul: BlockMatmul, rows: number, cols: number): number {
  return matmul.batch * (matmul.m / largestDivisorAtMost(matmul.m, rows)) * (matmul.n / largestDivisorAtMost(matmul.n, cols));
}

function hasSubgroups(target: TargetProfile): boolean {
  return target.features.includes('subgroups') && (target.subgroupMinSize ?? 0) >= SUBGROUP_BROADCAST_LANES;
}

function maxInvocationsOf(target: TargetProfile): number {
  return Math.min(target.maxInvocationsPerWorkgroup, target.maxWorkgroupSizeX);
}

function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** Widest of 4, 2, 1 dividing `cols`. */
function vectorWidthFor(cols: number): 1 | 2 | 4 {
  return cols % 4 === 0 ? 4 : cols % 2 === 0 ? 2 : 1;
}

/**
 * Invocations for `tiles` register tiles of `lanes` invocations each, within `max`: one tile
 * per invocation group; beyond the limit, the largest divisor of the tiles that fits (every
 * invocation then holds the same number of tiles, so every slot is uniform), else the limit
 * rounded down to whole subgroups.
 */
function invocationsFor(tiles: number, lanes: number, max: number): number {
  const cap = Math.max(1, Math.floor(max / lanes));
  if (tiles <= cap) return tiles * lanes;
  const divisor = largestDivisorAtMost(tiles, cap);
  const groups = divisor * 2 > cap ? divisor : Math.max(1, cap - (cap % SUBGROUP_BROADCAST_LANES));
  return groups * lanes;
}

/**
 * The rules' thread config for `block` on `target` (not yet validated; see chooseThreadConfig):
 *
 * 1. Matmul kernels (register tiles):
 *    a. rows: every row of the widest matmul (fused into a `sum` accumulator if any), up to
 *       MAX_REGISTER_ROWS (the largest divisor of M that fits);
 *    b. kLanes: on a target with subgroups of at least 8, where every matmul accumulates in
 *       registers, the tile spans all of M <= K_LANE_MAX_ROWS rows, and K per iteration gives
 *       each lane MIN_STEPS_PER_K_LANE steps: K_LANES lanes per tile, up to
 *       K_LANE_MAX_COLUMNS columns;
 *    c. columns otherwise: FEW_ROW_COLUMNS (32) for tiles of at most K_LANE_MAX_ROWS rows
 *       where that leaves MIN_TILES tiles; else 16, narrowed to 8 where that reaches
 *       MIN_TILES tiles or where the tile has at most K_LANE_MAX_ROWS rows (NARROW_COLUMNS);
 *    d. invocations: one per register tile (times kLanes), over the matmul with the most
 *       tiles, within the target's workgroup size;
 *    e. vectorWidth 4 (vec4 B reads and register rows) wherever the columns allow;
 *    f. streamOperands where it leaves the loop writing no workgroup memory (no barrier in
 *       the loop); not where the loop has barriers anyway (attention: staging then saves the
 *       re-reads);
 *    g. subgroupBroadcast on a target with subgroups of at least 8, with invocations in
 *       multiples of 8, no kLanes, and a matmul whose tile spans all its rows (read alike
 *       by every invocation) with its tiles spread evenly over the invocations.
 * 2. Kernels without matmuls: ROW_WISE_INVOCATIONS invocations.
 * 3. Either kind: subgroupRowSums on a target with subgroups of at least 8 where register
 *    row sums meet across ROW_SUM_MIN_LANES lanes or more.
 */
export function ruleThreadConfig(block: BlockGraph, target: TargetProfile): ThreadConfig {
  const subgroups = hasSubgroups(target);
  const maxInvocations = maxInvocationsOf(target);
  const matmuls = matmulsOf(block);
  let config: ThreadConfig;
  if (matmuls.length === 0) {
    // Rule 2.
    config = { invocations: Math.min(ROW_WISE_INVOCATIONS, maxInvocations), registerTile: [1, 1], vectorWidth: 1 };
  } else {
    // Rule 1a: the widest matmul decides; register-accumulated ones first.
    const primary = [...matmuls].sort((x, y) => Number(y.fused) - Number(x.fused) || y.m * y.n * y.batch - x.m * x.n * x.batch)[0]!;
    const rows = largestDivisorAtMost(primary.m, MAX_REGISTER_ROWS);
    // Rule 1b.
    const kLanes = subgroups && matmuls.every((mm) => mm.fused) && rows === primary.m && rows <= K_LANE_MAX_ROWS
      && matmuls.every((mm) => mm.k >= K_LANES * MIN_STEPS_PER_K_LANE) ? K_LANES : 1;
    // Rule 1c.
    const mostTiles = (cols: number) => Math.max(...matmuls.map((mm) => tilesOf(mm, rows, cols)));
    const fewRows = rows <= K_LANE_MAX_ROWS;
    const columnLimit = kLanes > 1 || (fewRows && mostTiles(FEW_ROW_COLUMNS) >= MIN_TILES)
      ? K_LANE_MAX_COLUMNS
      : REGISTER_COLUMNS.find((cols) => mostTiles(cols) >= MIN_TILES) ?? (fewRows ? NARROW_COLUMNS : REGISTER_COLUMNS[0]);
    const cols = largestDivisorAtMost(primary.n, columnLimit);
    // Rule 1d.
    const invocations = invocationsFor(mostTiles(cols), kLanes, maxInvocations);
    config = {
      invocations,
      registerTile: [rows, cols],
      vectorWidth: vectorWidthFor(cols),
      ...(kLanes > 1 ? { kLanes } : {}),
    };
    // Rule 1f.
    if (!loopWritesWorkgroup(block, { ...config, streamOperands: true })) config = { ...config, streamOperands: true };
    // Rule 1g.
    const groups = invocations / kLanes;
    const broadcastable = matmuls.some((mm) => mm.batch === 1 && largestDivisorAtMost(mm.m, rows) === mm.m
      && (mm.fused ? tilesOf(mm, rows, cols) >= groups : tilesOf(mm, rows, cols) === invocations));
    if (subgroups && kLanes === 1 && invocations % SUBGROUP_BROADCAST_LANES === 0 && broadcastable) config = { ...config, subgroupBroadcast: true };
  }
  // Rule 3.
  if (subgroups && registerRowSumLanes(block, config.invocations) >= ROW_SUM_MIN_LANES) config = { ...config, subgroupRowSums: true };
  return parseThreadConfig(config, 'thread rules');
}

/** The most lanes any register row sum of `block` is combined across (emit-row-sums.ts), 0 without any. */
function registerRowSumLanes(block: BlockGraph, invocations: number): number {
  const lanes = registerRowSumCandidates(block, invocations).map(({ rows, length }) => Math.min(floorPowerOfTwo(invocations / rows), floorPowerOfTwo(length)));
  return Math.max(0, ...lanes);
}

/** `config` with the subgroup features dropped (for targets, or blocks, where they do not validate). */
function withoutSubgroupFeatures(config: ThreadConfig): ThreadConfig {
  const { subgroupBroadcast: _b, kLanes: _k, subgroupRowSums: _r, ...rest } = config;
  return rest;
}

/** `target` without its subgroups: what the rules choose where subgroup features must not be used. */
function withoutSubgroups(target: TargetProfile): TargetProfile {
  const { subgroupMinSize: _s, ...rest } = target;
  return { ...rest, features: target.features.filter((f) => f !== 'subgroups') };
}

/** `config` with `invocations` (and features that need a multiple of 8 dropped when it is not one). */
function withInvocations(config: ThreadConfig, invocations: number): ThreadConfig {
  const kLanes = config.kLanes ?? 1;
  if (invocations % kLanes !== 0) return withInvocations(withoutSubgroupFeatures(config), invocations);
  const { subgroupBroadcast: _b, ...rest } = config;
  return { ...(invocations % SUBGROUP_BROADCAST_LANES === 0 ? config : rest), invocations };
}

/**
 * Thread configs for `block` on `target`, best first, not yet validated: the rules' config;
 * it with streamOperands (fewer staged tiles: less workgroup memory); both with scalar B reads
 * (vectorWidth 1: no vector alias bindings); the rules' config without subgroup features; each of these with half, a quarter, ... of the invocations
 * (less reduction scratch); then plain configs (64, 128, 32, 8, 1 invocations, streamed or
 * not). Each distinct config once.
 */
export function* threadConfigCandidates(block: BlockGraph, target: TargetProfile): Generator<ThreadConfig> {
  const seen = new Set<string>();
  const fresh = (config: ThreadConfig): ThreadConfig | undefined => {
    let parsed: ThreadConfig;
    try {
      parsed = parseThreadConfig(config, 'thread candidate');
    } catch {
      return undefined;
    }
    const key = formatThreadConfig(parsed);
    if (seen.has(key)) return undefined;
    seen.add(key);
    return parsed;
  };
  const rules = ruleThreadConfig(block, target);
  // Scalar B reads bind no vector aliases: the rules' tiles where those aliases would take the
  // kernel over the target's storage buffers (qknorm's attention part: 7 tensors + 2 aliases
  // over 8, which left it 1x1 tiles, 750 ms where 16x8 tiles fit).
  const scalar: ThreadConfig = { ...rules, vectorWidth: 1 };
  const bases = [rules, { ...rules, streamOperands: true as const }, scalar, { ...scalar, streamOperands: true as const }, ruleThreadConfig(block, withoutSubgroups(target))];
  for (const base of bases) {
    const config = fresh(base);
    if (config) yield config;
  }
  for (const base of bases) {
    for (let invocations = Math.floor(base.invocations / 2); invocations >= 1; invocations = Math.floor(invocations / 2)) {
      const config = fresh(withInvocations(base, invocations));
      if (config) yield config;
    }
  }
  for (const invocations of [ROW_WISE_INVOCATIONS, DEFAULT_THREAD_CONFIG.invocations, 32, 8, 1]) {
    for (const stream of [true, false]) {
      const config = fresh({ ...DEFAULT_THREAD_CONFIG, invocations, ...(stream ? { streamOperands: true as const } : {}) });
      if (config) yield config;
    }
  }
}

/**
 * Why `thread` does not fit `block` on `target` (empty when it does): the thread config's
 * own checks (parseThreadConfig), those of a kernel graph holding just this kernel
 * (targetProblems: workgroup memory, workgroup size, grid, subgroup features, bindings), and
 * the storage bindings codegen adds for vector reads of matmul B operands (vectorAliases,
 * which targetProblems does not count).
 */
export function threadConfigProblems(block: BlockGraph, thread: ThreadConfig, target: TargetProfile): string[] {
  let graph: KernelGraph;
  try {
    graph = singleKernelGraph(block, thread);
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
  const problems = targetProblems(graph, target).map((p) => p.message);
  const node = graph.nodes[0] as CustomKernelNode;
  const inputs = block.inputShapes.map((shape) => ({ shape, dtype: 'f32' as const }));
  const bindings = inputs.length + vectorAliases(node, inputs).length + block.outputs.length;
  if (bindings > target.maxStorageBuffersPerShaderStage) {
    problems.push(`binds ${bindings} storage buffers with codegen's vector aliases, over maxStorageBuffersPerShaderStage ${target.maxStorageBuffersPerShaderStage}`);
  }
  return problems;
}

/** A kernel graph of just this custom kernel: one graph input per iterator, one output per saver. */
function singleKernelGraph(block: BlockGraph, thread: ThreadConfig): KernelGraph {
  const inputs = block.inputShapes.map((shape, i) => ({ name: `in${i}`, shape, dtype: 'f32' as const }));
  const json: KernelGraphJSON = {
    schema: 1,
    inputs,
    nodes: [{ op: 'custom', inputs: inputs.map((_, i) => i), block: block.toJSON(), thread }],
    outputs: block.outputs.map((_, k) => ({ name: `out${k}`, tensor: inputs.length + k })),
  };
  return new KernelGraph(json);
}

/** The candidates (threadConfigCandidates) that pass threadConfigProblems, best first. */
export function* validThreadConfigs(block: BlockGraph, target: TargetProfile): Generator<ThreadConfig> {
  for (const config of threadConfigCandidates(block, target)) {
    if (threadConfigProblems(block, config, target).length === 0) yield config;
  }
}

/** chooseThreadConfig's answers by target and block graph hash (re-tiled copies of a block are new objects with the same hash). */
const chosen = new Map<string, ThreadConfig>();
const MAX_CHOSEN = 20_000;

/**
 * The best valid thread config for `block` on `target` (the first of validThreadConfigs;
 * memoized per block graph hash and target). Throws a UGraphError when none fits: then the block
 * graph itself does not fit the target (e.g. tiles staged in workgroup memory whatever the
 * thread config), and the search should drop it.
 */
export function chooseThreadConfig(block: BlockGraph, target: TargetProfile): ThreadConfig {
  const key = `${JSON.stringify(target)}|${block.hash}`;
  const known = chosen.get(key);
  if (known) return known;
  const first = validThreadConfigs(block, target).next();
  if (first.done) {
    const problems = threadConfigProblems(block, ruleThreadConfig(block, target), target);
    throw new UGraphError('thread rules', `no thread config fits this block graph on target ${target.name}: ${problems[0] ?? 'unknown'}`);
  }
  if (chosen.size >= MAX_CHOSEN) chosen.clear();
  chosen.set(key, first.value);
  return first.value;
}

/** `graph` with every custom kernel's thread config replaced by chooseThreadConfig's (validated against `target`). */
export function withChosenThreadConfigs(graph: KernelGraph, target: TargetProfile): KernelGraph {
  const json = graph.toJSON();
  const nodes = json.nodes.map((node, index) => {
    const kernel = graph.nodes[index]!;
    return node.op === 'custom' && kernel.op === 'custom' ? { ...node, thread: chooseThreadConfig(kernel.block, target) } : node;
  });
  const result = new KernelGraph({ ...json, nodes });
  const [problem] = targetProblems(result, target);
  if (problem) throw problem;
  return result;
}
