/**
 * The block level of the generator: every block graph of one custom kernel, depth first,
 * one operator at a time (docs/search.md §4). A kernel plan (kernel-plans.ts) fixes the
 * kernel's inputs, grid and loop; this file enumerates what the workgroup computes.
 *
 * Each operator tried must pass, in this order (cheapest first):
 *   1. the canonical order: its key (largest operand id, then kind and attributes) is not
 *      below the previous operator's, so each set of independent operators is produced in
 *      one order only (the greedy smallest-key-first order of any block graph satisfies
 *      this, so nothing is lost);
 *   2. structure: IR validation (shapes, phases: block-ops.ts) and dimension labels
 *      (labels.ts: no adding a tile of rows to a tile of columns);
 *   3. novelty: its abstract value differs from every tensor of the same phase already
 *      there (recomputing a value is never needed);
 *   4. the pruning check: its abstract value is a subexpression of the target's
 *      (subexpr.ts); 'unknown' never prunes.
 * At every state the caller is offered the graph to close (savers); it says whether the
 * search should go on.
 */
import { type AccumKind, type BlockOpSpec, type BlockTensorInfo, parseBlockOp } from '../ugraph/block-ops.js';
import { UGraphError } from '../ugraph/errors.js';
import { broadcastShapes } from '../ir/shape.js';
import { type Grid } from '../ugraph/grid.js';
import { type AbstractValue, describeValue } from './abstract-value.js';
import { blockOpValue, tileValue } from './abstract-ugraph.js';
import type { Expr } from './expr.js';
import { joinLabels, type Labels, UNIT } from './labels.js';
import type { OpMenu } from './op-menu.js';
import type { ProgramGuide } from './program-guide.js';
import type { SubexpressionOracle } from './subexpr.js';

/** A storage tensor the generator can feed to a kernel: a program input or an earlier kernel's output. */
export interface StorageTensor {
  /** Kernel-graph tensor id. */
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: 'f16' | 'f32';
  readonly labels: Labels;
  readonly value: AbstractValue;
  /**
   * Partial results of a split reduction (a split-KV kernel's outputs): dim `dim`, labelled
   * splitLabel(R), holds `parts` results side by side, each with label `inner` along it.
   */
  readonly split?: { readonly dim: number; readonly inner: number; readonly parts: number };
}

/** What a custom kernel reads and how its workgroups and loop divide the work. */
export interface KernelPlan {
  readonly inputs: readonly StorageTensor[];
  readonly grid: Grid;
  /** The label each grid axis splits (null for axes of size 1). */
  readonly gridLabels: readonly (number | null)[];
  /** The label the loop walks, or null. */
  readonly loopLabel: number | null;
  /** The grid axis that splits the loop's (reduced) label into parts: a split-KV kernel; null otherwise. */
  readonly splitAxis: number | null;
  readonly forloopRange: number;
  readonly iterators: readonly { readonly imap: readonly (number | null)[]; readonly fmap: number | null }[];
}

/** One block tensor as the search tracks it. */
export interface BlockNode {
  readonly info: BlockTensorInfo;
  readonly labels: Labels;
  readonly value: AbstractValue;
  /** Depends on the loop iteration (an iterator walking the loop feeds it, not through an accumulator). */
  readonly loopDependent: boolean;
  /** Readers so far (ops whose operand it is). */
  uses: number;
}

/** The block graph being built: read-only to the closing callback. */
export interface BlockState {
  readonly plan: KernelPlan;
  readonly nodes: readonly BlockNode[];
  readonly ops: readonly BlockOpSpec[];
  /** Budget spent (weightOf its operators). */
  readonly used: number;
}

export interface BlockCounters {
  /** Operators tried (every candidate considered). */
  tried: number;
  /** Rejected by the pruning check ('no'). */
  prunedByExpression: number;
  /** Rejected by IR validation, dimension labels or novelty. */
  prunedByStructure: number;
  /** Rejected by the program guide (program-guide.ts). */
  prunedByGuide: number;
  /** Partial block graphs reached. */
  explored: number;
}

/** Returns false to stop the whole search. */
export type CloseCallback = (state: BlockState) => boolean;

interface Candidate {
  readonly key: readonly number[];
  /** The ops to append (a binary op with a constant appends the constant first). */
  readonly ops: readonly BlockOpSpec[];
}

export class BlockSearch {
  private readonly nodes: BlockNode[] = [];
  private readonly ops: BlockOpSpec[] = [];
  private readonly infos: BlockTensorInfo[] = [];
  private readonly values: AbstractValue[] = [];
  private stopped = false;
  /** Budget spent: operators that cost work (weightOf). */
  private used = 0;

  constructor(
    private readonly plan: KernelPlan,
    private readonly menu: OpMenu,
    private readonly guide: ProgramGuide,
    private readonly oracle: SubexpressionOracle,
    private readonly maxOps: number,
    private readonly maxSavers: number,
    private readonly counters: BlockCounters,
    /** Asked every 256 partial graphs whether to stop (the generator's work and time limits). */
    private readonly shouldStop: () => boolean,
    /** Called every 256 partial graphs (progress reports). */
    private readonly tick?: () => void,
  ) {}

  /** Runs the enumeration; false when the callback or a limit stopped it. */
  run(close: CloseCallback): boolean {
    const infos = inputTileInfos(this.plan);
    this.plan.inputs.forEach((t, k) => {
      const it = this.plan.iterators[k]!;
      this.push(infos[k]!, tileLabels(t, it.fmap), tileValue(t.value, t.shape.length, it.imap, it.fmap), [], it.fmap !== null);
    });
    this.extend(close, [-1]);
    return !this.stopped;
  }

  private extend(close: CloseCallback, lastKey: readonly number[]): void {
    this.counters.explored++;
    if (!close({ plan: this.plan, nodes: this.nodes, ops: this.ops, used: this.used })) { this.stopped = true; return; }
    if (this.used >= this.maxOps) return;
    if ((this.counters.explored & 255) === 0) {
      this.tick?.();
      if (this.shouldStop()) { this.stopped = true; return; }
    }
    for (const candidate of this.candidates()) {
      if (this.stopped) return;
      if (compareKeys(candidate.key, lastKey) < 0 || this.used + weightOf(candidate.ops) > this.maxOps) continue;
      if (!this.canFinish(candidate.ops)) continue;
      this.counters.tried++;
      const mark = this.nodes.length;
      const weight = weightOf(candidate.ops);
      if (this.tryAppend(candidate.ops)) {
        this.used += weight;
        this.extend(close, candidate.key);
        this.used -= weight;
      }
      this.truncate(mark);
    }
  }

  /**
   * Whether a graph with `ops` appended could still close within the operator budget: every
   * sink beyond the savers needs an operator to consume it, and one operator merges at most
   * two sinks into one. And without a loop, the epilogue is the loop body's last step: every
   * operator can run before the (one-iteration) accumulator, so post-phase operators are
   * not generated there (a canonical form that loses nothing).
   */
  private canFinish(ops: readonly BlockOpSpec[]): boolean {
    const last = ops[ops.length - 1]!;
    if (this.plan.forloopRange === 1) {
      if (last.op === 'accum' && last.kind !== 'sum') return false;
      if (last.op !== 'accum' && last.inputs.some((id) => this.nodes[id]?.info.phase === 'post')) return false;
    }
    const phases = last.inputs.filter((id) => id < this.nodes.length).map((id) => this.nodes[id]!.info.phase);
    if (phases.includes('pre') && phases.includes('post')) return false;
    let sinks = 1;
    for (let id = 0; id < this.nodes.length; id++) {
      const n = this.nodes[id]!;
      if (n.uses === 0 && n.info.phase !== 'const' && !last.inputs.includes(id)) sinks++;
    }
    // Free operators (concatenations) merge sinks too, without budget: allow for two.
    const remaining = this.maxOps - this.used - weightOf(ops) + (this.menu.concat ? 2 : 0);
    return sinks - this.maxSavers <= remaining;
  }

  /** Appends the candidate's ops if every check passes; leaves partial work for truncate(). */
  private tryAppend(ops: readonly BlockOpSpec[]): boolean {
    for (const raw of ops) {
      // Labels and shapes first, without the parser: most candidates fail here, and a parse
      // failure builds an error (message and stack), which cost most of the search's time.
      const labels = this.labelsOf(raw);
      if (labels === undefined || !this.shapesFit(raw)) { this.counters.prunedByStructure++; return false; }
      // Most operators the guide judges by their operands alone: judged before the result's
      // value is built (the guide rejects about half of all candidates).
      const byOperands = !this.guide.needsResult(raw, this.nodes);
      if (byOperands && !this.guide.allows(raw, this.nodes, undefined, this.plan.forloopRange, this.plan.loopLabel)) { this.counters.prunedByGuide++; return false; }
      let parsed: { spec: BlockOpSpec; info: BlockTensorInfo };
      try {
        parsed = parseBlockOp(raw, this.infos, 'search');
      } catch (error) {
        if (!(error instanceof UGraphError)) throw error;
        this.counters.prunedByStructure++;
        return false;
      }
      const value = blockOpValue(parsed.spec, this.plan.forloopRange, this.infos, this.values);
      const loopDependent = parsed.spec.op !== 'accum' && parsed.spec.inputs.some((id) => this.nodes[id]!.loopDependent);
      const node: BlockNode = { info: parsed.info, labels, value, loopDependent, uses: 0 };
      if (parsed.spec.op !== 'constant') {
        // Novelty before the guide: a repeated value is the cheaper test.
        if (this.nodes.some((n) => n.info.phase === parsed.info.phase && sameValue(n.value, value))) { this.counters.prunedByStructure++; return false; }
      }
      if (!byOperands && !this.guide.allows(parsed.spec, this.nodes, node, this.plan.forloopRange, this.plan.loopLabel)) { this.counters.prunedByGuide++; return false; }
      if (parsed.spec.op !== 'constant' && this.oracle.isSubexpression(value) === 'no') { this.counters.prunedByExpression++; return false; }
      this.push(parsed.info, labels, value, readsOf(parsed.spec), loopDependent);
      this.ops.push(parsed.spec);
    }
    return true;
  }

  /**
   * The shape rules the parser would apply to operands (broadcasting, a matmul's inner
   * dims, a concatenation's other dims, an accumulator's phase), checked without building
   * an error; the parser still checks everything.
   */
  private shapesFit(op: BlockOpSpec): boolean {
    const shape = (k: number) => this.infos[op.inputs[k]!]?.shape;
    switch (op.op) {
      case 'binary': return broadcastShapes(shape(0)!, shape(1)!) !== undefined;
      case 'matmul': {
        const [a, b] = [shape(0)!, shape(1)!];
        return a.length >= 2 && b.length >= 2 && a[a.length - 1] === b[b.length - 2] && broadcastShapes(a.slice(0, -2), b.slice(0, -2)) !== undefined;
      }
      case 'concat': {
        const [a, b] = [shape(0)!, shape(1)!];
        return a.length === b.length && a.every((d, i) => i === op.dim || d === b[i]);
      }
      case 'accum': return this.infos[op.inputs[0]!]!.phase === 'pre';
      default: return true;
    }
  }
  private push(info: BlockTensorInfo, labels: Labels, value: AbstractValue, operands: readonly number[], loopDependent: boolean): void {
    for (const id of operands) this.nodes[id]!.uses++;
    this.nodes.push({ info, labels, value, loopDependent, uses: 0 });
    this.infos.push(info);
    this.values.push(value);
  }

  private truncate(length: number): void {
    while (this.nodes.length > length) {
      const op = this.ops.pop()!;
      for (const id of readsOf(op)) this.nodes[id]!.uses--;
      this.nodes.pop();
      this.infos.pop();
      this.values.pop();
    }
  }

  /** Labels of an op's result, or undefined when its operands are indexed inconsistently. */
  private labelsOf(spec: BlockOpSpec): Labels | undefined {
    const ls = spec.inputs.map((id) => this.nodes[id]?.labels);
    switch (spec.op) {
      case 'constant': return [];
      case 'unary':
      case 'scale':
      case 'accum':
        if (spec.op === 'accum' && spec.kind === 'sumLastDim') return [...ls[0]!.slice(0, -1), UNIT];
        return ls[0];
      case 'binary': return ls[1] && joinLabels(ls[0]!, ls[1]);
      case 'reduce': return ls[0]!.map((l, d) => (d === spec.dim ? UNIT : l));
      case 'matmul': {
        const [a, b] = [ls[0]!, ls[1]!];
        if (a[a.length - 1] !== b[b.length - 2]) return undefined;
        const batch = joinLabels(a.slice(0, -2), b.slice(0, -2));
        return batch && [...batch, a[a.length - 2]!, b[b.length - 1]!];
      }
      case 'concat': {
        const [a, b] = [ls[0]!, ls[1]!];
        if (a.some((l, d) => d !== spec.dim && l !== b[d])) return undefined;
        return a.map((l, d) => (d === spec.dim ? this.menu.joinedLabel(l, b[d]!) : l));
      }
    }
  }

  /** Every operator that could come next, with its canonical key. */
  private *candidates(): Generator<Candidate> {
    const n = this.nodes.length;
    const { menu } = this;
    const live = (id: number) => this.nodes[id]!.info.phase !== 'const';
    for (let i = 0; i < n; i++) {
      if (!live(i)) continue;
      const x = this.nodes[i]!;
      for (let f = 0; f < menu.unary.length; f++) yield { key: [i, 0, f], ops: [{ op: 'unary', fn: menu.unary[f]!, inputs: [i] }] };
      for (let c = 0; c < menu.scales.length; c++) yield { key: [i, 3, c], ops: [{ op: 'scale', c: menu.scales[c]!, inputs: [i] }] };
      for (let f = 0; f < menu.binary.length; f++) {
        for (let c = 0; c < menu.constants.length; c++) {
          const fn = menu.binary[f]!;
          const sides = fn === 'sub' || fn === 'div' ? [0, 1] : [0];
          for (const side of sides) yield { key: [i, 2, f, c, side], ops: this.withConstant(fn, i, menu.constants[c]!, side) };
        }
      }
      const rank = x.info.shape.length;
      for (const fn of menu.reduce) {
        for (let d = 0; d < rank; d++) {
          if (x.info.shape[d] === 1 || (d !== rank - 1 && !menu.reducedLabels.has(x.labels[d]!))) continue;
          yield { key: [i, 4, fn === 'sum' ? 0 : 1, d], ops: [{ op: 'reduce', fn, dim: d, keepdim: true, inputs: [i] }] };
        }
      }
      if (x.info.phase === 'pre') yield* this.accumulators(i);
      for (let j = 0; j <= i; j++) {
        if (!live(j)) continue;
        for (let f = 0; f < menu.binary.length; f++) {
          const fn = menu.binary[f]!;
          // x op x is 2x, 0, x² or 1: only x·x can matter, and only without a square in the menu.
          if (j === i && (fn !== 'mul' || menu.unary.includes('square'))) continue;
          yield { key: [i, 1, f, j, 0], ops: [{ op: 'binary', fn, inputs: [j, i] }] };
          if (j !== i && (fn === 'sub' || fn === 'div')) yield { key: [i, 1, f, j, 1], ops: [{ op: 'binary', fn, inputs: [i, j] }] };
        }
        if (menu.matmul) {
          yield { key: [i, 5, j, 0], ops: [{ op: 'matmul', inputs: [j, i] }] };
          if (j !== i) yield { key: [i, 5, j, 1], ops: [{ op: 'matmul', inputs: [i, j] }] };
        }
        if (menu.concat && j !== i) {
          for (const d of [rank - 2, rank - 1]) if (d >= 0) yield { key: [i, 6, j, d], ops: [{ op: 'concat', dim: d, inputs: [j, i] }] };
        }
      }
    }
  }

  private *accumulators(i: number): Generator<Candidate> {
    const x = this.nodes[i]!;
    const kinds: AccumKind[] = ['sum', 'sumLastDim'];
    for (let k = 0; k < kinds.length; k++) {
      yield { key: [i, 7, k, i, -1], ops: [{ op: 'accum', kind: kinds[k]!, inputs: [i] }] };
      for (let id = 0; id < this.nodes.length; id++) {
        const m = this.nodes[id]!;
        // The running max is an operand too: the key leads with the larger id (a combine
        // kernel rescales an input tile by a running max computed after it).
        if (m.info.op?.op === 'accum' && m.info.op.kind === 'maxRescale') {
          yield { key: [Math.max(i, id), 7, k, i, id], ops: [{ op: 'accum', kind: kinds[k]!, inputs: [i], rescaleBy: id }] };
        }
      }
    }
    // A running max follows a max: one computed here, or an input tile of saved maxes (a combine kernel).
    const isMax = x.info.op === undefined ? x.value.kind === 'term' && x.value.expr.kind === 'max' : x.info.op.op === 'reduce' && x.info.op.fn === 'max';
    if (isMax) yield { key: [i, 7, 2, i, -1], ops: [{ op: 'accum', kind: 'maxRescale', inputs: [i] }] };
  }

  /** `x fn c` (side 0) or `c fn x` (side 1), reusing the block's constant node of value c if there is one. */
  private withConstant(fn: string, x: number, c: number, side: number): BlockOpSpec[] {
    const existing = this.ops.findIndex((op) => op.op === 'constant' && op.value === c);
    const id = existing >= 0 ? this.plan.inputs.length + existing : this.nodes.length;
    const binary = { op: 'binary', fn, inputs: side === 0 ? [x, id] : [id, x] } as BlockOpSpec;
    return existing >= 0 ? [binary] : [{ op: 'constant', value: c, inputs: [] }, binary];
  }
}

/** A tile's labels: a loop over a split dim walks its parts, so the tile has the inner label there. */
function tileLabels(t: StorageTensor, fmap: number | null): Labels {
  return t.split && fmap === t.split.dim ? t.labels.map((l, d) => (d === fmap ? t.split!.inner : l)) : t.labels;
}

/** The input tiles of a plan's block graph: each storage tensor cut by the grid and the loop. */
function inputTileInfos(plan: KernelPlan): BlockTensorInfo[] {
  return plan.inputs.map((t, k) => {
    const it = plan.iterators[k]!;
    const shape = t.shape.map((size, d) => {
      const axis = it.imap.indexOf(d);
      const split = axis >= 0 ? size / plan.grid[axis]! : size;
      return it.fmap === d ? split / plan.forloopRange : split;
    });
    return Object.freeze({ shape: Object.freeze(shape), phase: 'pre' as const, op: undefined });
  });
}

/**
 * Which block search a plan runs: plans with the same key enumerate the same operator
 * sequences, so one search serves them all (searchFor). A block graph's validity depends on
 * tile sizes only through equalities between dims of one label (labels.ts) or of size 1, and
 * its abstract values only through the sizes of reduced dims; so plans that differ only in how
 * the grid splits labels no operator reduces agree on everything but the savers' maps and the
 * stored shapes, which closing computes per plan.
 */
export function searchKey(plan: KernelPlan, reduced: ReadonlySet<number>): string {
  const tiles = inputTileInfos(plan).map((info, k) => {
    const t = plan.inputs[k]!;
    const it = plan.iterators[k]!;
    const dims = info.shape.map((size, d) => (it.imap.includes(d) && !reduced.has(t.labels[d]!) && size > 1 ? '*' : String(size)));
    return `${t.id}:${dims.join(',')}:${describeValue(tileValue(t.value, t.shape.length, it.imap, it.fmap))}:${it.fmap}`;
  });
  return `${plan.loopLabel}/${plan.forloopRange}/${plan.splitAxis}/${tiles.join(';')}`;
}

/**
 * A block state as another plan with the same searchKey would have reached it: the same
 * operators, labels and values, with that plan's tile shapes.
 */
export function stateFor(state: BlockState, plan: KernelPlan): BlockState {
  if (plan === state.plan) return state;
  const infos = inputTileInfos(plan);
  for (const op of state.ops) infos.push(parseBlockOp(op, infos, 'search').info);
  return { ...state, plan, nodes: state.nodes.map((n, i) => ({ ...n, info: infos[i]! })) };
}

/**
 * What operators cost against the budget: constants are folded into their readers and a
 * concatenation is planned in place (codegen/ugraph/plan.ts), so both are free. The budget
 * thus counts work, and iterative deepening reaches the form with less of it first.
 */
function weightOf(ops: readonly BlockOpSpec[]): number {
  return ops.filter((op) => op.op !== 'constant' && op.op !== 'concat').length;
}

/** The tensors an op reads: its operands, and the running max a rescaled accumulator follows. */
function readsOf(op: BlockOpSpec): readonly number[] {
  return op.op === 'accum' && op.rescaleBy !== undefined ? [...op.inputs, op.rescaleBy] : op.inputs;
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -Infinity) - (b[i] ?? -Infinity);
    if (d !== 0) return d;
  }
  return 0;
}

function sameValue(a: AbstractValue, b: AbstractValue): boolean {
  if (a.kind === 'term' && b.kind === 'term') return a.expr === b.expr;
  if (a.kind === 'pieces' && b.kind === 'pieces') {
    return a.axis === b.axis && a.pieces.length === b.pieces.length
      && a.pieces.every((p, i) => p.extent === b.pieces[i]!.extent && p.expr === (b.pieces[i]!.expr as Expr));
  }
  return false;
}
