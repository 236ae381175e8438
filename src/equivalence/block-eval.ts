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
 * tile that the loop does not walk (fmap null) is cut once per workgroup, as are body ops
 * computed only from such tiles and constants (the same tile on every iteration). Every op,
 * tile cut, accumulator and saver is prepared once per kernel into a step (shapes,
 * broadcasts, strides decided then), so a workgroup's iteration only calls steps. Tests
 * compare the results with the generic interpreter in the field domain, element for element.
 */
import { numel, stridesOf } from '../ir/shape.js';
import type { BlockGraph } from '../ugraph/block-graph.js';
import type { AccumSpec, BlockOpSpec } from '../ugraph/block-ops.js';
import { axisOfDim } from '../ugraph/grid.js';
import { LANE_P, LANE_Q, type LaneSet, P, Q } from './field.js';
import { binaryKernel, blockCopier, expLane, rescaledFold, sumLane } from './field-kernels.js';
import { maxLanes } from './opaque-kernels.js';
import { allocateTensor, type EvalContext, type FieldOpSpec, type FieldTensor, prepareOp, type Step } from './op-eval.js';
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
  const prepare = ({ op, id }: { op: BlockOpSpec; id: number }): Step =>
    prepareOp(op as FieldOpSpec, op.inputs.map((o) => values[o]!), values[id]!, ctx, `${where} > block op t${id}`);
  for (const entry of ops.filter(({ id }) => phase(id) === 'const')) prepare(entry)();
  // Tiles read only by matmuls are read in place from storage (views), not cut out.
  const iterators = block.inputs.map((it, k) => planIterator(block, k, inputs[k]!, values[k]!,
    consumers[k]!.length > 0 && consumers[k]!.every((c) => c.op === 'matmul'))).filter(({ k }) => need[k] !== 0);
  const offsets = block.inputs.map(() => 0);
  const viewOf = new Map(iterators.filter((i) => i.view).map((i) => [i.k, i]));
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
  // Loop-invariant body ops (every operand a fixed tile, a constant or itself invariant; not
  // an accumulation step) compute the same tile on every iteration: they run once per workgroup.
  const invariant = block.tensors.map((t, id) => (id < first ? block.inputs[id]!.fmap === null : t.phase === 'const'));
  for (const { op, id } of ops) if (phase(id) === 'pre') invariant[id] = !fusedInputs.has(id) && op.inputs.every((o) => invariant[o]);
  const bodyStep = ({ op, id }: { op: BlockOpSpec; id: number }): ((iteration: number) => void) => {
    if (op.op !== 'matmul') {
      const step = prepare({ op, id });
      return () => step();
    }
    const [a, b] = op.inputs as [number, number];
    const fused = fusedInputs.has(id);
    const target = fused ? accumulators.find((acc) => acc.spec.inputs[0] === id)!.state : values[id]!;
    const products = ([[target.p, P, LANE_P], [target.q, Q, LANE_Q]] as const).flatMap(([out, m, lane]) => (out ? [{
      out, m, a: operandPlan(a, lane), b: operandPlan(b, lane),
    }] : []));
    return (iteration: number) => {
      const accumulate = fused && iteration > 0;
      for (const { out, m, a: pa, b: pb } of products) batchedMatmulMod(pa.at(), pb.at(), out, target.shape, m, accumulate);
    };
  };
  function operandPlan(id: number, lane: LaneSet): { at(): MatrixOperand } {
    const laneOf = (t: FieldTensor) => (lane === LANE_P ? t.p : t.q)!;
    const view = id < first ? viewOf.get(id) : undefined;
    if (view) {
      const data = laneOf(inputs[id]!);
      const shape = block.tensors[id]!.shape;
      return { at: () => ({ data, offset: offsets[id]!, shape, strides: view.storageStrides }) };
    }
    const fixed = contiguousOperand(laneOf(values[id]!), block.tensors[id]!.shape);
    return { at: () => fixed };
  }
  const body = ops.filter(({ id }) => phase(id) === 'pre');
  const hoisted = body.filter(({ id }) => invariant[id]).map(bodyStep);
  const perIteration = body.filter(({ id }) => !invariant[id]).map(bodyStep);
  const accumulate = prepareAccumulators(accumulators, values, ctx);
  const epilogue = ops.filter(({ op, id }) => phase(id) === 'post' && op.op !== 'accum').map(prepare);
  const savers = block.outputs.map((saver, k) => {
    const tile = values[saver.tensor]!;
    const out = outputs[k]!;
    const strides = stridesOf(out.shape);
    // Where the tile lands: per grid axis, the offset of one step along it.
    const axisStride = [0, 0, 0];
    tile.shape.forEach((size, dim) => {
      const axis = axisOfDim(saver.omap, dim);
      if (axis !== undefined) axisStride[axis] = size * strides[dim]!;
    });
    const copy = blockCopier(tile.shape, out.shape, tile.shape);
    const lanes = ([[tile.p, out.p], [tile.q, out.q]] as const).filter(([, o]) => o !== undefined) as [Float64Array, Float64Array][];
    return (workgroup: readonly number[]) => {
      const to = workgroup[0]! * axisStride[0]! + workgroup[1]! * axisStride[1]! + workgroup[2]! * axisStride[2]!;
      for (const [from, target] of lanes) copy(from, 0, target, to);
    };
  });
  // Storage tensors read in place as a matmul's B: pinned in kernel memory for this kernel
  // (not when only some workgroups run: copying whole tensors would cost more than their tiles).
  const readAsB = new Set(only ? [] : ops.flatMap(({ op }) => (op.op === 'matmul' ? [op.inputs[1]!] : [])));
  pinAll(iterators.filter((i) => i.view && readAsB.has(i.k)).flatMap((i) => [inputs[i.k]!.p, inputs[i.k]!.q].filter((x): x is Float64Array => x !== undefined)));
  const fixedTiles = iterators.filter((i) => !i.walked);
  const walkedTiles = iterators.filter((i) => i.walked);
  const [gx, gy, gz] = block.grid;
  const runs = (axis: number, index: number) => only?.[axis] === undefined || only[axis]!.has(index);
  const workgroup = [0, 0, 0];
  for (let z = 0; z < gz; z++) {
    if (!runs(2, z)) continue;
    for (let y = 0; y < gy; y++) {
      if (!runs(1, y)) continue;
      for (let x = 0; x < gx; x++) {
        if (!runs(0, x)) continue;
        workgroup[0] = x;
        workgroup[1] = y;
        workgroup[2] = z;
        for (const it of fixedTiles) it.place(workgroup, 0, offsets);
        for (const step of hoisted) step(0);
        for (let iteration = 0; iteration < block.forloopRange; iteration++) {
          for (const it of walkedTiles) it.place(workgroup, iteration, offsets);
          for (const step of perIteration) step(iteration);
          accumulate(iteration);
        }
        for (const step of epilogue) step();
        for (const save of savers) save(workgroup);
      }
    }
  }
  unpinAll();
}

interface IteratorPlan {
  readonly k: number;
  readonly walked: boolean;
  readonly view: boolean;
  readonly storageStrides: readonly number[];
  /** Places iterator k's tile for one workgroup and iteration: cut out, or (a view) just its offset. */
  readonly place: (workgroup: readonly number[], iteration: number, offsets: number[]) => void;
}

/**
 * Iterator k's tile for a workgroup and iteration starts, in its storage tensor (layout in
 * src/ugraph/block-io.ts), at workgroup[axis]·(its dim's size / grid[axis]) along each
 * dim the imap maps, plus iteration·(tile size) along the fmap dim: a flat offset linear
 * in the workgroup and the iteration, computed from strides decided here.
 */
function planIterator(block: BlockGraph, k: number, storage: FieldTensor, tile: FieldTensor, view: boolean): IteratorPlan {
  const { imap, fmap } = block.inputs[k]!;
  const storageStrides = stridesOf(storage.shape);
  const axisStride = [0, 0, 0];
  let iterationStride = 0;
  tile.shape.forEach((size, dim) => {
    const axis = axisOfDim(imap, dim);
    if (axis !== undefined) axisStride[axis] = (storage.shape[dim]! / block.grid[axis]!) * storageStrides[dim]!;
    if (fmap === dim) iterationStride = size * storageStrides[dim]!;
  });
  const offsetOf = (workgroup: readonly number[], iteration: number) =>
    workgroup[0]! * axisStride[0]! + workgroup[1]! * axisStride[1]! + workgroup[2]! * axisStride[2]! + iteration * iterationStride;
  const walked = fmap !== null;
  if (view) {
    return { k, walked, view, storageStrides, place: (workgroup, iteration, offsets) => { offsets[k] = offsetOf(workgroup, iteration); } };
  }
  const copy = blockCopier(storage.shape, tile.shape, tile.shape);
  const lanes = ([[storage.p, tile.p], [storage.q, tile.q]] as const).filter(([, t]) => t !== undefined) as [Float64Array, Float64Array][];
  return {
    k, walked, view, storageStrides,
    place: (workgroup, iteration) => {
      const from = offsetOf(workgroup, iteration);
      for (const [source, target] of lanes) copy(source, from, target, 0);
    },
  };
}

/**
 * The accumulators' step of one iteration, prepared: maxRescale maxima first (into
 * `next`), then every other accumulator folds its term in (rescaled from the old max),
 * then the maxima are committed.
 */
function prepareAccumulators(accumulators: readonly Accumulator[], values: readonly FieldTensor[], ctx: EvalContext): (iteration: number) => void {
  const words = ctx.keys.words.max;
  const maxima = accumulators.filter((a) => a.spec.kind === 'maxRescale').map((a) => {
    const m = values[a.spec.inputs[0]!]!;
    const next = a.next!;
    return (iteration: number) => {
      if (iteration === 0) copyLanes(m, next);
      else maxLanes(words, a.state.q ?? a.state.p!, m.q ?? m.p!, next.p, next.q); // hashed lanes: lanes.ts maxHashLane
    };
  });
  const folds = accumulators.filter((a) => a.spec.kind !== 'maxRescale' && !a.fused).map((a) => {
    const x = values[a.spec.inputs[0]!]!;
    const state = a.state;
    let termOf = (_iteration: number): FieldTensor => x;
    let rescaleState: ((iteration: number) => void) | undefined;
    if (a.spec.rescaleBy !== undefined) {
      const rescale = accumulators.find((r) => r.id === a.spec.rescaleBy)!;
      const m = values[rescale.spec.inputs[0]!]!;
      const scratch = a.scratch!;
      const term = a.term!;
      const difference = binaryKernel('sub', m.shape, m.shape, m.shape, Q);
      const weigh = binaryKernel('mul', x.shape, m.shape, x.shape, P);
      const scale = binaryKernel('mul', state.shape, m.shape, state.shape, P);
      // exp(a - b) in the p-lane from the q-lanes of a and b.
      const expOfDifference = (aq: Float64Array, bq: Float64Array, out: Float64Array) => {
        difference(aq, bq, scratch.difference);
        expLane(scratch.difference, out);
      };
      const rows = numel(m.shape);
      const last = x.shape[x.shape.length - 1] ?? 1;
      const byRow = m.shape.length === x.shape.length && m.shape[m.shape.length - 1] === 1 && rows * last === numel(x.shape);
      const reducedState = a.spec.kind === 'sumLastDim' && numel(state.shape) === rows;
      if (byRow && !state.q && (reducedState || (a.spec.kind === 'sum' && numel(state.shape) === numel(x.shape)))) {
        // One weight per row: A = A·exp(M - M') + x·exp(m - M') in one pass, and a last-dim
        // sum reduced before it is weighted (Σ_j x_j·w = w·Σ_j x_j: the same residue).
        const reduced = scratch.reduced.p!;
        return (iteration: number) => {
          expOfDifference(m.q!, rescale.next!.q!, scratch.weight);
          let term = x.p!;
          if (reducedState) {
            sumLane(x.p!, x.shape, x.shape.length - 1, reduced, P);
            term = reduced;
          }
          if (iteration > 0) expOfDifference(rescale.state.q!, rescale.next!.q!, scratch.oldScale);
          rescaledFold(state.p!, scratch.oldScale, term, scratch.weight, rows, reducedState ? 1 : last, iteration === 0);
        };
      }
      termOf = () => {
        expOfDifference(m.q!, rescale.next!.q!, scratch.weight);
        weigh(x.p!, scratch.weight, term.p!);
        return term;
      };
      rescaleState = () => {
        expOfDifference(rescale.state.q!, rescale.next!.q!, scratch.oldScale);
        scale(state.p!, scratch.oldScale, state.p!);
      };
    }
    if (a.spec.kind === 'sumLastDim') {
      const reduced = a.scratch!.reduced;
      const unreduced = termOf;
      termOf = (iteration) => {
        const term = unreduced(iteration);
        if (reduced.p) sumLane(term.p!, term.shape, term.shape.length - 1, reduced.p, P);
        if (reduced.q) sumLane(term.q!, term.shape, term.shape.length - 1, reduced.q, Q);
        return reduced;
      };
    }
    const termShape = a.spec.kind === 'sumLastDim' ? state.shape : x.shape;
    const addP = binaryKernel('add', state.shape, termShape, state.shape, P);
    const addQ = binaryKernel('add', state.shape, termShape, state.shape, Q);
    return (iteration: number) => {
      const term = termOf(iteration);
      if (iteration === 0) {
        copyLanes(term, state);
        return;
      }
      if (rescaleState) rescaleState(iteration);
      if (state.p) addP(state.p, term.p!, state.p);
      if (state.q) addQ(state.q, term.q!, state.q);
    };
  });
  const commits = accumulators.filter((a) => a.spec.kind === 'maxRescale').map((a) => () => copyLanes(a.next!, a.state));
  return (iteration) => {
    for (const step of maxima) step(iteration);
    for (const step of folds) step(iteration);
    for (const step of commits) step();
  };
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
