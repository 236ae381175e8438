/**
 * Where each block tensor of a custom kernel lives, given its thread config: the one
 * decision that both the workgroup-memory rule (memory.ts) and codegen's plan
 * (codegen/ugraph/plan.ts) need, kept here so that the rule never under-counts what
 * codegen allocates.
 * - 'inline': constants, and elementwise results whose readers visit each element once
 *   (recomputed where read): one reader, or several when the expression is cheap (at most
 *   MAX_RECOMPUTED_OPS operators, inline inputs included): recomputing x + α·x at two
 *   readers costs a few ALU ops, staging it costs a workgroup store, a barrier and a
 *   load per reader; also a plain `sum` accumulator of a one-iteration loop (it equals its
 *   input, which then goes straight from the loop body's expression to its one reader,
 *   typically a saver, instead of through workgroup memory and a barrier);
 * - 'registers': a matmul whose only reader is a `sum` accumulator (it accumulates in
 *   the invocations' register tiles), and such an accumulator itself when only savers
 *   read it, directly or through inline elementwise epilogue ops at its own shape (each
 *   invocation saves its register tile; the accumulator never reaches workgroup memory);
 * - 'direct': an iterator tile that no reader re-reads, loop-variant, in a one-iteration
 *   loop, or read only by ops computed once before the loop (streamed from storage); with
 *   the thread config's streamOperands, matmuls' re-reads count as reads from storage too;
 * - 'split': a concat along the contracted dimension of the matmuls that read it (and
 *   nothing else): a matmul over a K-concat is the sum of the matmuls over its parts, so
 *   the K loop runs over each part in turn and the concat is never materialized; its parts
 *   keep residencies of their own (a streamed W next to a streamed B in LoRA);
 * - 'workgroup': everything else, accumulators included.
 */
import { sameShape } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';
import type { AccumSpec } from './block-ops.js';
import type { ThreadConfig } from './thread-config.js';

export type Residency = 'inline' | 'registers' | 'direct' | 'split' | 'workgroup';

const ELEMENTWISE = new Set(['unary', 'binary', 'scale']);

/** Operators a multi-reader inline expression may hold (its inline inputs' included). */
const MAX_RECOMPUTED_OPS = 4;

export interface BlockResidency {
  readonly residency: readonly Residency[];
  /** Loop-body tensors whose value is the same on every iteration. */
  readonly invariant: ReadonlySet<number>;
  /** Readers of each tensor: op ids, and -1 for each saver. */
  readonly readers: readonly (readonly number[])[];
}

export function blockResidency(block: BlockGraph, thread: ThreadConfig): BlockResidency {
  const readers = readersOf(block);
  const invariant = new Set<number>();
  block.tensors.forEach((tensor, id) => {
    if (tensor.phase !== 'pre') return;
    const op = tensor.op;
    const isInvariant = op === undefined
      ? block.inputs[id]!.fmap === null
      : op.inputs.every((x) => invariant.has(x) || block.tensors[x]!.phase === 'const');
    if (isInvariant) invariant.add(id);
  });
  const split = new Set(block.tensors.flatMap((_, id) => (isSplitConcat(block, id, readers[id]!) ? [id] : [])));
  // Operators an inline tensor's expression holds (0 for other tensors), filled in id order.
  const inlineOps: number[] = [];
  const residency = block.tensors.map((tensor, id): Residency => {
    const op = tensor.op;
    inlineOps[id] = 0;
    if (tensor.phase === 'const') return 'inline';
    if (split.has(id)) return 'split';
    if (op?.op === 'matmul') return tensor.phase === 'pre' && fusedAccumulator(block, id, readers[id]!) !== undefined ? 'registers' : 'workgroup';
    if (op !== undefined && ELEMENTWISE.has(op.op)) {
      const ops = 1 + op.inputs.reduce((n, x) => n + inlineOps[x]!, 0);
      if (isInlineable(block, id, readers[id]!, ops <= MAX_RECOMPUTED_OPS)) {
        inlineOps[id] = ops;
        return 'inline';
      }
    }
    const readOnce = (r: number, of: number): boolean => (split.has(r) ? readers[r]!.every((rr) => readOnce(rr, r)) : readsOnce(block, thread, r, of));
    // An invariant tile is staged once, unless it is only a K-part of streamed matmul
    // operands (then it is read at the same rate as its streamed siblings) or the loop
    // runs once (then staging saves no reads).
    const streamed = !invariant.has(id) || block.forloopRange === 1 || readers[id]!.every((r) => split.has(r));
    if (op === undefined && streamed && readers[id]!.every((r) => readOnce(r, id))) return 'direct';
    return 'workgroup';
  });
  // An invariant tile that only ops computed once before the loop read (staged results, or
  // inline expressions only such ops read) is streamed too: staging would read it as often.
  const hoistedOnce = (r: number): boolean => r >= 0 && invariant.has(r)
    && (residency[r] === 'workgroup' || (residency[r] === 'inline' && readers[r]!.every(hoistedOnce)));
  block.inputs.forEach((_, id) => {
    if (residency[id] === 'workgroup' && invariant.has(id) && readers[id]!.every((r) => hoistedOnce(r) && readsOnce(block, thread, r, id))) residency[id] = 'direct';
  });
  // A one-iteration sum is its input: read where its one reader reads it (the input is
  // inline or a tile itself, or stays where it is). Not when that would read loop-body slots
  // after epilogue ops were staged: epilogue slots overlap the loop body's (plan.ts).
  const stagedEpilogue = block.tensors.some((t, id) => t.phase === 'post' && t.op !== undefined && t.op.op !== 'accum' && residency[id] === 'workgroup');
  const readsWorkgroup = (id: number): boolean => residency[id] === 'workgroup'
    || (residency[id] === 'inline' && (block.tensors[id]!.op?.inputs ?? []).some(readsWorkgroup));
  block.tensors.forEach((tensor, id) => {
    const op = tensor.op;
    if (op?.op === 'accum' && isIdentityAccumulator(block, op) && residency[op.inputs[0]!] !== 'registers'
      && isInlineable(block, id, readers[id]!, false) && !(stagedEpilogue && readsWorkgroup(op.inputs[0]!))) residency[id] = 'inline';
  });
  // Accumulators of register-tiled matmuls that only savers read stay in registers.
  const savedFromRegisters = (id: number, shape: readonly number[]): boolean => readers[id]!.every((r) => r < 0 || (
    residency[r] === 'inline' && sameShape(block.tensors[r]!.shape, shape) && savedFromRegisters(r, shape)));
  block.tensors.forEach((tensor, id) => {
    const op = tensor.op;
    if (op?.op === 'accum' && residency[op.inputs[0]!] === 'registers' && savedFromRegisters(id, tensor.shape)) residency[id] = 'registers';
  });
  return { residency, invariant, readers };
}

/** A plain `sum` over a one-iteration loop: its value is its input's. */
function isIdentityAccumulator(block: BlockGraph, op: AccumSpec): boolean {
  return block.forloopRange === 1 && op.kind === 'sum' && op.rescaleBy === undefined;
}

/** The `sum` accumulator that matmul `id` folds into (its only reader), if any. */
export function fusedAccumulator(block: BlockGraph, id: number, readers: readonly number[]): number | undefined {
  if (readers.length !== 1 || readers[0]! < 0) return undefined;
  const accumulator = block.tensors[readers[0]!]!.op;
  return accumulator?.op === 'accum' && accumulator.kind === 'sum' && accumulator.inputs[0] === id ? readers[0] : undefined;
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

/**
 * Whether concat `id` joins along the K dimension of every reader, all of them matmuls
 * (K is the last dim of an A operand, the second to last of a B operand), so that each
 * matmul can contract it part by part (codegen/ugraph/emit-ops.ts, `kSegments`).
 */
export function isSplitConcat(block: BlockGraph, id: number, readers: readonly number[]): boolean {
  const op = block.tensors[id]!.op;
  if (op?.op !== 'concat' || readers.length === 0) return false;
  const rank = block.tensors[id]!.shape.length;
  return readers.every((r) => {
    const reader = r < 0 ? undefined : block.tensors[r]!.op;
    if (reader?.op !== 'matmul') return false;
    const [a, b] = reader.inputs as [number, number];
    return a !== b && ((id === a && op.dim === rank - 1) || (id === b && op.dim === rank - 2));
  });
}

/**
 * Readers that each visit every element once, at the same shape (no broadcast re-reads):
 * one such reader, or several when the expression is cheap to recompute.
 */
function isInlineable(block: BlockGraph, id: number, readers: readonly number[], cheap: boolean): boolean {
  if (readers.length === 0 || (readers.length > 1 && !cheap)) return false;
  return readers.every((reader) => {
    if (reader < 0) return true;
    const op = block.tensors[reader]!.op!;
    if (op.op === 'matmul' || op.op === 'concat') return false;
    // Not a rescaled accumulator's companion read of its max's input (at another shape).
    if (op.op === 'accum' || op.op === 'reduce') return op.inputs[0] === id;
    return sameShape(block.tensors[reader]!.shape, block.tensors[id]!.shape);
  });
}

/** Whether reader `r` reads each element of tile `id` at most once per invocation (no reuse to stage for). */
function readsOnce(block: BlockGraph, thread: ThreadConfig, r: number, id: number): boolean {
  if (r < 0) return true;
  const op = block.tensors[r]!.op!;
  if (op.op === 'concat') return false;
  if (op.op !== 'matmul' || thread.streamOperands === true) return true;
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

export function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
