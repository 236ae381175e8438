/**
 * Codegen decisions for one custom kernel, made before any WGSL is written:
 * - where each block tensor lives (ugraph/residency.ts, shared with the memory rule): an
 *   inline expression (constants, single-use elementwise results), an iterator tile read
 *   straight from storage, a slot of workgroup memory with an affine layout, or registers
 *   (a matmul whose only reader is a `sum` accumulator: it accumulates into the
 *   invocation's register tile, Mirage's "register accumulator after a matmul");
 * - which loop-body tensors are loop-invariant (computed once, before the loop);
 * - the workgroup-memory layout: accumulators first, then the loop body and the epilogue
 *   overlapping (memory.ts's thread-aware rule, which this allocation never exceeds), then
 *   scratch for cooperative row reductions; the operands of a concat are placed inside the
 *   concat's slot, so a concat costs no copy; slots start at multiples of 4 elements (a
 *   vec4 of workgroup memory, code.ts), so that a matmul can read its A operand in vectors;
 *   (scratch: one f32 per invocation per register row sum, memory.ts's reductionScratch);
 * - which streamed tiles matmuls read in vectors (thread.vectorWidth).
 */
import { stridesOf } from '../../ir/shape.js';
import type { BlockGraph } from '../../ugraph/block-graph.js';
import type { BlockOpSpec } from '../../ugraph/block-ops.js';
import { reductionScratch, slotElements, workgroupMemory } from '../../ugraph/memory.js';
import { blockResidency, fusedAccumulator, registerTile } from '../../ugraph/residency.js';
import type { ThreadConfig } from '../../ugraph/thread-config.js';

export type Storage =
  | { readonly kind: 'inline' }
  /** An iterator tile read from its storage buffer at each use (no staging, no barrier). */
  | { readonly kind: 'direct' }
  /** A concat along its matmul readers' K dimension: never materialized, read part by part. */
  | { readonly kind: 'split' }
  | { readonly kind: 'workgroup'; readonly base: number; readonly strides: readonly number[] }
  /**
   * A matmul folded into the register tiles of the `sum` accumulator `accumulator`, or
   * that accumulator itself when savers read it straight from the registers.
   */
  | { readonly kind: 'registers'; readonly accumulator: number };

export interface KernelPlan {
  readonly block: BlockGraph;
  readonly thread: ThreadConfig;
  readonly storage: readonly Storage[];
  /** Loop-body tensors whose value is the same on every iteration. */
  readonly invariant: ReadonlySet<number>;
  /** Accumulators fed by a register-tiled matmul: accumulator id -> matmul id. */
  readonly fusedMatmul: ReadonlyMap<number, number>;
  /** Concat operands whose slot lies inside the concat's (written in place). */
  readonly placedInConcat: ReadonlySet<number>;
  /** Offset of the cooperative-reduction scratch (one f32 per invocation), if any. */
  readonly scratchBase: number | undefined;
  /** f32 elements of workgroup memory. */
  readonly workgroupElements: number;
  /** Readers of each tensor: op ids, and -1 for each saver. */
  readonly readers: readonly (readonly number[])[];
  /** Direct iterator tiles that a matmul reads as its B operand in vectors: tile id -> contiguous columns per read (matmulColumnChunk). */
  readonly vectorOperands: ReadonlyMap<number, number>;
}

export function planKernel(block: BlockGraph, thread: ThreadConfig): KernelPlan {
  const first = block.inputs.length;
  const opOf = (id: number): BlockOpSpec | undefined => block.tensors[id]!.op;
  const { residency, invariant, readers } = blockResidency(block, thread);
  const fusedMatmul = new Map<number, number>();
  const storage = residency.map((kind, id): Storage | undefined => {
    if (kind === 'registers' && opOf(id)?.op === 'accum') return { kind, accumulator: id };
    if (kind === 'registers') {
      const accumulator = fusedAccumulator(block, id, readers[id]!)!;
      fusedMatmul.set(accumulator, id);
      return { kind, accumulator };
    }
    return kind === 'workgroup' ? undefined : { kind };
  });

  // Workgroup slots: accumulators, then body and epilogue overlapping.
  const needsSlot = (id: number) => storage[id] === undefined;
  const accumulators = block.tensors.flatMap((t, id) => (t.op?.op === 'accum' && storage[id] === undefined ? [id] : []));
  const layouts = new Map<number, { base: number; strides: readonly number[] }>();
  let accEnd = 0;
  for (const id of accumulators) {
    layouts.set(id, { base: accEnd, strides: stridesOf(block.tensors[id]!.shape) });
    accEnd += slotElements(block.tensors[id]!.shape);
  }
  // Concats are laid out before their operands, outermost first, so operands can be placed inside.
  const placedInConcat = new Set<number>();
  const regionEnd = { pre: accEnd, post: accEnd };
  const allocate = (id: number) => {
    const phase = block.tensors[id]!.phase as 'pre' | 'post';
    layouts.set(id, { base: regionEnd[phase], strides: stridesOf(block.tensors[id]!.shape) });
    regionEnd[phase] += slotElements(block.tensors[id]!.shape);
  };
  for (let id = block.tensors.length - 1; id >= first; id--) {
    const op = opOf(id)!;
    if (op.op !== 'concat' || !needsSlot(id)) continue;
    if (!layouts.has(id)) allocate(id);
    const outer = layouts.get(id)!;
    let start = 0;
    for (const part of op.inputs) {
      const placeable = needsSlot(part) && !layouts.has(part) && opOf(part)?.op !== 'accum'
        && block.tensors[part]!.phase === block.tensors[id]!.phase;
      if (placeable) {
        layouts.set(part, { base: outer.base + start * outer.strides[op.dim]!, strides: outer.strides });
        placedInConcat.add(part);
      }
      start += block.tensors[part]!.shape[op.dim]!;
    }
  }
  block.tensors.forEach((_, id) => {
    if (needsSlot(id) && !layouts.has(id)) allocate(id);
  });
  block.tensors.forEach((_, id) => {
    const layout = layouts.get(id);
    if (layout && storage[id] === undefined) storage[id] = { kind: 'workgroup', ...layout };
  });
  // Accumulators fed by registers that an epilogue op reads own a slot (flushed after the loop).
  for (const id of accumulators) storage[id] ??= { kind: 'workgroup', ...layouts.get(id)! };

  const vectorOperands = new Map<number, number>();
  block.tensors.forEach((tensor, id) => {
    const op = opOf(id);
    if (op?.op !== 'matmul') return;
    const b = op.inputs[1]!;
    const [m, n] = tensor.shape.slice(-2) as [number, number];
    const width = matmulColumnChunk(thread, registerTile(thread, m, n).cols);
    for (const part of matmulParts(block, storage, b)) {
      if (width > 1 && storage[part]?.kind === 'direct' && (vectorOperands.get(part) ?? width) === width) vectorOperands.set(part, width);
    }
  });

  const used = Math.max(regionEnd.pre, regionEnd.post);
  const bound = workgroupMemory(block, thread).total / 4;
  const scratch = reductionScratch(block, thread.invocations);
  const scratchBase = scratch > 0 && used + scratch <= bound ? used : undefined;
  return {
    block,
    thread,
    storage: storage.map((s) => s ?? { kind: 'inline' }),
    invariant,
    fusedMatmul,
    placedInConcat,
    scratchBase,
    workgroupElements: Math.max(1, used + (scratchBase === undefined ? 0 : scratch)),
    readers,
    vectorOperands,
  };
}

/** What a matmul reads for operand `id`: the parts of a split concat, else `id` itself. */
function matmulParts(block: BlockGraph, storage: readonly (Storage | undefined)[], id: number): readonly number[] {
  const op = block.tensors[id]!.op;
  return storage[id]?.kind === 'split' && op?.op === 'concat' ? op.inputs : [id];
}

/** The vector width of a matmul's columns: the config's, or the widest of 4, 2 that divides the register tile's columns. */
export function matmulVectorWidth(thread: ThreadConfig, cols: number): number {
  for (const w of [4, 2]) if (w <= thread.vectorWidth && cols % w === 0) return w;
  return 1;
}

/**
 * Columns of B a register tile takes contiguously: two vec4 (8) when its columns allow,
 * so that an f16 B operand streamed from storage is read 8 halves per load (a vec4<u32>,
 * unpacked): on a SIMD-lane adapter (lavapipe) loads cost per lane, and halving their
 * count made f16 matmuls ~1.7x faster in a microbenchmark; else the vector width.
 */
export function matmulColumnChunk(thread: ThreadConfig, cols: number): number {
  const width = matmulVectorWidth(thread, cols);
  return width === 4 && cols % 8 === 0 ? 8 : width;
}

export { largestDivisorAtMost, registerTile } from '../../ugraph/residency.js';
