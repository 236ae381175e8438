/**
 * The analytical cost of a μGraph (docs/search.md, "Thread-level rules and the cost
 * estimate"): what the search ranks verified candidates by before any is profiled. Per
 * kernel launch it counts
 *   - bytes read from and written to storage: for a custom kernel, every input iterator's
 *     tile bytes x workgroups x the iterations that read it (so a tile that several
 *     workgroups read, replicated along a grid axis its imap leaves unmapped, counts once
 *     per workgroup), and every saver's output; for a pre-defined kernel, what its WGSL
 *     schedule (codegen/wgsl/*.ts) reads, with the tiled matmul's re-reads of A per column
 *     tile and of B per row tile;
 *   - FLOPs: 2·m·n·k per matmul, one per element of every other operator (the loop body's
 *     and the accumulators' once per iteration, loop-invariant and epilogue ones once; a sum
 *     of a register-tiled matmul none beyond the matmul's), per workgroup;
 *   - workgroup barriers: per workgroup, as codegen places them (custom-kernel.ts: after
 *     staging, after each staged operator, at the end of an iteration that wrote workgroup
 *     memory, after running-max commits, a tree level per reduction lane level);
 *   - launches (dispatches: a concat launches one per operand, reshapes and folded constants
 *     none, an output that aliases an input or another output one copy);
 *   - loads: what a matmul's invocations load per K step (codegen register-tiles every
 *     matmul: an r x c tile loads r A elements and c / (16 bytes / element size) vector
 *     loads of B; the pre-defined schedules as their WGSL does), so that a narrow tile costs
 *     more than a wide one doing the same FLOPs;
 * and turns them into estimated microseconds on a nominal device (the constants below,
 * named assumptions, not measurements of any one adapter):
 *   kernel µs = LAUNCH_US + (bytes / STORAGE_BYTES_PER_US + issue / FLOPS_PER_US) / utilization
 *             + waves · barriers per workgroup · BARRIER_US
 *   issue     = flops + LOAD_FLOPS · loads
 * where utilization = min(1, workgroups / NOMINAL_CORES) · invocations / lanes charges
 * kernels too small to fill the device (without it one workgroup doing everything would read
 * the least and look best), lanes = invocations rounded up to SIMD_WIDTH (a workgroup of 4
 * invocations still occupies a SIMD register of 8 lanes), and waves = the rounds of
 * NOMINAL_LANES / invocations workgroups the kernel's barriers are paid in. Memory and
 * arithmetic add rather than overlap: the adapters that run WebGPU's defaults in software
 * (lavapipe, SwiftShader) are CPUs whose threads wait on their own loads. The score is the
 * sum over launches. Storage bytes use the
 * tensors' dtypes (the f16 variant runs where the adapter has shader-f16); workgroup-memory
 * traffic, caches and occupancy limits from register or workgroup-memory use are not
 * modelled.
 */
import { foldableConstants } from '../codegen/ugraph/compile-graph.js';
import { dtypeBytes } from '../ir/dtype.js';
import { numel } from '../ir/shape.js';
import type { BlockGraph } from '../ugraph/block-graph.js';
import { workgroupCount } from '../ugraph/grid.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import type { CustomKernelNode, KernelNode } from '../ugraph/kernel-ops.js';
import { reductionScratch, registerRowSumCandidates } from '../ugraph/memory.js';
import { blockResidency, registerTile } from '../ugraph/residency.js';
import type { TargetProfile } from '../ugraph/target.js';
import { SUBGROUP_BROADCAST_LANES, type ThreadConfig } from '../ugraph/thread-config.js';

/** Storage bandwidth of the nominal device: 100 GB/s (an integrated or entry discrete GPU). */
export const STORAGE_BYTES_PER_US = 100_000;
/** Arithmetic throughput of the nominal device: 1 TFLOP/s of f32 (FMA = 2 FLOPs). */
export const FLOPS_PER_US = 1_000_000;
/**
 * Fixed cost of one dispatch: 10 µs. On lavapipe a pass of one to eight trivial dispatches
 * reads 66-131 µs of GPU time (bench/NOTES.md, "Fixed costs of a call"): ~10 µs a dispatch
 * beyond the pass.
 */
export const LAUNCH_US = 10;
/** Invocations the nominal device runs at once: the barriers of a kernel's workgroups are paid in rounds of this many invocations. */
export const NOMINAL_LANES = 256;
/**
 * Workgroups the nominal device runs side by side (its cores or compute units; each runs
 * one workgroup's invocations together): a kernel of fewer workgroups leaves cores idle
 * however many invocations each has. On lavapipe a workgroup is one thread's work, so one
 * workgroup of 256 invocations runs on one core; 16 (sizing.ts MIN_WORKGROUPS) cover the
 * threads of the hosts measured with room to balance. Replaces NOMINAL_LANES as the measure of
 * a kernel too small for the device, which rated one workgroup of 256 invocations as full.
 */
export const NOMINAL_CORES = 16;
/**
 * One workgroup barrier: 0.25 µs. Cheap on a GPU (tens of ns); on lavapipe a barrier turns
 * the shader into a coroutine whose live values go through memory (bench/NOTES.md,
 * "Barriers"), so it is charged more than a GPU would.
 */
export const BARRIER_US = 0.25;
/**
 * Issue cost of one load into a matmul's registers, in FLOPs (12 FMAs): on lavapipe a load
 * per lane is a gather, and the register tile's loads per FMA decide its speed. rmsnorm
 * b1 (rows 2, f16, 256 columns per workgroup, WebGPU's defaults, interleaved, kernel time):
 * 2 x 8 tiles (0.19 loads per FMA) took 1.3x and 2 x 4 (0.38) 2.1x the time of 2 x 16
 * (0.125); 12 FMAs a load predicts 1.3x and 2.2x.
 */
export const LOAD_FLOPS = 24;
/** Lanes a SIMD register holds (lavapipe on AVX2: 8 f32): a workgroup's invocations run in whole registers. */
export const SIMD_WIDTH = 8;
/** Bytes of one vector load (vec4<f32>, or 8 packed halves). */
const VECTOR_LOAD_BYTES = 16;

/** Elements per workgroup of the pre-defined elementwise, transpose and concat kernels (codegen/wgsl). */
const PREDEFINED_WORKGROUP = 256;
/** codegen/wgsl/matmul.ts: the tiled schedule's output tile side and K step; the skinny one's M limit, columns and K chunk per workgroup. */
const MATMUL_TILE = 64;
const MATMUL_TK = 16;
const SKINNY_MAX_M = 8;
const SKINNY_COLUMNS = 256;
const SKINNY_INVOCATIONS = 64;
const SKINNY_KCHUNK = 64;
/** codegen/wgsl/reduce.ts: rows at most this long are reduced by one invocation each. */
const REDUCE_SERIAL_MAX = 32;

/** One launch of a kernel (a node may launch several: a concat one per operand). */
export interface KernelCost {
  /** The kernel-graph node, or -1 for an output copy. */
  readonly node: number;
  /** 'custom', a pre-defined kernel's op, or 'copy'. */
  readonly kind: string;
  readonly launches: number;
  readonly workgroups: number;
  /** Invocations per workgroup. */
  readonly invocations: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly flops: number;
  /** Loads matmuls issue into registers (see the file comment). */
  readonly loads: number;
  /** Workgroup barriers per loop iteration of each workgroup (custom kernels; 0 otherwise). */
  readonly barriersPerIteration: number;
  /** Workgroup barriers each workgroup executes in all. */
  readonly barriersPerWorkgroup: number;
  /** Estimated microseconds on the nominal device. */
  readonly micros: number;
}

export interface CostEstimate {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly flops: number;
  readonly loads: number;
  readonly launches: number;
  /** Workgroup barriers executed, over all workgroups of all kernels. */
  readonly barriers: number;
  /** Estimated microseconds on the nominal device: the sum of the kernels'. Lower is better. */
  readonly score: number;
  readonly kernels: readonly KernelCost[];
  /** One line: the parts and the score. */
  readonly explain: string;
}

/**
 * The cost of `graph` (see the file comment). Deterministic: a pure function of the graph
 * (thread configs included). `target` is accepted for the device-dependent terms; the
 * nominal device's constants do not depend on it yet.
 */
export function estimateCost(graph: KernelGraph, target?: TargetProfile): CostEstimate {
  void target;
  const kernels: KernelCost[] = [];
  // Constants folded into WGSL literals need no launch (codegen's own rule).
  const literals = foldableConstants(graph, new Set(graph.outputs.map((o) => o.tensor)));
  graph.nodes.forEach((node, index) => kernels.push(...nodeCosts(graph, node, index, literals)));
  kernels.push(...outputCopies(graph));
  const sum = (f: (k: KernelCost) => number) => kernels.reduce((total, k) => total + f(k), 0);
  const estimate = {
    bytesRead: sum((k) => k.bytesRead),
    bytesWritten: sum((k) => k.bytesWritten),
    flops: sum((k) => k.flops),
    loads: sum((k) => k.loads),
    launches: sum((k) => k.launches),
    barriers: sum((k) => k.barriersPerWorkgroup * k.workgroups),
    score: sum((k) => k.micros),
  };
  const explain = `${estimate.score.toFixed(1)} µs: ${estimate.launches} launches, ${mb(estimate.bytesRead)} MB read, ${mb(estimate.bytesWritten)} MB written, `
    + `${(estimate.flops / 1e9).toFixed(3)} GFLOP, ${(estimate.loads / 1e6).toFixed(2)} M loads, ${estimate.barriers} barriers`;
  return Object.freeze({ ...estimate, kernels: Object.freeze(kernels), explain });
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

type CostParts = Omit<KernelCost, 'micros' | 'launches' | 'barriersPerIteration' | 'loads'> & { launches?: number; barriersPerIteration?: number; loads?: number };

function kernelCost(parts: CostParts): KernelCost {
  const launches = parts.launches ?? 1;
  const loads = parts.loads ?? 0;
  const lanes = Math.ceil(parts.invocations / SIMD_WIDTH) * SIMD_WIDTH;
  const utilization = Math.min(1, parts.workgroups / NOMINAL_CORES) * (parts.invocations / lanes);
  const perWave = Math.max(1, Math.floor(NOMINAL_LANES / parts.invocations));
  const waves = Math.ceil(parts.workgroups / perWave);
  const issue = parts.flops + LOAD_FLOPS * loads;
  const throughput = ((parts.bytesRead + parts.bytesWritten) / STORAGE_BYTES_PER_US + issue / FLOPS_PER_US) / utilization;
  const micros = launches * LAUNCH_US + throughput + waves * parts.barriersPerWorkgroup * BARRIER_US;
  return Object.freeze({ ...parts, launches, loads, barriersPerIteration: parts.barriersPerIteration ?? 0, micros });
}

/** Output copies compile-graph.ts adds: an output that is (a reshape of) an input, or shares storage with an earlier output. */
function outputCopies(graph: KernelGraph): KernelCost[] {
  const storageOf = (id: number): number => {
    let current = id;
    for (let node = graph.tensors[current]!.node; node !== undefined && graph.nodes[node]!.op === 'reshape'; node = graph.tensors[current]!.node) {
      current = graph.nodes[node]!.inputs[0]!;
    }
    return current;
  };
  const claimed = new Set<number>();
  return graph.outputs.flatMap((o) => {
    const root = storageOf(o.tensor);
    const copy = graph.tensors[root]!.node === undefined || claimed.has(root);
    claimed.add(root);
    if (!copy) return [];
    const bytes = numel(graph.tensors[o.tensor]!.shape) * dtypeBytes(graph.tensors[o.tensor]!.dtype);
    const elements = numel(graph.tensors[o.tensor]!.shape);
    return [kernelCost({
      node: -1, kind: 'copy', workgroups: Math.ceil(elements / PREDEFINED_WORKGROUP), invocations: PREDEFINED_WORKGROUP,
      bytesRead: bytes, bytesWritten: bytes, flops: 0, barriersPerWorkgroup: 0,
    })];
  });
}

function nodeCosts(graph: KernelGraph, node: KernelNode, index: number, literals: ReadonlySet<number>): KernelCost[] {
  const out = graph.tensors[graph.nodeOutputs[index]![0]!]!;
  const bytesOf = (id: number) => numel(graph.tensors[id]!.shape) * dtypeBytes(graph.tensors[id]!.dtype);
  const outElements = numel(out.shape);
  const outBytes = outElements * dtypeBytes(out.dtype);
  const flat = (parts: { bytesRead: number; bytesWritten: number; flops: number; elements: number }) => kernelCost({
    node: index, kind: node.op, workgroups: Math.ceil(parts.elements / PREDEFINED_WORKGROUP), invocations: PREDEFINED_WORKGROUP,
    bytesRead: parts.bytesRead, bytesWritten: parts.bytesWritten, flops: parts.flops, barriersPerWorkgroup: 0,
  });
  switch (node.op) {
    case 'reshape':
      return [];
    case 'constant':
      return literals.has(graph.nodeOutputs[index]![0]!) ? [] : [flat({ bytesRead: 0, bytesWritten: outBytes, flops: 0, elements: 1 })];
    case 'unary':
    case 'binary':
    case 'scale': {
      const read = node.inputs.filter((id) => !literals.has(id)).reduce((total, id) => total + bytesOf(id), 0);
      return [flat({ bytesRead: read, bytesWritten: outBytes, flops: outElements, elements: outElements })];
    }
    case 'transpose':
      return [flat({ bytesRead: bytesOf(node.inputs[0]!), bytesWritten: outBytes, flops: 0, elements: outElements })];
    case 'concat':
      return node.inputs.map((part) => flat({ bytesRead: bytesOf(part), bytesWritten: bytesOf(part) / dtypeBytes(graph.tensors[part]!.dtype) * dtypeBytes(out.dtype), flops: 0, elements: numel(graph.tensors[part]!.shape) }));
    case 'reduce': {
      const inShape = graph.tensors[node.inputs[0]!]!.shape;
      const length = inShape[node.dim]!;
      const rows = numel(inShape) / length;
      const perRow = length > REDUCE_SERIAL_MAX;
      const invocations = perRow ? Math.min(256, nextPowerOfTwo(length)) : PREDEFINED_WORKGROUP;
      return [kernelCost({
        node: index, kind: 'reduce', workgroups: perRow ? rows : Math.ceil(rows / PREDEFINED_WORKGROUP), invocations,
        bytesRead: bytesOf(node.inputs[0]!), bytesWritten: outBytes, flops: numel(inShape),
        barriersPerWorkgroup: perRow ? 1 + Math.log2(invocations) : 0,
      })];
    }
    case 'matmul':
      return [matmulCost(graph, node.inputs as [number, number], index)];
    case 'custom':
      return [customKernelCost(graph, node, index)];
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The pre-defined matmul (codegen/wgsl/matmul.ts): tiled 64 x 64 (A re-read per column tile, B per row tile) or skinny for M <= 8. */
function matmulCost(graph: KernelGraph, [a, b]: [number, number], index: number): KernelCost {
  const aInfo = graph.tensors[a]!;
  const bInfo = graph.tensors[b]!;
  const [m, k] = aInfo.shape.slice(-2) as [number, number];
  const n = bInfo.shape.at(-1)!;
  const batches = Math.max(numel(aInfo.shape.slice(0, -2)), numel(bInfo.shape.slice(0, -2)));
  const aBytes = batches * m * k * dtypeBytes(aInfo.dtype);
  const bBytes = batches * k * n * dtypeBytes(bInfo.dtype);
  const written = batches * m * n * dtypeBytes(aInfo.dtype);
  const flops = 2 * batches * m * n * k;
  if (m <= SKINNY_MAX_M) {
    const columnBlocks = Math.ceil(n / SKINNY_COLUMNS);
    // Per K step an invocation loads its SKINNY_COLUMNS / SKINNY_INVOCATIONS columns of B one by one, and M elements of A.
    const perStep = SKINNY_COLUMNS / SKINNY_INVOCATIONS + m;
    return kernelCost({
      node: index, kind: 'matmul', workgroups: columnBlocks * batches, invocations: SKINNY_INVOCATIONS,
      bytesRead: aBytes * columnBlocks + bBytes, bytesWritten: written, flops, barriersPerWorkgroup: 2 * Math.ceil(k / SKINNY_KCHUNK),
      loads: batches * columnBlocks * SKINNY_INVOCATIONS * k * perStep,
    });
  }
  const [tilesM, tilesN] = [Math.ceil(m / MATMUL_TILE), Math.ceil(n / MATMUL_TILE)];
  // Per K step each of the 256 invocations reads its 4 x 4 register tile's 4 A and 4 B elements from workgroup memory, and stages half an element of each tile.
  return kernelCost({
    node: index, kind: 'matmul', workgroups: tilesM * tilesN * batches, invocations: 256,
    bytesRead: aBytes * tilesN + bBytes * tilesM, bytesWritten: written, flops, barriersPerWorkgroup: 2 * Math.ceil(k / MATMUL_TK),
    loads: batches * tilesM * tilesN * 256 * k * (8 + 0.5),
  });
}

function customKernelCost(graph: KernelGraph, node: CustomKernelNode, index: number): KernelCost {
  const { block, thread } = node;
  const workgroups = workgroupCount(block.grid);
  const range = block.forloopRange;
  const { residency, invariant, readers } = blockResidency(block, thread);
  // A tile read once per workgroup: loop-invariant and staged (hoisted), or read only by work done once.
  const readOnce = (id: number) => invariant.has(id) && (residency[id] === 'workgroup' || readers[id]!.every((r) => r >= 0 && invariant.has(r)));
  let bytesRead = 0;
  block.inputs.forEach((_, k) => {
    const tile = numel(block.tensors[k]!.shape) * dtypeBytes(graph.tensors[node.inputs[k]!]!.dtype);
    bytesRead += tile * (readOnce(k) ? 1 : range);
  });
  const bytesWritten = block.outputs.reduce((total, saver, k) => total + numel(block.outputShapes[k]!) * dtypeBytes(saver.dtype), 0);
  let flops = 0;
  block.tensors.forEach((tensor, id) => {
    const op = tensor.op;
    if (op === undefined || tensor.phase === 'const') return;
    // Accumulators update every iteration; a sum fed by a register-tiled matmul adds in the matmul's FMAs.
    if (op.op === 'accum' && op.kind === 'sum' && residency[op.inputs[0]!] === 'registers') return;
    const times = op.op === 'accum' || (tensor.phase === 'pre' && !invariant.has(id)) ? range : 1;
    flops += times * opFlops(block, id);
  });
  const barriers = blockBarriers(block, thread);
  return kernelCost({
    node: index, kind: 'custom', workgroups, invocations: thread.invocations,
    bytesRead: bytesRead * workgroups, bytesWritten, flops: flops * workgroups, loads: registerLoads(graph, node, invariant) * workgroups,
    barriersPerIteration: barriers.perIteration, barriersPerWorkgroup: barriers.perIteration * range + barriers.outsideLoop,
  });
}

/**
 * Loads one workgroup's matmuls issue (codegen register-tiles every matmul, emit-matmul.ts): per K step, each r x c register tile
 * (residency.ts registerTile) loads r elements of A and c elements of B in vector loads of
 * VECTOR_LOAD_BYTES (B's element size as stored when it is an input tile, else f32); every
 * iteration in the loop body, once if loop-invariant or after the loop.
 */
function registerLoads(graph: KernelGraph, node: CustomKernelNode, invariant: ReadonlySet<number>): number {
  const { block, thread } = node;
  let loads = 0;
  block.tensors.forEach((tensor, id) => {
    const op = tensor.op;
    if (op?.op !== 'matmul') return;
    const [m, n] = tensor.shape.slice(-2) as [number, number];
    const batch = numel(tensor.shape.slice(0, -2));
    const [a, b] = op.inputs as [number, number];
    const k = block.tensors[a]!.shape.at(-1)!;
    const { rows, cols } = registerTile(thread, m, n);
    const bBytes = b < block.inputs.length ? dtypeBytes(graph.tensors[node.inputs[b]!]!.dtype) : 4;
    const perStep = rows + Math.ceil(cols / Math.max(1, VECTOR_LOAD_BYTES / bBytes));
    const tiles = batch * (m / rows) * (n / cols);
    loads += tiles * k * perStep * (tensor.phase === 'pre' && !invariant.has(id) ? block.forloopRange : 1);
  });
  return loads;
}

/** FLOPs of block op `id` on one workgroup's tiles, once. */
function opFlops(block: BlockGraph, id: number): number {
  const tensor = block.tensors[id]!;
  const op = tensor.op!;
  switch (op.op) {
    case 'matmul': return 2 * numel(tensor.shape) * block.tensors[op.inputs[0]!]!.shape.at(-1)!;
    case 'unary':
    case 'binary':
    case 'scale': return numel(tensor.shape);
    case 'reduce':
    case 'accum': return numel(block.tensors[op.inputs[0]!]!.shape) * (op.op === 'accum' && op.rescaleBy !== undefined ? 2 : 1);
    case 'concat':
    case 'constant': return 0;
  }
}

/**
 * Whether a loop iteration of the kernel writes workgroup memory (codegen's
 * custom-kernel.ts loopWritesWorkgroup, from the residency both share): a staged
 * loop-variant tile or body result, an accumulator held there (register row sums and
 * register-tiled matmul accumulators are not), or a running max. Such a loop has a barrier
 * per iteration; one without runs free of them (what streamOperands buys on lavapipe).
 */
export function loopWritesWorkgroup(block: BlockGraph, thread: ThreadConfig): boolean {
  const { residency, invariant } = blockResidency(block, thread);
  const rowSums = new Set(registerRowSumCandidates(block, thread.invocations).map((sum) => sum.id));
  const inWorkgroup = (id: number) => residency[id] === 'workgroup';
  return block.tensors.some((tensor, id) => {
    const op = tensor.op;
    if (tensor.phase === 'pre') return inWorkgroup(id) && !invariant.has(id) && op?.op !== 'accum';
    if (op?.op !== 'accum' || !inWorkgroup(id) || rowSums.has(id)) return false;
    // A sum fed by a register-tiled matmul accumulates in registers and is flushed after the loop.
    return !(op.kind === 'sum' && residency[op.inputs[0]!] === 'registers');
  });
}

/** Barriers of one workgroup of the kernel: per loop iteration, and once (before and after the loop). */
export function blockBarriers(block: BlockGraph, thread: ThreadConfig): { perIteration: number; outsideLoop: number } {
  const { residency, invariant } = blockResidency(block, thread);
  const staged = (id: number) => residency[id] === 'workgroup';
  const first = block.inputs.length;
  const scratch = reductionScratch(block, thread.invocations) > 0;
  const treeBarriers = (rows: number, length: number) => {
    const lanes = Math.min(floorPowerOfTwo(Math.floor(thread.invocations / rows)), floorPowerOfTwo(length));
    return scratch && lanes >= 2 ? 1 + Math.log2(lanes) : 0;
  };
  const opBarriers = (id: number) => {
    const op = block.tensors[id]!.op!;
    if (op.op !== 'reduce') return 1;
    const inShape = block.tensors[op.inputs[0]!]!.shape;
    return 1 + treeBarriers(numel(block.tensors[id]!.shape), inShape[op.dim]!);
  };
  const rowSums = registerRowSumCandidates(block, thread.invocations);
  const rowSumIds = new Set(rowSums.map((s) => s.id));
  let perIteration = 0;
  let outsideLoop = 0;
  if (block.inputs.some((_, k) => staged(k) && !invariant.has(k))) perIteration += 1;
  if (block.inputs.some((_, k) => staged(k) && invariant.has(k))) outsideLoop += 1;
  block.ops.forEach((op, i) => {
    const id = first + i;
    const tensor = block.tensors[id]!;
    if (op.op === 'accum') {
      // Row sums over the loop that are not register row sums reduce their rows each iteration.
      if (op.kind === 'sumLastDim' && !rowSumIds.has(id) && staged(id)) {
        const x = block.tensors[op.inputs[0]!]!.shape;
        perIteration += treeBarriers(numel(tensor.shape), x.at(-1)!);
      }
      return;
    }
    if (!staged(id)) return;
    if (tensor.phase === 'pre') {
      if (invariant.has(id)) outsideLoop += opBarriers(id);
      else perIteration += opBarriers(id);
    } else if (tensor.phase === 'post') {
      outsideLoop += opBarriers(id);
    }
  });
  if (loopWritesWorkgroup(block, thread)) perIteration += 1;
  if (block.ops.some((op) => op.op === 'accum' && op.kind === 'maxRescale')) perIteration += 1;
  // Register accumulators flushed to workgroup memory for the epilogue.
  if (block.tensors.some((t, id) => t.op?.op === 'accum' && t.op.kind === 'sum' && residency[t.op.inputs[0]!] === 'registers' && staged(id))) outsideLoop += 1;
  // Register row sums: a tree over each row's lanes (or subgroup shuffles and at most one meeting in scratch), then the slot write.
  const groups = new Set(rowSums.map((s) => `${s.rows}/${s.length}`));
  for (const key of groups) {
    const [rows, length] = key.split('/').map(Number) as [number, number];
    const lanes = scratch ? Math.min(floorPowerOfTwo(Math.floor(thread.invocations / rows)), floorPowerOfTwo(length)) : 1;
    if (lanes === 1) outsideLoop += 1;
    else if (thread.subgroupRowSums) outsideLoop += lanes > SUBGROUP_BROADCAST_LANES ? 2 : 1;
    else outsideLoop += 2 + Math.log2(lanes);
  }
  return { perIteration, outsideLoop };
}

function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
