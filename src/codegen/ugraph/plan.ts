/**
 * Codegen decisions for one custom kernel, made before any WGSL is written:
 * - where each block tensor lives: an inline expression (constants, single-use
 *   elementwise results, iterator tiles read straight from storage), a slot of
 *   workgroup memory with an affine layout, or registers (a matmul whose only reader is a
 *   `sum` accumulator: it accumulates into the invocation's register tile, Mirage's
 *   "register accumulator after a matmul");
 * - which loop-body tensors are loop-invariant (computed once, before the loop);
 * - the workgroup-memory layout: accumulators first, then the loop body and the epilogue
 *   overlapping (memory.ts's rule, which this allocation never exceeds), then scratch for
 *   cooperative row reductions when it fits under the rule's bound; the operands of a
 *   concat are placed inside the concat's slot, so a concat costs no copy.
 */
import { numel, type Shape } from '../../ir/shape.js';
import type { BlockGraph } from '../../ugraph/block-graph.js';
import type { AccumSpec, BlockOpSpec } from '../../ugraph/block-ops.js';
import { workgroupMemory } from '../../ugraph/memory.js';
import type { ThreadConfig } from '../../ugraph/thread-config.js';
import { rowMajorStrides } from '../wgsl/common.js';

export type Storage =
  | { readonly kind: 'inline' }
  /** An iterator tile read from its storage buffer at each use (no staging, no barrier). */
  | { readonly kind: 'direct' }
  | { readonly kind: 'workgroup'; readonly base: number; readonly strides: readonly number[] }
  /** A matmul folded into the register tiles of the `sum` accumulator `accumulator`. */
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
}

const ELEMENTWISE = new Set(['unary', 'binary', 'scale']);

export function planKernel(block: BlockGraph, thread: ThreadConfig): KernelPlan {
  const first = block.inputs.length;
  const opOf = (id: number): BlockOpSpec | undefined => block.tensors[id]!.op;
  const readers = readersOf(block);
  const invariant = new Set<number>();
  block.tensors.forEach((tensor, id) => {
    if (tensor.phase !== 'pre') return;
    const op = opOf(id);
    const isInvariant = op === undefined
      ? block.inputs[id]!.fmap === null
      : op.inputs.every((x) => invariant.has(x) || block.tensors[x]!.phase === 'const');
    if (isInvariant) invariant.add(id);
  });

  const fusedMatmul = new Map<number, number>();
  const storage = new Array<Storage | undefined>(block.tensors.length);
  block.tensors.forEach((tensor, id) => {
    const op = opOf(id);
    if (tensor.phase === 'const') storage[id] = { kind: 'inline' };
    else if (op?.op === 'matmul' && tensor.phase === 'pre' && readers[id]!.length === 1) {
      const reader = readers[id]![0]!;
      const accumulator = reader >= 0 ? opOf(reader) : undefined;
      if (accumulator?.op === 'accum' && accumulator.kind === 'sum' && accumulator.inputs[0] === id) {
        storage[id] = { kind: 'registers', accumulator: reader };
        fusedMatmul.set(reader, id);
      }
    } else if (op !== undefined && ELEMENTWISE.has(op.op) && isInlineable(block, id, readers[id]!)) {
      storage[id] = { kind: 'inline' };
    } else if (op === undefined && !invariant.has(id) && readers[id]!.every((r) => readsOnce(block, thread, r, id))) {
      storage[id] = { kind: 'direct' };
    }
  });

  // Workgroup slots: accumulators, then body and epilogue overlapping.
  const needsSlot = (id: number) => storage[id] === undefined;
  const accumulators = block.tensors.flatMap((t, id) => (t.op?.op === 'accum' ? [id] : []));
  const layouts = new Map<number, { base: number; strides: readonly number[] }>();
  let accEnd = 0;
  for (const id of accumulators) {
    layouts.set(id, { base: accEnd, strides: rowMajorStrides(block.tensors[id]!.shape) });
    accEnd += numel(block.tensors[id]!.shape);
  }
  // Concats are laid out before their operands, outermost first, so operands can be placed inside.
  const placedInConcat = new Set<number>();
  const regionEnd = { pre: accEnd, post: accEnd };
  const allocate = (id: number) => {
    const phase = block.tensors[id]!.phase as 'pre' | 'post';
    layouts.set(id, { base: regionEnd[phase], strides: rowMajorStrides(block.tensors[id]!.shape) });
    regionEnd[phase] += numel(block.tensors[id]!.shape);
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
  // Accumulators fed by registers still own their slot (flushed after the loop).
  for (const id of accumulators) storage[id] ??= { kind: 'workgroup', ...layouts.get(id)! };

  const used = Math.max(regionEnd.pre, regionEnd.post);
  const bound = workgroupMemory(block).total / 4;
  const scratchBase = used + thread.invocations <= bound ? used : undefined;
  return {
    block,
    thread,
    storage: storage.map((s) => s ?? { kind: 'inline' }),
    invariant,
    fusedMatmul,
    placedInConcat,
    scratchBase,
    workgroupElements: Math.max(1, used + (scratchBase === undefined ? 0 : thread.invocations)),
    readers,
  };
}

function readersOf(block: BlockGraph): number[][] {
  const readers: number[][] = block.tensors.map(() => []);
  const first = block.inputs.length;
  block.ops.forEach((op, i) => {
    const id = first + i;
    for (const x of op.inputs) readers[x]!.push(id);
    if (op.op === 'accum' && op.rescaleBy !== undefined) {
      readers[op.rescaleBy]!.push(id);
      const max = block.tensors[op.rescaleBy]!.op as AccumSpec;
      readers[max.inputs[0]!]!.push(id);
    }
  });
  block.outputs.forEach((saver) => readers[saver.tensor]!.push(-1));
  return readers;
}

/** A single reader that visits each element once, at the same shape (no broadcast re-reads). */
function isInlineable(block: BlockGraph, id: number, readers: readonly number[]): boolean {
  if (readers.length !== 1) return false;
  const reader = readers[0]!;
  if (reader < 0) return true;
  const op = block.tensors[reader]!.op!;
  if (op.op === 'matmul' || op.op === 'concat') return false;
  if (op.op === 'accum') return true;
  if (op.op === 'reduce') return true;
  return sameShape(block.tensors[reader]!.shape, block.tensors[id]!.shape);
}

/** Whether reader `r` reads each element of tile `id` at most once per invocation (no reuse to stage for). */
function readsOnce(block: BlockGraph, thread: ThreadConfig, r: number, id: number): boolean {
  if (r < 0) return true;
  const op = block.tensors[r]!.op!;
  if (op.op === 'concat') return false;
  if (op.op !== 'matmul') return true;
  const [a, b] = op.inputs as [number, number];
  const [m, n] = block.tensors[r]!.shape.slice(-2) as [number, number];
  const { rows, cols } = registerTile(thread, m, n);
  // B is read by every row group, A by every column group; one group means no reuse.
  return (id === b && id !== a && rows === m) || (id === a && id !== b && cols === n);
}

/** The register tile a matmul with an m x n output uses: the config's, shrunk to divisors of m and n. */
export function registerTile(thread: ThreadConfig, m: number, n: number): { rows: number; cols: number } {
  return { rows: largestDivisorAtMost(m, thread.registerTile[0]), cols: largestDivisorAtMost(n, thread.registerTile[1]) };
}

function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
