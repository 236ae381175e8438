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
import { GRID_AXES, type GridMap } from '../ugraph/grid.js';
import { KernelGraph, type KernelGraphJSON, type KernelNodeJSON } from '../ugraph/kernel-graph.js';
import { targetProblems } from '../ugraph/target-check.js';
import type { TargetProfile } from '../ugraph/target.js';
import { DEFAULT_THREAD_CONFIG } from '../ugraph/thread-config.js';
import { type AbstractValue, describeValue, repeatValue, termsOf } from './abstract-value.js';
import type { Expr } from './expr.js';
import { type BlockCounters, BlockSearch, type BlockState, type KernelPlan, type StorageTensor } from './block-search.js';
import { kernelPlans, type PlanContext } from './kernel-plans.js';
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
}

/**
 * Thread configs a complete candidate is tried with, in order, during the search (the
 * thread level never changes the function, only whether the kernel fits the target):
 * the default, then operands streamed from storage (no staging in workgroup memory).
 * The chosen μGraph's configs are set afterwards by thread-rules.ts.
 */
const SEARCH_THREAD_CONFIGS = [DEFAULT_THREAD_CONFIG, { ...DEFAULT_THREAD_CONFIG, streamOperands: true as const }];

/** Partial graphs explored past which no extra deepening round starts. */
const EXTRA_ROUND_EXPLORED = 20_000;

export const DEFAULT_GENERATOR_LIMITS: GeneratorLimits = Object.freeze({ maxKernels: 3, maxBlockOps: 11, maxKernelInputs: 6, maxSavers: 3, extraRounds: 1 });

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
      const before = this.ctx.counters.complete;
      this.kernelLevel(onCandidate);
      if (firstFound === undefined && this.ctx.counters.complete > before) firstFound = this.maxOps;
      // Rounds after the first that completes a graph only add operators; one more round is
      // searched (a form one operator longer can be cheaper: a loop with its accumulators), then stop.
      // The extra rounds run only while the search is small (a count, not a clock, so that the
      // result is the same on every machine).
      const cheap = this.ctx.counters.explored < EXTRA_ROUND_EXPLORED;
      if (firstFound !== undefined && (this.maxOps >= firstFound + this.ctx.limits.extraRounds || !cheap)) return true;
    }
    return !this.stopped && performance.now() <= this.ctx.deadline;
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
    for (const inputs of inputSets(storage, this.ctx.limits.maxKernelInputs)) {
      if (previous && !inputs.some((t) => previous.outputs.includes(t))) continue;
      for (const plan of kernelPlans(inputs, this.ctx.plans)) {
        if (this.stopped || performance.now() > this.ctx.deadline) { this.stopped = true; return; }
        const search = new BlockSearch(plan, this.ctx.menu, this.ctx.guide, this.ctx.oracle, Math.min(this.ctx.limits.maxBlockOps, this.maxOps - this.spent()), this.ctx.limits.maxSavers, this.ctx.counters, this.ctx.deadline, this.ctx.onTick);
        if (!search.run((state) => this.close(state, onCandidate))) { this.stopped = true; return; }
      }
    }
  }

  /** Offered every block state: closes it as a kernel when it can; returns false to stop. */
  private close(state: BlockState, onCandidate: CandidateCallback): boolean {
    if (this.stopped) return false;
    const sinks = state.nodes.flatMap((n, id) => (n.uses === 0 && n.info.phase !== 'const' ? [id] : []));
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
      const match = remaining.find((i) => !produces.has(i) && this.ctx.oracle.equalsTarget(value, i));
      const shape = node.info.shape.map((size, d) => size * (omap.includes(d) ? state.plan.grid[omap.indexOf(d)]! : 1));
      const dtype = match === undefined ? 'f32' : this.ctx.program.outputs[match]!.tensor.dtype;
      if (match !== undefined) produces.set(match, firstId + k);
      outputs.push({ id: firstId + k, shape, dtype, labels: node.labels, value });
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
    const worthSaving = (v: AbstractValue) => hasReduction(v) && this.ctx.guide.isProgramValue(v) && !this.ctx.guide.continuesElementwise(v)
      && !termsOf(v).every((e) => known.has(e));
    if (outputs.some((t) => ![...produces.values()].includes(t.id) && !worthSaving(t.value))) return true;
    const intermediates = outputs.filter((t) => ![...produces.values()].includes(t.id));
    if (intermediates.length > 0 && !this.isNewPrefix(outputs)) return true;
    this.kernels.push({ node, outputs, produces, weight: state.used });
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
  private isNewPrefix(outputs: readonly StorageTensor[]): boolean {
    const tensors = [...this.kernels.flatMap((k) => k.outputs), ...outputs];
    const key = JSON.stringify([this.maxOps, ...tensors.map((t) => [describeValue(t.value), t.shape, t.labels])]);
    if (this.prefixes.has(key)) return false;
    this.prefixes.add(key);
    return true;
  }

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
    let graph: KernelGraph | undefined;
    for (const thread of SEARCH_THREAD_CONFIGS) {
      const json: KernelGraphJSON = { schema: 1, inputs, nodes: this.kernels.map((k) => ({ ...k.node, thread })), outputs };
      const candidate = new KernelGraph(json);
      const problems = targetProblems(candidate, this.ctx.target);
      if (problems.length === 0) { graph = candidate; break; }
    }
    if (!graph) { this.ctx.counters.overTarget++; return true; }
    if (!onCandidate(graph)) this.stopped = true;
    return !this.stopped;
  }
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

/** Per grid axis, the dim of a tile with these labels that the axis's workgroups concatenate along. */
function omapOf(plan: KernelPlan, labels: readonly number[]): (number | null)[] | undefined {
  const omap: (number | null)[] = [];
  for (let axis = 0; axis < GRID_AXES.length; axis++) {
    const label = plan.gridLabels[axis];
    if (label === null || label === undefined) { omap.push(null); continue; }
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
