/**
 * Runs a block graph literally, the way the GPU will: for every workgroup of the grid
 * (x fastest), for every for-loop iteration, the iterators cut tiles by imap/fmap, the
 * loop body runs, the accumulators fold the iteration in; then the epilogue runs once
 * and the savers write each output tile at its omap position. Accumulator semantics
 * (including the online-softmax rescale) are specified in block-ops.ts.
 */
import { numel } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';
import type { AccumSpec, BlockOpSpec } from './block-ops.js';
import type { NumberDomain } from './domain.js';
import { evaluateCommonOp } from './eval-common.js';
import { axisOfDim, type Grid } from './grid.js';
import { broadcastCombine, concat, readBlock, reduceAlong, type TensorValue, writeBlock } from './tensor-math.js';

/** Computes every output of `block` from the storage tensors its iterators read. */
export function runBlockGraph<T>(d: NumberDomain<T>, block: BlockGraph, inputs: readonly TensorValue<T>[]): TensorValue<T>[] {
  const outputs = block.outputShapes.map((shape): TensorValue<T> => ({ shape, data: new Array<T>(numel(shape)) }));
  const first = block.inputs.length;
  const opsOf = (keep: (op: BlockOpSpec, id: number) => boolean) =>
    block.ops.map((op, i) => ({ op, id: first + i })).filter(({ op, id }) => keep(op, id));
  const constants = opsOf((_, id) => block.tensors[id]!.phase === 'const');
  const body = opsOf((_, id) => block.tensors[id]!.phase === 'pre');
  const accumulators = opsOf((op) => op.op === 'accum') as { op: AccumSpec; id: number }[];
  const epilogue = opsOf((op, id) => block.tensors[id]!.phase === 'post' && op.op !== 'accum');
  const [gx, gy, gz] = block.grid;
  for (let z = 0; z < gz; z++) {
    for (let y = 0; y < gy; y++) {
      for (let x = 0; x < gx; x++) {
        const workgroup = [x, y, z] as const;
        const values = new Array<TensorValue<T> | undefined>(block.tensors.length);
        const run = (ops: readonly { op: BlockOpSpec; id: number }[]) => {
          for (const { op, id } of ops) values[id] = evaluateBlockOp(d, op, values, block.tensors[id]!.shape);
        };
        run(constants);
        const acc = new Map<number, TensorValue<T>>();
        for (let iteration = 0; iteration < block.forloopRange; iteration++) {
          block.inputs.forEach((_, k) => { values[k] = loadTile(block, k, inputs[k]!, workgroup, iteration); });
          run(body);
          accumulate(d, accumulators, values, acc, iteration);
        }
        for (const [id, value] of acc) values[id] = value;
        run(epilogue);
        block.outputs.forEach((saver, k) => {
          const tile = values[saver.tensor]!;
          const starts = tile.shape.map((size, dim) => {
            const axis = axisOfDim(saver.omap, dim);
            return axis === undefined ? 0 : workgroup[axis]! * size;
          });
          writeBlock(outputs[k]!, starts, tile);
        });
      }
    }
  }
  return outputs;
}

function evaluateBlockOp<T>(d: NumberDomain<T>, op: BlockOpSpec, values: readonly (TensorValue<T> | undefined)[], shape: readonly number[]): TensorValue<T> {
  if (op.op === 'constant') return { shape, data: [d.fromConstant(op.value)] };
  if (op.op === 'accum') throw new Error('accumulators are folded by accumulate(), not evaluated');
  if (op.op === 'concat') return concat(op.inputs.map((id) => values[id]!), op.dim, shape);
  return evaluateCommonOp(d, op, op.inputs.map((id) => values[id]!), shape);
}

/** Tile of iterator `k` for one workgroup and iteration (layout in block-io.ts). */
function loadTile<T>(block: BlockGraph, k: number, tensor: TensorValue<T>, workgroup: readonly number[], iteration: number): TensorValue<T> {
  const { imap, fmap } = block.inputs[k]!;
  const tile = block.tensors[k]!.shape;
  const grid: Grid = block.grid;
  const starts = tile.map((size, dim) => {
    const axis = axisOfDim(imap, dim);
    const workgroupStart = axis === undefined ? 0 : workgroup[axis]! * (tensor.shape[dim]! / grid[axis]!);
    return workgroupStart + (fmap === dim ? iteration * size : 0);
  });
  return readBlock(tensor, starts, tile);
}

/**
 * Folds iteration `iteration` into the accumulator states `acc`. Running maxes are
 * computed first but committed last, so every companion rescales from the old max.
 */
function accumulate<T>(
  d: NumberDomain<T>, accumulators: readonly { op: AccumSpec; id: number }[],
  values: readonly (TensorValue<T> | undefined)[], acc: Map<number, TensorValue<T>>, iteration: number,
): void {
  const add = (a: T, b: T) => d.add(a, b);
  const newMax = new Map<number, TensorValue<T>>();
  for (const { op, id } of accumulators) {
    if (op.kind !== 'maxRescale') continue;
    const m = values[op.inputs[0]!]!;
    newMax.set(id, iteration === 0 ? m : broadcastCombine(m.shape, acc.get(id)!, m, (a, b) => d.max(a, b)));
  }
  for (const { op, id } of accumulators) {
    if (op.kind === 'maxRescale') continue;
    let term = values[op.inputs[0]!]!;
    let oldScale: TensorValue<T> | undefined;
    if (op.rescaleBy !== undefined) {
      const m = values[accumulatorInput(accumulators, op.rescaleBy)]!;
      const max = newMax.get(op.rescaleBy)!;
      const weight = broadcastCombine(m.shape, m, max, (a, b) => d.exp(d.sub(a, b)));
      term = broadcastCombine(term.shape, term, weight, (a, b) => d.mul(a, b));
      if (iteration > 0) oldScale = broadcastCombine(max.shape, acc.get(op.rescaleBy)!, max, (a, b) => d.exp(d.sub(a, b)));
    }
    if (op.kind === 'sumLastDim') term = reduceAlong(term, term.shape.length - 1, true, add);
    const previous = acc.get(id);
    if (previous === undefined) {
      acc.set(id, term);
    } else {
      const carried = oldScale ? broadcastCombine(previous.shape, previous, oldScale, (a, b) => d.mul(a, b)) : previous;
      acc.set(id, broadcastCombine(term.shape, carried, term, add));
    }
  }
  for (const [id, max] of newMax) acc.set(id, max);
}

function accumulatorInput(accumulators: readonly { op: AccumSpec; id: number }[], id: number): number {
  return accumulators.find((a) => a.id === id)!.op.inputs[0]!;
}
