/**
 * The generator (docs/search.md §4): μGraphs for one program, depth first, kernel level
 * first. The kernel graph is a sequence of custom kernels; for each, the generator picks
 * the storage tensors it reads (program inputs and earlier kernels' outputs), a plan
 * (kernel-plans.ts: grid and loop from dimension labels), and enumerates its block graph
 * (block-search.ts). A block graph closes when every sink (a tensor nothing reads) is
 * post-accumulation and savable; its sinks become the kernel's outputs: the ones equal to
 * a program output (modulo the axioms) are that output, the others feed later kernels.
 * A kernel graph is complete, and handed to the caller, when every program output is
 * produced, every program input and intermediate is read, and it fits the target.
 *
 * Canonical order at the kernel level: every kernel after the first reads an output of
 * the kernel just before it (otherwise two independent kernels would come in both
 * orders). A graph whose independent kernels are all needed by a final kernel is thereby
 * out of reach: a documented limit, as is the absence of pre-defined kernels inside
 * searched graphs (a program the generator cannot express falls back to the per-operator
 * lowering as a whole; partitioning is not built yet).
 */
import type { Program } from '../frontend/program.js';
import type { BlockGraphSpec } from '../ugraph/block-graph.js';
import type { BlockOpSpec } from '../ugraph/block-ops.js';
import { GRID_AXES, type GridMap } from '../ugraph/grid.js';
import { KernelGraph, type KernelGraphJSON, type KernelNodeJSON } from '../ugraph/kernel-graph.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { DEFAULT_THREAD_CONFIG } from '../ugraph/thread-config.js';
import { type AbstractValue, describeValue, repeatValue, termsOf } from './abstract-value.js';
import type { Expr } from './expr.js';
import { type BlockCounters, type BlockNode, BlockSearch, type BlockState, type KernelPlan, searchKey, stateFor, type StorageTensor } from './block-search.js';
import { kernelPlans, type PlanContext, shrunkTiles } from './kernel-plans.js';
import { isSplitLabel } from './labels.js';
import { combineBudget, savedParts } from './split-kv.js';
import type { OpMenu } from './op-menu.js';
import type { ProgramGuide } from './program-guide.js';
import type { SubexpressionOracle } from './subexpr.js';

export interface GeneratorLimits {
  /** Custom kernels per μGraph. */
  readonly maxKernels: number;
  /** Operators per block graph (constants included, input iterators not). */
  readonly maxBlockOps: number;
  /** Storage tensors one kernel reads. */
  readonly maxKernelInputs: number;
  /** Outputs (savers) per kernel. */
  readonly maxSavers: number;
  /** Deepening rounds (of the whole μGraph's operator budget) searched after the first that completes one. */
  readonly extraRounds: number;
  /**
   * Partial block graphs explored (counters.explored) past which the generator stops: a
   * limit on work, not time, so that a program and its limits give the same μGraph on
   * every machine. Sized so that every benchmark finishes its rounds well under it.
   */
  readonly maxExplored: number;
}

/** Why the generator stopped: its rounds done, the work or time limit, or the caller said stop. */
export type GeneratorStop = 'exhausted' | 'work-limit' | 'time-limit' | 'caller';

/**
 * Thread configs a complete candidate is tried with, in order, during the search (the
 * thread level never changes the function, only whether the kernel fits the target):
 * the default, then operands streamed from storage (no staging in workgroup memory).
 * The chosen μGraph's configs are set afterwards by thread-rules.ts.
 */
const SEARCH_THREAD_CONFIGS = [DEFAULT_THREAD_CONFIG, { ...DEFAULT_THREAD_CONFIG, streamOperands: true as const }];

/**
 * Tile shrink factors a complete candidate is tried with when the search instance's tiles
 * do not fit the target (workgroup memory): smaller tiles compute the same function, and
 * sizing.ts picks the final sizes anyway. Online softmax over a 64-wide head, for one,
 * fits 16 KiB only below the search instance's 32x32 tiles.
 */
const SEARCH_TILE_SHRINKS = [1, 2, 4];

/**
 * What a kernel boundary costs in the deepening rounds, in operators: a kernel after the
 * first is charged this much on top of its block graph (a combine kernel nothing, see
 * split-kv.ts). Fused forms come first, as they should (each boundary stores and reloads an
 * intermediate), and the multi-kernel enumeration, most of the work, starts later. The value
 * is a judgment, not a measurement: one boundary weighs as much as a load and a store.
 */
const KERNEL_BOUNDARY_OPS = 2;

export const DEFAULT_GENERATOR_LIMITS: GeneratorLimits = Object.freeze({
  maxKernels: 3, maxBlockOps: 11, maxKernelInputs: 6, maxSavers: 3, extraRounds: 1, maxExplored: 1_000_000,
});

export interface GeneratorCounters extends BlockCounters {
  /** Complete μGraphs produced. */
  complete: number;
  /** Complete μGraphs that did not fit the target (workgroup memory, limits). */
  overTarget: number;
}

/** Called with each complete μGraph; returns false to stop. */
export type CandidateCallback = (graph: KernelGraph) => boolean;

interface BuiltKernel {
  readonly node: KernelNodeJSON;
  /** Storage tensors it adds (its savers, in order). */
  readonly outputs: readonly StorageTensor[];
  /** Program outputs it produces: output index -> storage tensor id. */
  readonly produces: ReadonlyMap<number, number>;
  /** Budget its block graph spent. */
  readonly weight: number;
  /** How its workgroups and loop divide the work (to shrink its tiles at the end). */
  readonly plan: KernelPlan;
}

export interface GeneratorContext {
  readonly program: Program;
  readonly target: TargetProfile;
  readonly oracle: SubexpressionOracle;
  readonly menu: OpMenu;
  readonly guide: ProgramGuide;
  readonly plans: PlanContext;
  /** The program's inputs as storage tensors (ids 0..n-1). */
  readonly inputs: readonly StorageTensor[];
  readonly limits: GeneratorLimits;
  readonly counters: GeneratorCounters;
  /** Called now and then while generating (progress). */
  readonly onTick?: () => void;
  /** performance.now() past which the generator stops. */
  readonly deadline: number;
}

export class Generator {
  private readonly kernels: BuiltKernel[] = [];
  private readonly prefixes = new Set<string>();
  private stopped = false;
  private stop: GeneratorStop = 'exhausted';

  /** Why run() returned (superoptimize reports 'work-limit' from here). */
  get stopReason(): GeneratorStop {
    return this.stop;
  }

  constructor(private readonly ctx: GeneratorContext) {}

  /** The block-graph operator budget of the current deepening round. */
  private maxOps = 0;

  /**
   * Runs to exhaustion, the deadline, or until `onCandidate` says stop; true if exhausted.
   * Iterative deepening on the block operator budget: small graphs (the cheap, fused ones)
   * come first, and a time limit cuts the search in a round of larger graphs, not in a
   * corner of the space that a deep first branch happened to reach. Graphs reached again
   * in a later round are the caller's to skip (by hash).
   */
  run(onCandidate: CandidateCallback): boolean {
    let firstFound: number | undefined;
    const total = this.ctx.limits.maxBlockOps * this.ctx.limits.maxKernels;
    for (this.maxOps = 1; this.maxOps <= total && !this.stopped; this.maxOps++) {
      // Only a μGraph that fits the target counts as found: one fused kernel whose tiles need
      // more workgroup memory than the target has must not end the search before the
      // multi-kernel forms that fit (measured: a gated MLP with two biases, 71,680 bytes).
      const fitting = () => this.ctx.counters.complete - this.ctx.counters.overTarget;
      const before = fitting();
      this.kernelLevel(onCandidate);
      if (firstFound === undefined && fitting() > before) firstFound = this.maxOps;
      // Rounds after the first that completes a graph only add operators; `extraRounds` more
      // are searched (a form one operator longer can be cheaper, or the only correct one: a
      // loop with its accumulators, online softmax's rescaled sums), then stop.
      if (firstFound !== undefined && this.maxOps >= firstFound + this.ctx.limits.extraRounds) return !this.stopped;
    }
    return !this.stopped;
  }

  /** Whether to stop now: the caller, the work limit, or the deadline (the last resort). */
  private shouldStop(): boolean {
    if (this.stopped) return true;
    if (this.ctx.counters.explored > this.ctx.limits.maxExplored) this.stop = 'work-limit';
    else if (performance.now() > this.ctx.deadline) this.stop = 'time-limit';
    else return false;
    this.stopped = true;
    return true;
  }

  /** Budget spent by the kernels so far (the round's budget is for the whole μGraph). */
  private spent(): number {
    return this.kernels.reduce((n, k) => n + k.weight, 0);
  }

  private storage(): StorageTensor[] {
    return [...this.ctx.inputs, ...this.kernels.flatMap((k) => k.outputs)];
  }

  private kernelLevel(onCandidate: CandidateCallback): void {
    const storage = this.storage();
    const previous = this.kernels[this.kernels.length - 1];
    // After a split kernel comes its combine kernel: it reads the parts and loops over them.
    const combine = previous !== undefined && previous.plan.splitAxis !== null;
    const sets = combine ? [[...previous.outputs]] : inputSets(storage, this.ctx.limits.maxKernelInputs);
    for (const inputs of sets) {
      if (previous && !inputs.some((t) => previous.outputs.includes(t))) continue;
      const plans = kernelPlans(inputs, this.ctx.plans).filter((p) => !combine || (p.loopLabel !== null && isSplitLabel(p.loopLabel)));
      for (const group of searchGroups(plans, this.ctx.plans.reduced)) {
        if (this.shouldStop()) return;
        const boundary = this.kernels.length > 0 ? KERNEL_BOUNDARY_OPS : 0;
        const budget = combine ? combineBudget(inputs.length) : Math.min(this.ctx.limits.maxBlockOps, this.maxOps - this.spent() - boundary);
        if (budget <= 0) return;
        const search = new BlockSearch(group[0]!, this.ctx.menu, this.ctx.guide, this.ctx.oracle, budget, this.ctx.limits.maxSavers, this.ctx.counters, () => this.shouldStop(), this.ctx.onTick);
        search.run((state) => this.closeEach(state, group, onCandidate));
        if (this.stopped) return;
      }
    }
  }

  /**
   * Offered every block state of a search shared by a group of plans: when its sinks could
   * close a kernel at all (a test that does not depend on the plan), closes it under each plan.
   */
  private closeEach(state: BlockState, group: readonly KernelPlan[], onCandidate: CandidateCallback): boolean {
    if (this.stopped) return false;
    let sinks = 0;
    for (const n of state.nodes) {
      if (n.uses !== 0 || n.info.phase === 'const') continue;
      if (n.info.phase !== 'post') return true;
      sinks++;
    }
    if (sinks === 0 || sinks > this.ctx.limits.maxSavers) return true;
    for (const plan of group) if (!this.close(stateFor(state, plan), onCandidate)) return false;
    return true;
  }

  /** Offered every block state: closes it as a kernel when it can; returns false to stop. */
  private close(state: BlockState, onCandidate: CandidateCallback): boolean {
    if (this.stopped) return false;
    const split = state.plan.splitAxis !== null;
    // A split kernel also saves its running maxes: the combine kernel rescales each part by them.
    const sinks = state.nodes.flatMap((n, id) => ((n.uses === 0 && n.info.phase !== 'const') || (split && isRunningMax(n)) ? [id] : []));
    if (sinks.length === 0 || sinks.length > this.ctx.limits.maxSavers) return true;
    if (sinks.some((id) => state.nodes[id]!.info.phase !== 'post')) return true;
    const omaps = sinks.map((id) => omapOf(state.plan, state.nodes[id]!.labels));
    if (omaps.some((m) => m === undefined)) return true;
    const produced = new Set(this.kernels.flatMap((k) => [...k.produces.keys()]));
    const remaining = this.ctx.program.outputs.map((_, i) => i).filter((i) => !produced.has(i));
    const firstId = this.storage().length;
    const produces = new Map<number, number>();
    const outputs: StorageTensor[] = [];
    const savers = sinks.map((id, k) => {
      const node = state.nodes[id]!;
      const omap = omaps[k]!;
      let value = node.value;
      omap.forEach((dim, axis) => { if (dim !== null) value = repeatValue(value, node.info.shape.length - 1 - dim, state.plan.grid[axis]!); });
      // A split kernel's results are parts, never a program output.
      const match = split ? undefined : remaining.find((i) => !produces.has(i) && this.ctx.oracle.equalsTarget(value, i));
      const shape = node.info.shape.map((size, d) => size * (omap.includes(d) ? state.plan.grid[omap.indexOf(d)]! : 1));
      const dtype = match === undefined ? 'f32' : this.ctx.program.outputs[match]!.tensor.dtype;
      if (match !== undefined) produces.set(match, firstId + k);
      outputs.push(split ? savedParts(firstId + k, shape, node.labels, value, state.plan) : { id: firstId + k, shape, dtype, labels: node.labels, value });
      return { tensor: id, omap, dtype };
    });
    const node: KernelNodeJSON = {
      op: 'custom',
      inputs: state.plan.inputs.map((t) => t.id),
      block: blockSpec(state, savers),
      thread: DEFAULT_THREAD_CONFIG,
    };
    // An intermediate is worth a kernel boundary only as a program value that needs a
    // reduction (a full row sum, say): anything elementwise fuses into its consumer instead.
    const known = new Set(this.storage().flatMap((t) => termsOf(t.value)));
    // A split kernel's parts are no program value (a sum over part of a label): any reduction is.
    const worthSaving = (v: AbstractValue) => hasReduction(v) && (split || this.ctx.guide.isProgramValue(v)) && !this.ctx.guide.continuesElementwise(v)
      && !termsOf(v).every((e) => known.has(e));
    if (outputs.some((t) => ![...produces.values()].includes(t.id) && !worthSaving(t.value))) return true;
    const intermediates = outputs.filter((t) => ![...produces.values()].includes(t.id));
    if (intermediates.length > 0 && !this.isNewPrefix(outputs, state.ops)) return true;
    // A combine kernel is not charged to the round: its budget is its own (combineBudget).
    const combining = this.kernels[this.kernels.length - 1]?.plan.splitAxis != null;
    const weight = combining ? 0 : state.used + (this.kernels.length > 0 ? KERNEL_BOUNDARY_OPS : 0);
    this.kernels.push({ node, outputs, produces, weight, plan: state.plan });
    try {
      const done = remaining.every((i) => produces.has(i));
      if (done) return this.complete(onCandidate);
      if (this.kernels.length < this.ctx.limits.maxKernels && produces.size < outputs.length) this.kernelLevel(onCandidate);
      return !this.stopped;
    } finally {
      this.kernels.pop();
    }
  }

  /**
   * Whether the kernels so far plus one making `outputs` were not already continued in this
   * round: the next kernels see only the storage tensors (values, shapes, labels), so a second
   * plan reaching the same ones would repeat the same continuations. The first plan stands
   * for all of them (sizing.ts re-tiles the chosen μGraph anyway).
   */
  private isNewPrefix(outputs: readonly StorageTensor[], ops: readonly BlockOpSpec[]): boolean {
    const tensors = [...this.kernels.flatMap((k) => k.outputs), ...outputs];
    // Rescaled accumulators count too: a sum rescaled by its running max and one that is not
    // have the same abstract value (docs/search.md §1.2), and only the verifier tells them apart.
    const rescaled = [...this.kernels.map((k) => (k.node.op === 'custom' ? k.node.block.ops : [])), ops].map(rescaledCount);
    const key = JSON.stringify([this.maxOps, rescaled, ...tensors.map((t) => [describeValue(t.value), t.shape, t.labels])]);
    if (this.prefixes.has(key)) return false;
    this.prefixes.add(key);
    return true;
  }

  /** The kernels as a μGraph that fits the target: the search instance, or smaller tiles, with a search thread config. */
  private fittingGraph(inputs: KernelGraphJSON['inputs'], outputs: KernelGraphJSON['outputs']): KernelGraph | undefined {
    let problem: string | undefined;
    for (const factor of SEARCH_TILE_SHRINKS) {
      const nodes = retiled(this.kernels, this.ctx.plans, factor);
      if (!nodes) continue;
      for (const thread of SEARCH_THREAD_CONFIGS) {
        const candidate = new KernelGraph({ schema: 1, inputs, nodes: nodes.map((n) => ({ ...n, thread })), outputs });
        const problems = targetProblems(candidate, this.ctx.target);
        if (problems.length === 0) return candidate;
        problem ??= problems[0]!.message;
      }
    }
    this.firstOverTarget ??= problem;
    return undefined;
  }

  /** Why the first complete μGraph over the target's limits was (the report says it: a user asks why nothing fused). */
  firstOverTarget: string | undefined;

  private complete(onCandidate: CandidateCallback): boolean {
    const read = new Set(this.kernels.flatMap((k) => (k.node as { inputs: readonly number[] }).inputs));
    const outputIds = new Set(this.kernels.flatMap((k) => [...k.produces.values()]));
    const storage = this.storage();
    // Every program input and every intermediate must be read by some kernel.
    if (storage.some((t) => !read.has(t.id) && !outputIds.has(t.id))) return true;
    const produces = new Map(this.kernels.flatMap((k) => [...k.produces]));
    const outputs = this.ctx.program.outputs.map((o, i) => ({ name: o.name, tensor: produces.get(i)! }));
    const inputs = this.ctx.program.inputs.map((t, i) => ({ name: this.ctx.program.inputSpecs[i]!.name, shape: t.shape, dtype: t.dtype }));
    this.ctx.counters.complete++;
    const graph = this.fittingGraph(inputs, outputs);
    if (!graph) { this.ctx.counters.overTarget++; return true; }
    if (!onCandidate(graph)) { this.stopped = true; this.stop = 'caller'; }
    return !this.stopped;
  }
}

/** Plans grouped by the block search they run (searchKey), in the order of their first plan. */
function searchGroups(plans: readonly KernelPlan[], reduced: ReadonlySet<number>): KernelPlan[][] {
  const groups = new Map<string, KernelPlan[]>();
  for (const plan of plans) {
    const key = searchKey(plan, reduced);
    const group = groups.get(key);
    if (group) group.push(plan);
    else groups.set(key, [plan]);
  }
  return [...groups.values()];
}

/** Nodes of the kernels with tiles `factor` times smaller where they shrink (all of them at 1). */
function retiled(kernels: readonly BuiltKernel[], plans: PlanContext, factor: number): KernelNodeJSON[] | undefined {
  let changed = factor === 1;
  const nodes = kernels.map((k) => {
    const shrunk = factor === 1 ? undefined : shrunkTiles(k.plan, plans, factor);
    if (!shrunk || k.node.op !== 'custom') return k.node;
    changed = true;
    return { ...k.node, block: { ...k.node.block, grid: shrunk.grid, forloopRange: shrunk.forloopRange } };
  });
  return changed ? nodes : undefined;
}

function rescaledCount(ops: readonly BlockOpSpec[]): number {
  return ops.filter((op) => op.op === 'accum' && op.rescaleBy !== undefined).length;
}

function isRunningMax(n: BlockNode): boolean {
  return n.info.op?.op === 'accum' && n.info.op.kind === 'maxRescale';
}

function hasReduction(v: AbstractValue): boolean {
  const seen = new Set<Expr>();
  const walk = (e: Expr): boolean => {
    if (seen.has(e)) return false;
    seen.add(e);
    return e.kind === 'sum' || e.kind === 'max' || e.args.some(walk);
  };
  return termsOf(v).some(walk);
}

/**
 * Per grid axis, the dim of a tile with these labels that the axis's workgroups concatenate
 * along. A split kernel's parts go side by side along the last dim, which must then carry
 * neither the split label (it was reduced) nor another axis's label.
 */
function omapOf(plan: KernelPlan, labels: readonly number[]): (number | null)[] | undefined {
  const omap: (number | null)[] = [];
  for (let axis = 0; axis < GRID_AXES.length; axis++) {
    const label = plan.gridLabels[axis];
    if (label === null || label === undefined) { omap.push(null); continue; }
    if (axis === plan.splitAxis) {
      const last = labels.length - 1;
      if (last < 0 || labels.includes(label) || plan.gridLabels.includes(labels[last]!)) return undefined;
      omap.push(last);
      continue;
    }
    const dim = labels.indexOf(label);
    if (dim < 0) return undefined;
    omap.push(dim);
  }
  return omap;
}

function blockSpec(state: BlockState, savers: readonly { tensor: number; omap: readonly (number | null)[]; dtype: 'f16' | 'f32' }[]): BlockGraphSpec {
  return {
    grid: state.plan.grid,
    forloopRange: state.plan.forloopRange,
    inputs: state.plan.iterators.map((it) => ({ imap: it.imap as unknown as GridMap, fmap: it.fmap })),
    ops: [...state.ops],
    outputs: savers.map((s) => ({ tensor: s.tensor, omap: s.omap as unknown as GridMap, dtype: s.dtype })),
  };
}

/** Non-empty sets of storage tensors of at most `max`, larger sets and newer tensors first. */
function inputSets(storage: readonly StorageTensor[], max: number): StorageTensor[][] {
  const out: StorageTensor[][] = [];
  const walk = (start: number, chosen: StorageTensor[]) => {
    if (chosen.length > 0) out.push([...chosen]);
    if (chosen.length === max) return;
    for (let i = start; i < storage.length; i++) walk(i + 1, [...chosen, storage[i]!]);
  };
  walk(0, []);
  const newest = (set: StorageTensor[]) => Math.max(...set.map((t) => t.id));
  return out.sort((a, b) => b.length - a.length || newest(b) - newest(a));
}
