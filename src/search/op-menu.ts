/**
 * The operators the generator may place in a block graph, drawn from the program it
 * searches for: only the unary and binary functions, reductions and constants the
 * (expanded) program itself uses. An operator the program never applies cannot be part
 * of an expression equal to it except through identities the pruning check would have
 * to discover, so leaving it out loses nothing the verifier could accept in practice and
 * keeps the branching factor small. Constants: the program's own (eps, 1/n of a mean,
 * scale factors).
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import { type BinaryOp, BINARY_OPS, type UnaryOp, UNARY_OPS } from '../frontend/tensor.js';
import type { ReduceFn } from '../ugraph/common-ops.js';
import type { ProgramLabels } from './labels.js';

export interface OpMenu {
  readonly unary: readonly UnaryOp[];
  readonly binary: readonly BinaryOp[];
  /** Values of constant operands of binary ops. */
  readonly constants: readonly number[];
  /** Factors of scale ops. */
  readonly scales: readonly number[];
  readonly reduce: readonly ReduceFn[];
  readonly matmul: boolean;
  /** Concatenation along a matmul's contracted dim (the LoRA form (X‖XA)·(W‖B)): only where the program has two matmuls. */
  readonly concat: boolean;
  /** Labels reduced somewhere in the program: the dims a block reduction may fold besides the last. */
  readonly reducedLabels: ReadonlySet<number>;
  /** The label of dims made by concatenating dims labelled a and b. */
  joinedLabel(a: number, b: number): number;
}

export function opMenu(program: Program, labels: ProgramLabels): OpMenu {
  const expanded = expandComposites(program);
  const unary = new Set<UnaryOp>();
  const binary = new Set<BinaryOp>();
  const constants = new Set<number>();
  const scales = new Set<number>();
  const reduce = new Set<ReduceFn>();
  let matmuls = 0;
  for (const node of expanded.nodes) {
    const attrs = node.attrs as Record<string, unknown>;
    if (node.op === 'unary') unary.add(attrs.fn as UnaryOp);
    if (node.op === 'binary') binary.add(attrs.fn as BinaryOp);
    if (node.op === 'const') constants.add(attrs.value as number);
    if (node.op === 'scale') scales.add(attrs.c as number);
    if (node.op === 'reduce') reduce.add(attrs.fn as ReduceFn);
    if (node.op === 'matmul') matmuls++;
  }
  const joined = new Map<string, number>();
  let next = labels.sizes.length;
  return Object.freeze({
    unary: UNARY_OPS.filter((f) => unary.has(f)),
    binary: BINARY_OPS.filter((f) => binary.has(f)),
    constants: [...constants].sort((a, b) => a - b),
    scales: [...scales].sort((a, b) => a - b),
    reduce: (['sum', 'max'] as const).filter((f) => reduce.has(f)),
    matmul: matmuls > 0,
    concat: matmuls > 1 && binary.has('add'),
    reducedLabels: labels.reduced,
    joinedLabel(a: number, b: number): number {
      const key = `${a},${b}`;
      let id = joined.get(key);
      if (id === undefined) joined.set(key, (id = next++));
      return id;
    },
  });
}
