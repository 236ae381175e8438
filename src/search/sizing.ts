/**
 * Sizing: the generator finds structures at one instance of tile sizes (kernel-plans.ts);
 * this re-tiles a structure and keeps the sizes the cost estimate likes best. A block
 * graph's operators do not depend on the sizes: re-tiling changes only each kernel's grid
 * sizes and loop range, keeping every imap, fmap and omap (which dims are split), so the
 * function computed is unchanged. Each variant gets its thread configs from the documented
 * rules (thread-rules.ts) and must fit the target; the verifier checks the chosen μGraph at
 * its final sizes anyway (superoptimize.ts).
 *
 * Variants per kernel: every grid axis in use takes a tile from GRID_TILES (the batch-like
 * axes whose tile is 1 stay so), and the loop a tile from LOOP_TILES, as far as they divide.
 * Kernels are sized one after another (each kernel's best sizes do not depend on the others'),
 * with at least MIN_WORKGROUPS workgroups where the sizes allow.
 */
import { KernelGraph, type KernelGraphJSON, type KernelNodeJSON } from '../ugraph/kernel-graph.js';
import { UGraphError } from '../ugraph/errors.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { estimateCost } from './cost.js';
import { chooseThreadConfig } from './thread-rules.js';

/** Workgroups a kernel should have where its sizes allow: fewer leave the cores of a GPU (or lavapipe's threads) idle. */
export const MIN_WORKGROUPS = 16;

/** Elements per workgroup along a grid-split dim. */
export const GRID_TILES = [4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;
/** Elements per loop iteration along the looped dim. */
export const LOOP_TILES = [16, 32, 64, 128, 256, 512, 1024] as const;

/** The best-costed re-tiling of `graph` (itself, with rule thread configs, if nothing beats it). */
export function sizeGraph(graph: KernelGraph, target: TargetProfile): { graph: KernelGraph; cost: number } {
  let best = withRuleThreads(graph.toJSON(), target);
  if (!best) throw new UGraphError('sizing', 'the searched μGraph does not fit the target with any thread config');
  let bestCost = estimateCost(best, target).score;
  graph.nodes.forEach((node, index) => {
    if (node.op !== 'custom') return;
    const sized = [...kernelVariants(best!, index)].flatMap((variant) => {
      const candidate = withRuleThreads(variant, target);
      return candidate ? [{ graph: candidate, cost: estimateCost(candidate, target).score, workgroups: workgroupsOf(candidate, index) }] : [];
    });
    // The estimate's nominal device is full at 256 lanes, so it does not prefer the many workgroups
    // a real GPU (or lavapipe's threads) needs: where the sizes
    // allow, keep at least MIN_WORKGROUPS (and the current graph competes only if it has them).
    const busy = sized.filter((v) => v.workgroups >= MIN_WORKGROUPS);
    const pool = busy.length > 0 ? busy : sized;
    if (busy.length > 0 && workgroupsOf(best!, index) < MIN_WORKGROUPS) bestCost = Infinity;
    for (const v of pool) if (v.cost < bestCost) { best = v.graph; bestCost = v.cost; }
  });
  bestCost = estimateCost(best, target).score;
  return { graph: best, cost: bestCost };
}

function workgroupsOf(graph: KernelGraph, index: number): number {
  const node = graph.nodes[index]!;
  return node.op === 'custom' ? node.block.grid[0] * node.block.grid[1] * node.block.grid[2] : 1;
}

/** Re-tilings of custom kernel `index` (grid sizes and loop range), as kernel-graph JSON. */
function* kernelVariants(graph: KernelGraph, index: number): Generator<KernelGraphJSON> {
  const node = graph.nodes[index]!;
  if (node.op !== 'custom') return;
  const { block } = node;
  const shapes = node.inputs.map((id) => graph.tensors[id]!.shape);
  // The full size of the dim each grid axis splits, and of the looped dim.
  const axisSize = [0, 1, 2].map((axis) => {
    if (block.grid[axis] === 1) return undefined;
    const k = block.inputs.findIndex((it) => it.imap[axis] !== null);
    if (k >= 0) return shapes[k]![block.inputs[k]!.imap[axis]!]!;
    const saver = block.outputs[0]!;
    return block.tensors[saver.tensor]!.shape[saver.omap[axis]!]! * block.grid[axis]!;
  });
  const looped = block.inputs.findIndex((it) => it.fmap !== null);
  const loopSize = looped < 0 ? undefined : block.tensors[looped]!.shape[block.inputs[looped]!.fmap!]! * block.forloopRange;
  const axisChoices = axisSize.map((n, axis) => {
    if (n === undefined) return [1];
    if (n / block.grid[axis]! === 1) return [block.grid[axis]!]; // one entry per workgroup (batch-like)
    return GRID_TILES.filter((t) => n % t === 0 && n / t > 1).map((t) => n / t);
  });
  const loopChoices = loopSize === undefined ? [1] : LOOP_TILES.filter((t) => loopSize % t === 0 && loopSize / t > 1).map((t) => loopSize / t);
  const json = graph.toJSON();
  for (const x of axisChoices[0]!) for (const y of axisChoices[1]!) for (const z of axisChoices[2]!) for (const range of loopChoices) {
    const nodes = json.nodes.map((n, i): KernelNodeJSON => (i !== index || n.op !== 'custom' ? n : {
      ...n, block: { ...n.block, grid: [x, y, z], forloopRange: range },
    }));
    yield { ...json, nodes };
  }
}

/** The graph with every custom kernel's thread config from the rules; undefined if it is invalid or over the target. */
function withRuleThreads(json: KernelGraphJSON, target: TargetProfile): KernelGraph | undefined {
  let graph: KernelGraph;
  try {
    graph = new KernelGraph(json);
    const nodes = graph.nodes.map((n, i): KernelNodeJSON => (n.op !== 'custom' ? json.nodes[i]! : { op: 'custom', inputs: n.inputs, block: n.block.toJSON(), thread: chooseThreadConfig(n.block, target) }));
    graph = new KernelGraph({ ...json, nodes });
  } catch (error) {
    if (error instanceof UGraphError) return undefined;
    throw error;
  }
  return targetProblems(graph, target).length === 0 ? graph : undefined;
}
