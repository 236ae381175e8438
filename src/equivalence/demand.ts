/**
 * Demand analysis for screening (screen.ts): which elements of every tensor of a μGraph,
 * and which workgroups of every custom kernel, the chosen output elements depend on.
 *
 * A demand is a product set, one index set per dimension (undefined: every index), an
 * over-approximation: computing more than needed is harmless, computing less is not, so
 * every rule below keeps at least the true dependencies:
 *   - a custom kernel runs the workgroups whose saved tiles hold a demanded element
 *     (per grid axis, the blocks of its omap dimension), and they read their whole tiles
 *     across every loop iteration;
 *   - matmul needs whole rows of A and whole columns of B; elementwise operators the same
 *     indices (0 along a broadcast dimension); a reduction its whole reduced dimension;
 *     transpose the permuted indices; reshape and concat everything.
 */
import type { Shape } from '../ir/shape.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import type { WorkgroupFilter } from './block-eval.js';

export type IndexSet = ReadonlySet<number> | undefined;
/** Per dimension the indices demanded; undefined as a whole: nothing demanded. */
export type Demand = readonly IndexSet[] | undefined;

export interface DemandPlan {
  /** Per kernel-level tensor id. */
  readonly tensors: readonly Demand[];
  /** Per custom-kernel node index, the workgroups to run. */
  readonly workgroups: ReadonlyMap<number, WorkgroupFilter>;
}

function unionSet(a: IndexSet, b: IndexSet): IndexSet {
  if (a === undefined || b === undefined) return undefined;
  return new Set([...a, ...b]);
}

export function unionDemand(a: Demand, b: Demand): Demand {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.map((s, d) => unionSet(s, b[d]));
}

const all = (rank: number): Demand => new Array<IndexSet>(rank).fill(undefined);

/** The demand on an operand of shape `own` broadcast to `outShape` (aligned from the right). */
function broadcastDemand(out: readonly IndexSet[], outShape: Shape, own: Shape): Demand {
  const lead = outShape.length - own.length;
  return own.map((size, d) => (size === 1 && outShape[lead + d] !== 1 ? new Set([0]) : out[lead + d]));
}

export function planDemand(graph: KernelGraph, outputs: readonly Demand[]): DemandPlan {
  const tensors: Demand[] = graph.tensors.map(() => undefined);
  graph.outputs.forEach((o, i) => { tensors[o.tensor] = unionDemand(tensors[o.tensor], outputs[i]); });
  const workgroups = new Map<number, WorkgroupFilter>();
  const demand = (id: number, d: Demand) => { tensors[id] = unionDemand(tensors[id], d); };
  for (let index = graph.nodes.length - 1; index >= 0; index--) {
    const node = graph.nodes[index]!;
    const ids = graph.nodeOutputs[index]!;
    if (ids.every((id) => tensors[id] === undefined)) continue;
    const shapeOf = (id: number) => graph.tensors[id]!.shape;
    const out = tensors[ids[0]!]!;
    const outShape = shapeOf(ids[0]!);
    switch (node.op) {
      case 'custom': {
        const block = node.block;
        const axes: IndexSet[] = block.grid.map((size) => (size === 1 ? new Set([0]) : new Set<number>()));
        block.outputs.forEach((saver, k) => {
          const saved = tensors[ids[k]!];
          if (saved === undefined) return;
          saver.omap.forEach((dim, axis) => {
            if (dim === null || axes[axis] === undefined) return;
            const wanted = saved[dim];
            const tile = block.tensors[saver.tensor]!.shape[dim]!;
            axes[axis] = wanted === undefined ? undefined : unionSet(axes[axis], new Set([...wanted].map((i) => Math.floor(i / tile))));
          });
        });
        workgroups.set(index, axes);
        block.inputs.forEach((it, k) => {
          const shape = block.inputShapes[k]!;
          demand(node.inputs[k]!, shape.map((size, dim) => {
            const axis = it.imap.indexOf(dim);
            const blocks = axis < 0 ? undefined : axes[axis];
            if (blocks === undefined) return undefined;
            const span = size / block.grid[axis]!;
            return new Set([...blocks].flatMap((g) => Array.from({ length: span }, (_, i) => g * span + i)));
          }));
        });
        break;
      }
      case 'matmul': {
        const [a, b] = node.inputs as [number, number];
        const batch = out.slice(0, -2);
        const batchShape = outShape.slice(0, -2);
        demand(a, [...broadcastDemand(batch, batchShape, shapeOf(a).slice(0, -2))!, out.at(-2), undefined]);
        demand(b, [...broadcastDemand(batch, batchShape, shapeOf(b).slice(0, -2))!, undefined, out.at(-1)]);
        break;
      }
      case 'unary':
      case 'binary':
      case 'scale':
        for (const id of node.inputs) demand(id, broadcastDemand(out, outShape, shapeOf(id)));
        break;
      case 'reduce': {
        const rank = shapeOf(node.inputs[0]!).length;
        demand(node.inputs[0]!, Array.from({ length: rank }, (_, d) => (d === node.dim ? undefined : out[node.keepdim || d < node.dim ? d : d - 1])));
        break;
      }
      case 'transpose': {
        const own: IndexSet[] = new Array<IndexSet>(node.perm.length);
        node.perm.forEach((from, i) => { own[from] = out[i]; });
        demand(node.inputs[0]!, own);
        break;
      }
      case 'constant':
        break;
      default: // reshape, concat: everything
        for (const id of node.inputs) demand(id, all(shapeOf(id).length));
    }
  }
  return { tensors, workgroups };
}

/** Calls `visit(flat)` for every element of the product set `demand` over `shape`. */
export function forEachDemanded(shape: Shape, demand: readonly IndexSet[], visit: (flat: number) => void): void {
  const lists = shape.map((size, d) => (demand[d] === undefined ? Array.from({ length: size }, (_, i) => i) : [...demand[d]!].sort((x, y) => x - y)));
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, s) => p * s, 1));
  const walk = (d: number, offset: number) => {
    if (d === shape.length) {
      visit(offset);
      return;
    }
    for (const i of lists[d]!) walk(d + 1, offset + i * strides[d]!);
  };
  walk(0, 0);
}

/**
 * Calls `visit(start, length)` for every run of consecutive elements of the product set
 * `demand` over `shape` (runs along the last dimension), so callers can fill runs at once.
 */
export function forEachDemandedRun(shape: Shape, demand: readonly IndexSet[], visit: (start: number, length: number) => void): void {
  if (shape.length === 0) {
    visit(0, 1);
    return;
  }
  const lastDim = shape.length - 1;
  const last = demand[lastDim] === undefined ? [[0, shape[lastDim]!]] : runsOf([...demand[lastDim]!].sort((x, y) => x - y));
  forEachDemanded(shape.slice(0, lastDim), demand.slice(0, lastDim), (row) => {
    for (const [from, length] of last) visit(row * shape[lastDim]! + from!, length!);
  });
}

function runsOf(sorted: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const i of sorted) {
    const run = runs[runs.length - 1];
    if (run && run[0] + run[1] === i) run[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}
