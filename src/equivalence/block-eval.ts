/**
 * A custom kernel's block graph run in the field, literally, as the μGraph interpreter
 * runs it (src/ugraph/block-interpreter.ts): for every workgroup (x fastest), for every
 * for-loop iteration, iterators cut tiles by imap/fmap, the body runs, accumulators fold
 * the iteration in (maxRescale maxes first, committed last, so companions rescale from
 * the old max); then the epilogue runs and savers write each tile at its omap position.
 * Thread configs change nothing here.
 *
 * What differs is only how: every block tensor's lanes are allocated once per kernel and
 * reused by every workgroup and iteration, constants are computed once per kernel, and a
 * tile that the loop does not walk (fmap null) is cut once per workgroup. Tests compare
 * the results with the generic interpreter in the field domain, element for element.
 */
import { numel, type Shape, stridesOf } from '../ir/shape.js';
import type { BlockGraph } from '../ugraph/block-graph.js';
import type { AccumSpec, BlockOpSpec } from '../ugraph/block-ops.js';
import { axisOfDim } from '../ugraph/grid.js';
import { LANE_P, LANE_Q, type LaneSet, P, Q } from './field.js';
import { binaryLane, copyBlock, expLane, sumLane } from './field-kernels.js';
import { maxLanes } from './opaque-kernels.js';
import { allocateTensor, type EvalContext, evaluateOpInto, type FieldOpSpec, type FieldTensor } from './op-eval.js';
import { batchedMatmulMod, contiguousOperand, type MatrixOperand } from './strided-matmul.js';
import { pinAll, unpinAll } from './wasm-matmul.js';

interface Accumulator {
  readonly id: number;
  readonly spec: AccumSpec;
  /** The running state (a maxRescale's current max). */
  readonly state: FieldTensor;
  /** A maxRescale's max after this iteration, before it is committed. */
  readonly next: FieldTensor | undefined;
  /** Scratch of the term's shape (rescaled or reduced terms). */
  readonly term: FieldTensor | undefined;
  /** A sum of a matmul computed straight into the state by the body. */
  readonly fused: boolean;
  /** Scratch for a rescaled or last-dim sum, allocated once. */
  readonly scratch: Scratch | undefined;
}

interface Scratch {
  /** exp(m_i - M) over the running max's shape, and the q-lane difference behind it. */
  readonly weight: Float64Array;
  readonly oldScale: Float64Array;
  readonly difference: Float64Array;
  /** A last-dim sum's per-iteration term, in the state's shape. */
  readonly reduced: FieldTensor;
}

/**
 * Which workgroups to run, per grid axis (undefined: all along that axis). Screening
 * (screen.ts) runs only those whose outputs it compares; the rest of `outputs` is left
 * as allocated.
 */
export type WorkgroupFilter = readonly (ReadonlySet<number> | undefined)[];

/** Runs `block` over `inputs` (the custom kernel's storage tensors) into `outputs` (allocated by the caller). */
export function runBlockInField(
  block: BlockGraph, need: readonly LaneSet[], inputs: readonly FieldTensor[], outputs: readonly FieldTensor[], ctx: EvalContext, where: string,
  only?: WorkgroupFilter,
): void {
  const first = block.inputs.length;
  const values: FieldTensor[] = block.tensors.map((t, id) => allocateTensor(t.shape, need[id]!));
  const ops = block.ops.map((op, i) => ({ op, id: first + i })).filter(({ id }) => need[id] !== 0);
  const consumers = block.tensors.map((): BlockOpSpec[] => []);
  for (const { op } of ops) for (const o of op.inputs) consumers[o]!.push(op);
  const phase = (id: number) => block.tensors[id]!.phase;
  const run = (list: readonly { op: BlockOpSpec; id: number }[]) => {
    for (const { op, id } of list) evaluateOpInto(op as FieldOpSpec, op.inputs.map((o) => values[o]!), values[id]!, ctx, `${where} > block op t${id}`);
  };
  run(ops.filter(({ id }) => phase(id) === 'const'));
  // Tiles read only by matmuls are read in place from storage (views), not cut out.
  const iterators = block.inputs.map((it, k) => ({
    k, walked: it.fmap !== null, view: consumers[k]!.length > 0 && consumers[k]!.every((c) => c.op === 'matmul'),
    storageStrides: stridesOf(inputs[k]!.shape),
  })).filter(({ k }) => need[k] !== 0);
  const offsets = block.inputs.map(() => 0);
  const operand = (id: number, lane: Float64Array | undefined, laneOf: (t: FieldTensor) => Float64Array | undefined): MatrixOperand => {
    const it = id < first ? iterators.find((i) => i.k === id) : undefined;
    if (it?.view) return { data: laneOf(inputs[id]!)!, offset: offsets[id]!, shape: block.tensors[id]!.shape, strides: it.storageStrides };
    return contiguousOperand(lane!, block.tensors[id]!.shape);
  };
  const accumulators: Accumulator[] = ops.filter(({ op }) => op.op === 'accum').map(({ op, id }) => {
    const spec = op as AccumSpec;
    const x = block.tensors[spec.inputs[0]!]!;
    // A sum of a matmul that nothing else reads accumulates in place: acc (+)= a·b.
    const fused = spec.kind === 'sum' && spec.rescaleBy === undefined && x.op?.op === 'matmul' && consumers[spec.inputs[0]!]!.length === 1;
    return {
      id, spec, state: values[id]!, fused,
      next: spec.kind === 'maxRescale' ? allocateTensor(x.shape, need[id]! | LANE_P) : undefined,
      term: spec.kind === 'maxRescale' ? undefined : allocateTensor(x.shape, need[id]!),
      scratch: spec.kind === 'maxRescale' ? undefined : scratchFor(block, spec, values[id]!),
    };
  });
  const fusedInputs = new Set(accumulators.filter((a) => a.fused).map((a) => a.spec.inputs[0]!));
  const body = ops.filter(({ id }) => phase(id) === 'pre').map(({ op, id }) => {
    if (op.op !== 'matmul') return () => run([{ op, id }]);
    const [a, b] = op.inputs as [number, number];
    const target = fusedInputs.has(id) ? accumulators.find((acc) => acc.spec.inputs[0] === id)!.state : values[id]!;
    return (iteration: number) => {
      const accumulate = fusedInputs.has(id) && iteration > 0;
      if (target.p) batchedMatmulMod(operand(a, values[a]!.p, (t) => t.p), operand(b, values[b]!.p, (t) => t.p), target.p, target.shape, P, accumulate);
      if (target.q) batchedMatmulMod(operand(a, values[a]!.q, (t) => t.q), operand(b, values[b]!.q, (t) => t.q), target.q, target.shape, Q, accumulate);
    };
  });
  const epilogue = ops.filter(({ op, id }) => phase(id) === 'post' && op.op !== 'accum');
  // Storage tensors read in place as a matmul's B: pinned in kernel memory for this kernel
  // (not when only some workgroups run: copying whole tensors would cost more than their tiles).
  const readAsB = new Set(only ? [] : ops.flatMap(({ op }) => (op.op === 'matmul' ? [op.inputs[1]!] : [])));
  pinAll(iterators.filter((i) => i.view && readAsB.has(i.k)).flatMap((i) => [inputs[i.k]!.p, inputs[i.k]!.q].filter((x): x is Float64Array => x !== undefined)));
  const fixedTiles = iterators.filter((i) => !i.walked);
  const walkedTiles = iterators.filter((i) => i.walked);
  const [gx, gy, gz] = block.grid;
  const runs = (axis: number, index: number) => only?.[axis] === undefined || only[axis]!.has(index);
  for (let z = 0; z < gz; z++) {
    if (!runs(2, z)) continue;
    for (let y = 0; y < gy; y++) {
      if (!runs(1, y)) continue;
      for (let x = 0; x < gx; x++) {
        if (!runs(0, x)) continue;
        const workgroup = [x, y, z] as const;
        for (const it of fixedTiles) placeTile(block, it, inputs[it.k]!, values[it.k]!, workgroup, 0, offsets);
        for (let iteration = 0; iteration < block.forloopRange; iteration++) {
          for (const it of walkedTiles) placeTile(block, it, inputs[it.k]!, values[it.k]!, workgroup, iteration, offsets);
          for (const step of body) step(iteration);
          accumulate(accumulators, values, iteration, ctx);
        }
        run(epilogue);
        block.outputs.forEach((saver, k) => {
          const tile = values[saver.tensor]!;
          const starts = tile.shape.map((size, dim) => {
            const axis = axisOfDim(saver.omap, dim);
            return axis === undefined ? 0 : workgroup[axis]! * size;
          });
          const out = outputs[k]!;
          if (out.p) copyBlock(tile.p!, tile.shape, tile.shape.map(() => 0), out.p, out.shape, starts, tile.shape);
          if (out.q) copyBlock(tile.q!, tile.shape, tile.shape.map(() => 0), out.q, out.shape, starts, tile.shape);
        });
      }
    }
  }
  unpinAll();
}

interface IteratorPlan {
  readonly k: number;
  readonly view: boolean;
  readonly storageStrides: readonly number[];
}

/** Where iterator k's tile starts for one workgroup and iteration: cut out, or (a view) just its offset. */
function placeTile(block: BlockGraph, it: IteratorPlan, tensor: FieldTensor, tile: FieldTensor, workgroup: readonly number[], iteration: number, offsets: number[]): void {
  const starts = tileStarts(block, it.k, tensor.shape, tile.shape, workgroup, iteration);
  if (it.view) {
    let offset = 0;
    for (let d = 0; d < starts.length; d++) offset += starts[d]! * it.storageStrides[d]!;
    offsets[it.k] = offset;
    return;
  }
  if (tile.p) copyBlock(tensor.p!, tensor.shape, starts, tile.p, tile.shape, tile.shape.map(() => 0), tile.shape);
  if (tile.q) copyBlock(tensor.q!, tensor.shape, starts, tile.q, tile.shape, tile.shape.map(() => 0), tile.shape);
}

/** Multi-index in its storage tensor of iterator k's tile for one workgroup and iteration (layout in src/ugraph/block-io.ts). */
function tileStarts(block: BlockGraph, k: number, shape: Shape, tile: Shape, workgroup: readonly number[], iteration: number): number[] {
  const { imap, fmap } = block.inputs[k]!;
  return tile.map((size, dim) => {
    const axis = axisOfDim(imap, dim);
    const workgroupStart = axis === undefined ? 0 : workgroup[axis]! * (shape[dim]! / block.grid[axis]!);
    return workgroupStart + (fmap === dim ? iteration * size : 0);
  });
}

function accumulate(accumulators: readonly Accumulator[], values: readonly FieldTensor[], iteration: number, ctx: EvalContext): void {
  for (const a of accumulators) {
    if (a.spec.kind !== 'maxRescale') continue;
    const m = values[a.spec.inputs[0]!]!;
    if (iteration === 0) copyLanes(m, a.next!);
    else maxLanes(ctx.keys.words.max, a.state.q ?? a.state.p!, m.q ?? m.p!, a.next!.p, a.next!.q); // hashed lanes: lanes.ts maxHashLane
  }
  for (const a of accumulators) {
    if (a.spec.kind === 'maxRescale' || a.fused) continue;
    const x = values[a.spec.inputs[0]!]!;
    let term = x;
    let oldScale: Float64Array | undefined;
    let maxShape: Shape = [];
    if (a.spec.rescaleBy !== undefined) {
      const rescale = accumulators.find((r) => r.id === a.spec.rescaleBy)!;
      const m = values[rescale.spec.inputs[0]!]!;
      maxShape = m.shape;
      const scratch = a.scratch!;
      const weight = expOfDifference(m.q!, rescale.next!.q!, m.shape, scratch.difference, scratch.weight);
      binaryLane('mul', x.p!, x.shape, weight, m.shape, a.term!.p!, x.shape, P);
      term = a.term!;
      if (iteration > 0) oldScale = expOfDifference(rescale.state.q!, rescale.next!.q!, maxShape, scratch.difference, scratch.oldScale);
    }
    if (a.spec.kind === 'sumLastDim') {
      const reduced = a.scratch!.reduced;
      if (reduced.p) sumLane(term.p!, term.shape, term.shape.length - 1, reduced.p, P);
      if (reduced.q) sumLane(term.q!, term.shape, term.shape.length - 1, reduced.q, Q);
      term = reduced;
    }
    if (iteration === 0) {
      copyLanes(term, a.state);
      continue;
    }
    if (oldScale) binaryLane('mul', a.state.p!, a.state.shape, oldScale, maxShape, a.state.p!, a.state.shape, P);
    if (a.state.p) binaryLane('add', a.state.p, a.state.shape, term.p!, term.shape, a.state.p, a.state.shape, P);
    if (a.state.q) binaryLane('add', a.state.q, a.state.shape, term.q!, term.shape, a.state.q, a.state.shape, Q);
  }
  for (const a of accumulators) if (a.spec.kind === 'maxRescale') copyLanes(a.next!, a.state);
}

/** The p-lane of exp(a - b) from the q-lanes of a and b (same shape), into `out`. */
function expOfDifference(aq: Float64Array, bq: Float64Array, shape: Shape, difference: Float64Array, out: Float64Array): Float64Array {
  binaryLane('sub', aq, shape, bq, shape, difference, shape, Q);
  expLane(difference, out);
  return out;
}

function scratchFor(block: BlockGraph, spec: AccumSpec, state: FieldTensor): Scratch {
  const max = spec.rescaleBy === undefined ? 1 : numel(block.tensors[spec.rescaleBy]!.shape);
  return {
    weight: new Float64Array(max), oldScale: new Float64Array(max), difference: new Float64Array(max),
    reduced: { shape: state.shape, p: state.p && new Float64Array(state.p.length), q: state.q && new Float64Array(state.q.length) },
  };
}

function copyLanes(from: FieldTensor, to: FieldTensor): void {
  if (to.p) to.p.set(from.p!);
  if (to.q) to.q.set(from.q!);
}
