/**
 * The mutator: wrong μGraphs derived from a correct one, the verifier's adversaries in
 * mutation testing. Each mutant changes one thing, as a slip in a hand-written or
 * generated μGraph would:
 *   imap, fmap, omap       a grid or loop map pointing at another dimension (or none),
 *                          or two grid axes exchanging the dimensions they split
 *   accum-dropped          an accumulator's uses rewired to another tile of its shape
 *   accum-duplicated       an accumulator's uses replaced by the sum of it and a twin
 *   accum-kind             sum, sumLastDim, maxRescale exchanged
 *   rescale-missing        an online-softmax sum without its rescale
 *   swap-operands          the operands of a sub, div or matmul exchanged
 *   scale-dropped          a scale (e.g. a mean's 1/n) by 1 instead
 *   reduce-dim             a reduction over another dimension
 *   range                  a grid size or the loop range off by one, doubled or halved
 *   constant               a constant or scale factor doubled (or 1 for 0)
 * Only mutants that still validate (new KernelGraph) are returned. Some mutations can
 * leave the function unchanged (a different split of the same loop is still right), so a
 * caller that needs wrong ones must classify them (the tests use the float64 interpreter).
 */
import type { AccumSpec, BlockOpSpec } from '../ugraph/block-ops.js';
import type { BlockGraph, BlockGraphSpec } from '../ugraph/block-graph.js';
import { isUGraphError } from '../ugraph/errors.js';
import { KernelGraph, type KernelGraphJSON, type KernelNodeJSON } from '../ugraph/kernel-graph.js';

export const MUTATION_KINDS = [
  'imap', 'fmap', 'omap', 'accum-dropped', 'accum-duplicated', 'accum-kind', 'rescale-missing',
  'swap-operands', 'scale-dropped', 'reduce-dim', 'range', 'constant',
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export interface Mutant {
  readonly kind: MutationKind;
  /** What changed and where, stable across shapes of the same structure (e.g. `kernel 1 > t5: fmap 2 -> null`). */
  readonly description: string;
  readonly graph: KernelGraph;
}

type Json = KernelGraphJSON;
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
type Block = Mutable<BlockGraphSpec>;
type Edit = (json: Mutable<Json>) => void;

const clone = (json: Json): Mutable<Json> => JSON.parse(JSON.stringify(json)) as Mutable<Json>;

/** Every valid single-change mutant of `graph`, in a deterministic order. */
export function mutants(graph: KernelGraph): Mutant[] {
  const base = graph.toJSON();
  const out: Mutant[] = [];
  const seen = new Set<string>([JSON.stringify(base)]);
  const add = (kind: MutationKind, description: string, edit: Edit) => {
    const json = clone(base);
    edit(json);
    const text = JSON.stringify(json);
    if (seen.has(text)) return;
    seen.add(text);
    try {
      out.push({ kind, description, graph: new KernelGraph(json) });
    } catch (error) {
      if (!isUGraphError(error)) throw error;
    }
  };
  graph.nodes.forEach((node, n) => {
    if (node.op === 'custom') blockMutations(node.block, n, add);
    else kernelMutations(base.nodes[n]!, n, add);
  });
  return out;
}

type Add = (kind: MutationKind, description: string, edit: Edit) => void;

const blockOf = (json: Mutable<Json>, n: number): Block => (json.nodes[n] as { block: Block }).block;

function kernelMutations(node: KernelNodeJSON, n: number, add: Add): void {
  const at = `kernel ${n}`;
  const edit = (f: (node: Record<string, unknown>) => void): Edit => (json) => f(json.nodes[n] as unknown as Record<string, unknown>);
  if (node.op === 'matmul' || (node.op === 'binary' && (node.fn === 'sub' || node.fn === 'div'))) {
    add('swap-operands', `${at}: operands swapped`, edit((x) => { x.inputs = [...(x.inputs as number[])].reverse(); }));
  }
  if (node.op === 'scale') {
    add('scale-dropped', `${at}: scale by 1`, edit((x) => { x.c = 1; }));
    add('constant', `${at}: scale doubled`, edit((x) => { x.c = 2 * (x.c as number); }));
  }
  if (node.op === 'constant') add('constant', `${at}: constant changed`, edit((x) => { x.value = changed(x.value as number); }));
  if (node.op === 'reduce') {
    for (let d = 0; d < 4; d++) add('reduce-dim', `${at}: reduce dim ${node.dim} -> ${d}`, edit((x) => { x.dim = d; }));
  }
}

function changed(value: number): number {
  return value === 0 ? 1 : 2 * value;
}

function blockMutations(block: BlockGraph, n: number, add: Add): void {
  const at = `kernel ${n}`;
  const first = block.inputs.length;
  block.inputs.forEach((it, k) => {
    const rank = block.inputShapes[k]!.length;
    block.grid.forEach((size, axis) => {
      if (size === 1) return;
      for (const d of [null, ...Array.from({ length: rank }, (_, i) => i)]) {
        add('imap', `${at} > input ${k}: imap axis ${axis} ${it.imap[axis]} -> ${d}`, (json) => { blockOf(json, n).inputs[k]!.imap[axis] = d; });
      }
    });
    for (const d of [null, ...Array.from({ length: rank }, (_, i) => i)]) {
      add('fmap', `${at} > input ${k}: fmap ${it.fmap} -> ${d}`, (json) => { blockOf(json, n).inputs[k]!.fmap = d; });
    }
  });
  // Two grid axes exchanging the dimensions they split: same tile shapes, wrong tiles.
  const axisPairs = [[0, 1], [0, 2], [1, 2]].filter(([a, b]) => block.grid[a!]! > 1 && block.grid[b!]! > 1) as [number, number][];
  block.inputs.forEach((it, k) => {
    for (const [a, b] of axisPairs) {
      add('imap', `${at} > input ${k}: imap axes ${a} and ${b} exchanged`, (json) => {
        const imap = blockOf(json, n).inputs[k]!.imap;
        [imap[a], imap[b]] = [it.imap[b]!, it.imap[a]!];
      });
    }
  });
  block.outputs.forEach((saver, k) => {
    for (const [a, b] of axisPairs) {
      add('omap', `${at} > output ${k}: omap axes ${a} and ${b} exchanged`, (json) => {
        const omap = blockOf(json, n).outputs[k]!.omap;
        [omap[a], omap[b]] = [saver.omap[b]!, saver.omap[a]!];
      });
    }
    block.grid.forEach((size, axis) => {
      if (size === 1) return;
      for (let d = 0; d < 4; d++) add('omap', `${at} > output ${k}: omap axis ${axis} ${saver.omap[axis]} -> ${d}`, (json) => { blockOf(json, n).outputs[k]!.omap[axis] = d; });
    });
  });
  block.ops.forEach((op, i) => opMutations(block, op, first + i, n, add));
  rangeMutations(block, n, add);
}

function opMutations(block: BlockGraph, op: BlockOpSpec, id: number, n: number, add: Add): void {
  const at = `kernel ${n} > t${id}`;
  const first = block.inputs.length;
  const edit = (f: (op: Record<string, unknown>, block: Block) => void): Edit => (json) => { const b = blockOf(json, n); f(b.ops[id - first] as Record<string, unknown>, b); };
  if (op.op === 'matmul' || (op.op === 'binary' && (op.fn === 'sub' || op.fn === 'div'))) {
    add('swap-operands', `${at}: operands swapped`, edit((x) => { x.inputs = [...(x.inputs as number[])].reverse(); }));
  }
  if (op.op === 'scale') {
    add('scale-dropped', `${at}: scale by 1`, edit((x) => { x.c = 1; }));
    add('constant', `${at}: scale doubled`, edit((x) => { x.c = 2 * (x.c as number); }));
  }
  if (op.op === 'constant') add('constant', `${at}: constant changed`, edit((x) => { x.value = changed(x.value as number); }));
  if (op.op === 'reduce') {
    for (let d = 0; d < 4; d++) if (d !== op.dim) add('reduce-dim', `${at}: reduce dim ${op.dim} -> ${d}`, edit((x) => { x.dim = d; }));
  }
  if (op.op !== 'accum') return;
  for (const kind of ['sum', 'sumLastDim', 'maxRescale'] as const) {
    if (kind === op.kind) continue;
    add('accum-kind', `${at}: accum ${op.kind} -> ${kind}`, edit((x) => {
      x.kind = kind;
      if (kind === 'maxRescale') delete x.rescaleBy;
    }));
  }
  if (op.rescaleBy !== undefined) add('rescale-missing', `${at}: rescaleBy dropped`, edit((x) => { delete x.rescaleBy; }));
  const shape = JSON.stringify(block.tensors[id]!.shape);
  const others = block.tensors.map((t, i) => ({ s: t.shape, t: i, phase: t.phase }))
    .filter(({ s, t, phase }) => t !== id && phase === 'post' && JSON.stringify(s) === shape);
  if (others.length > 0) {
    const other = others[0]!.t;
    add('accum-dropped', `${at}: uses rewired to t${other}`, (json) => rewire(blockOf(json, n), id, other));
  }
  add('accum-duplicated', `${at}: uses replaced by t${id} + a twin`, (json) => duplicate(blockOf(json, n), id));
}

function rangeMutations(block: BlockGraph, n: number, add: Add): void {
  const neighbours = (v: number) => [v - 1, v + 1, 2 * v, v / 2].filter((x) => Number.isInteger(x) && x >= 1 && x !== v);
  for (const r of neighbours(block.forloopRange)) {
    add('range', `kernel ${n}: forloopRange ${block.forloopRange} -> ${r}`, (json) => {
      const b = blockOf(json, n);
      b.forloopRange = r;
      if (r === 1) for (const it of b.inputs) it.fmap = null;
    });
  }
  block.grid.forEach((size, axis) => {
    for (const g of neighbours(size)) {
      add('range', `kernel ${n}: grid axis ${axis} ${size} -> ${g}`, (json) => {
        const b = blockOf(json, n);
        b.grid[axis] = g;
        if (g === 1) {
          for (const it of b.inputs) it.imap[axis] = null;
          for (const s of b.outputs) s.omap[axis] = null;
        }
      });
    }
  });
}

/** Replaces every use of block tensor `from` (op operands, rescaleBy, savers) by `to`, where `to` is defined before the use. */
function rewire(block: Block, from: number, to: number): void {
  const first = block.inputs.length;
  block.ops.forEach((op, i) => {
    if (first + i <= to) return;
    op.inputs = op.inputs.map((x) => (x === from ? to : x));
    const accum = op as Mutable<AccumSpec>;
    if (accum.rescaleBy === from) accum.rescaleBy = to;
  });
  for (const saver of block.outputs) if (saver.tensor === from) saver.tensor = to;
}

/** Inserts a twin of accumulator `id` and `sum = id + twin` right after it; uses after them read `sum`. */
function duplicate(block: Block, id: number): void {
  const first = block.inputs.length;
  const at = id - first + 1;
  const shift = (x: number) => (x > id ? x + 2 : x);
  for (const op of block.ops) {
    op.inputs = op.inputs.map(shift);
    const accum = op as Mutable<AccumSpec>;
    if (accum.rescaleBy !== undefined) accum.rescaleBy = shift(accum.rescaleBy);
  }
  for (const saver of block.outputs) saver.tensor = shift(saver.tensor);
  const original = block.ops[id - first]! as Mutable<AccumSpec>;
  const twin = { ...original, inputs: [...original.inputs] };
  const sum = { op: 'binary', fn: 'add', inputs: [id, id + 1] };
  block.ops.splice(at, 0, twin as Mutable<BlockOpSpec>, sum as unknown as Mutable<BlockOpSpec>);
  const summed = id + 2;
  block.ops.forEach((op, i) => {
    if (first + i <= summed) return;
    op.inputs = op.inputs.map((x) => (x === id ? summed : x));
  });
  for (const saver of block.outputs) if (saver.tensor === id) saver.tensor = summed;
}
