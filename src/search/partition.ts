/**
 * Automatic partitioning (docs/search.md §6.5): a program the search cannot take whole is
 * cut into parts, each a subprogram (subprogram.ts) whose inputs are the storage tensors
 * at the cut; superoptimize() searches each part and stitches the parts' μGraphs back
 * together (stitch.ts). Cuts, in order:
 *
 *   1. unsupported operators: reshape, transpose and concat of program tensors have no
 *      place in a block graph the generator builds; each is a part of its own, lowered to
 *      its pre-defined kernel. The other operators are grouped by how many unsupported
 *      operators lie before them on a longest path from the inputs (a level), so the
 *      parts form a DAG; an operator whose readers all come later may go with them;
 *   2. independent work: operators of one group that share no computed value (two outputs
 *      that only read the same inputs) are separate parts, searched separately; outputs
 *      that share an intermediate stay one search;
 *   3. an exp of an exp (nested-exp.ts): the verifier cannot evaluate it, so the part is
 *      cut between the two exps;
 *   4. size: a part of more than `maxOperators` operators is cut in two.
 *
 * Cuts 3 and 4 pick, among the splits of the part into an earlier and a later side (every
 * prefix of its operators in order, and every "an operator's descendants go later"), one
 * whose sides fit the limit, storing the fewest elements, then the most balanced one.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { Tensor } from '../frontend/tensor.js';
import { formatShape, numel } from '../ir/shape.js';
import { DEFAULT_GENERATOR_LIMITS } from './generator.js';
import { nestedExps } from './nested-exp.js';
import { buildSubprogram, type Subprogram } from './subprogram.js';

export interface PartitionOptions {
  /**
   * Operators (of the expanded program, constants not counted) past which a part is cut;
   * superoptimize() passes the generator's maxBlockOps, what one block graph may hold
   * (measured: docs/search.md §6.5).
   */
  readonly maxOperators: number;
}

export const DEFAULT_PARTITION_OPTIONS: PartitionOptions = Object.freeze({ maxOperators: DEFAULT_GENERATOR_LIMITS.maxBlockOps });

/** Operators the generator has no block-graph form of (program-level data movement). */
const UNSUPPORTED = new Set(['reshape', 'transpose', 'concat']);

export type CutReason = 'unsupported-operator' | 'independent' | 'nested-exp' | 'size';

export interface Cut {
  readonly reason: CutReason;
  /** The storage tensors at the cut, as the expanded program's listing names them (`%7`). */
  readonly tensors: readonly string[];
  /** Where and why, in words. */
  readonly detail: string;
}

export interface Part {
  readonly index: number;
  /** Its operators (of the expanded program), operands first. */
  readonly nodes: readonly Tensor[];
  readonly sub: Subprogram;
  /** 'search' when superoptimize() searches it; 'per-op' when its per-operator lowering is used directly. */
  readonly plan: 'search' | 'per-op';
  readonly why: string;
}

export interface PartitionPlan {
  /** The program after composite expansion: parts are made of its operators. */
  readonly expanded: Program;
  readonly parts: readonly Part[];
  readonly cuts: readonly Cut[];
  readonly options: PartitionOptions;
  /** A tensor of the expanded program as its listing (`Program.pretty()`) names it: `%7`, or an input's name. */
  label(tensor: Tensor): string;
}

export function partitionProgram(program: Program, options: Partial<PartitionOptions> = {}): PartitionPlan {
  const opts: PartitionOptions = { ...DEFAULT_PARTITION_OPTIONS, ...options };
  const expanded = expandComposites(program);
  const labels = listingLabels(expanded);
  const label = (t: Tensor) => labels.get(t)!;
  const cuts: Cut[] = [];
  const users = usersOf(expanded);
  const outputs = new Set(expanded.outputs.map((o) => o.tensor));
  const levels = levelsOf(expanded, users, outputs);

  const groups: Tensor[][] = [];
  for (const level of [...new Set(levels.values())].sort((a, b) => a - b)) {
    const nodes = expanded.nodes.filter((n) => levels.get(n) === level);
    if (level % 2 === 1) {
      for (const node of nodes) {
        groups.push([node]);
        const operands = node.inputs.filter((x) => x.op !== 'const').map(label);
        cuts.push({
          reason: 'unsupported-operator', tensors: [...operands, label(node)],
          detail: `${label(node)} = ${node.describe()}: the generator has no program-level ${node.op}; its pre-defined kernel reads ${operands.join(', ')} from storage`,
        });
      }
    } else {
      groups.push(...refine(nodes, { users, outputs, label, cuts, maxOperators: opts.maxOperators }));
    }
  }

  const parts = groups.map((nodes, index): Part => {
    const inside = new Set(nodes);
    const partOutputs = nodes.filter((n) => outputs.has(n) || (users.get(n) ?? []).some((u) => !inside.has(u)));
    const sub = buildSubprogram(`${program.name.slice(0, 100)}.part${index}`, nodes, partOutputs, label);
    const [plan, why] = nodes.length === 1 && UNSUPPORTED.has(nodes[0]!.op)
      ? ['per-op', `${nodes[0]!.op}: no block-graph form; its pre-defined kernel`] as const
      : nodes.length === 1
        ? ['per-op', 'one operator: nothing to fuse; its pre-defined kernel'] as const
        : ['search', `${nodes.length} operators`] as const;
    return { index, nodes, sub, plan, why };
  });
  return { expanded, parts, cuts, options: opts, label };
}

/**
 * Supported operators at even levels, unsupported ones at odd: a level counts the
 * unsupported operators on a longest path from the inputs. Operators are placed as early as
 * they can be, or as late (next to the operators that read them: rmsnorm(q) joins the
 * matmul with a transposed k), whichever stores fewer elements between levels; as late when
 * equal.
 */
function levelsOf(program: Program, users: ReadonlyMap<Tensor, readonly Tensor[]>, outputs: ReadonlySet<Tensor>): Map<Tensor, number> {
  const early = new Map<Tensor, number>();
  for (const node of program.nodes) {
    if (node.op === 'input' || node.op === 'const') continue;
    let before = 0;
    for (const x of node.inputs) {
      const l = early.get(x);
      if (l !== undefined) before = Math.max(before, l % 2 === 1 ? l + 1 : l);
    }
    early.set(node, UNSUPPORTED.has(node.op) ? before + 1 : before);
  }
  const late = new Map(early);
  for (const node of [...program.nodes].reverse()) {
    const level = late.get(node);
    const readers = users.get(node) ?? [];
    if (level === undefined || UNSUPPORTED.has(node.op) || outputs.has(node) || readers.length === 0) continue;
    // An unsupported reader at level l pins its operands at l - 1 or below.
    const latest = Math.min(...readers.map((u) => late.get(u)! - (UNSUPPORTED.has(u.op) ? 1 : 0)));
    if (latest > level) late.set(node, latest);
  }
  const stored = (levels: ReadonlyMap<Tensor, number>) => [...levels.keys()]
    .filter((n) => (users.get(n) ?? []).some((u) => levels.get(u) !== levels.get(n)))
    .reduce((sum, n) => sum + numel(n.shape), 0);
  return stored(late) <= stored(early) ? late : early;
}

interface RefineContext {
  readonly users: ReadonlyMap<Tensor, readonly Tensor[]>;
  readonly outputs: ReadonlySet<Tensor>;
  readonly label: (t: Tensor) => string;
  readonly cuts: Cut[];
  readonly maxOperators: number;
}

/** `nodes` (operands first) as parts, earlier parts first: independent pieces apart, nested exps and oversized parts cut. */
function refine(nodes: readonly Tensor[], ctx: RefineContext): Tensor[][] {
  const pieces = components(nodes, ctx.users);
  if (pieces.length > 1) {
    // Each piece by its results: the operators no operator of the piece reads.
    const results = (piece: readonly Tensor[]) => piece.filter((n) => !(ctx.users.get(n) ?? []).some((u) => piece.includes(u))).map(ctx.label);
    ctx.cuts.push({
      reason: 'independent', tensors: [],
      detail: `${pieces.map((p) => `{${results(p).join(', ')}}`).join(' and ')} share no computed value: searched separately`,
    });
    return pieces.flatMap((piece) => refine(piece, ctx));
  }
  const nested = nestedExps(nodes)[0];
  if (nested !== undefined) {
    const split = bestSplit(nodes, ctx, (a, b) => !nestedExps(a).includes(nested) && !nestedExps(b).includes(nested));
    if (split) {
      const detail = `${ctx.label(nested)} = exp of a value derived from an exp, which the finite-field verifier cannot evaluate`;
      return cutAt(split, 'nested-exp', detail, ctx);
    }
  }
  if (nodes.length > ctx.maxOperators) {
    const split = bestSplit(nodes, ctx, () => true);
    if (split) return cutAt(split, 'size', `${nodes.length} operators, over the ${ctx.maxOperators} one search takes`, ctx);
  }
  return [[...nodes]];
}

interface Split {
  readonly before: readonly Tensor[];
  readonly after: readonly Tensor[];
  /** Operators of `before` that `after` reads: the new storage tensors. */
  readonly stored: readonly Tensor[];
}

function cutAt(split: Split, reason: CutReason, why: string, ctx: RefineContext): Tensor[][] {
  const elements = split.stored.reduce((sum, t) => sum + numel(t.shape), 0);
  ctx.cuts.push({
    reason, tensors: split.stored.map(ctx.label),
    detail: `${why}: cut after ${split.stored.map((t) => `${ctx.label(t)} ${t.dtype}${formatShape(t.shape)}`).join(', ')} (${elements} elements stored), `
      + `${split.before.length} operators before, ${split.after.length} after`,
  });
  return [...refine(split.before, ctx), ...refine(split.after, ctx)];
}

/**
 * The cheapest valid split of `nodes`: splits whose both sides fit `maxOperators` first
 * (else the most balanced), then the fewest stored elements, then the smaller larger side.
 * Candidates: every prefix, and every operator's descendants moved later.
 */
function bestSplit(nodes: readonly Tensor[], ctx: RefineContext, valid: (before: readonly Tensor[], after: readonly Tensor[]) => boolean): Split | undefined {
  const candidates = new Map<string, Split>();
  const position = new Map(nodes.map((n, i) => [n, i]));
  const add = (later: ReadonlySet<Tensor>) => {
    const before = nodes.filter((n) => !later.has(n));
    const after = nodes.filter((n) => later.has(n));
    if (before.length === 0 || after.length === 0) return;
    const key = after.map((n) => position.get(n)!).join(',');
    if (candidates.has(key)) return;
    const stored = before.filter((n) => (ctx.users.get(n) ?? []).some((u) => later.has(u)));
    candidates.set(key, { before, after, stored });
  };
  for (let p = 1; p < nodes.length; p++) add(new Set(nodes.slice(p)));
  const within = new Set(nodes);
  for (const node of nodes) add(descendants(node, within, ctx.users));
  const cost = (s: Split) => s.stored.reduce((sum, t) => sum + numel(t.shape), 0);
  const larger = (s: Split) => Math.max(s.before.length, s.after.length);
  const overflow = (s: Split) => (larger(s) > ctx.maxOperators ? larger(s) : 0);
  const ranked = [...candidates.values()].filter((s) => valid(s.before, s.after))
    .sort((a, b) => overflow(a) - overflow(b) || cost(a) - cost(b) || larger(a) - larger(b));
  return ranked[0];
}

/** Operators of `within` computed from `node` (not `node` itself). */
function descendants(node: Tensor, within: ReadonlySet<Tensor>, users: ReadonlyMap<Tensor, readonly Tensor[]>): Set<Tensor> {
  const found = new Set<Tensor>();
  const stack = [node];
  while (stack.length > 0) {
    for (const user of users.get(stack.pop()!) ?? []) {
      if (within.has(user) && !found.has(user)) { found.add(user); stack.push(user); }
    }
  }
  return found;
}

/** Connected pieces of `nodes` through the values they compute (not through shared inputs), each operands first, in first-node order. */
function components(nodes: readonly Tensor[], users: ReadonlyMap<Tensor, readonly Tensor[]>): Tensor[][] {
  const inside = new Set(nodes);
  const piece = new Map<Tensor, number>();
  let count = 0;
  for (const start of nodes) {
    if (piece.has(start)) continue;
    const id = count++;
    const stack = [start];
    piece.set(start, id);
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const next of [...node.inputs, ...(users.get(node) ?? [])]) {
        if (inside.has(next) && !piece.has(next)) { piece.set(next, id); stack.push(next); }
      }
    }
  }
  return Array.from({ length: count }, (_, id) => nodes.filter((n) => piece.get(n) === id));
}

function usersOf(program: Program): Map<Tensor, Tensor[]> {
  const users = new Map<Tensor, Tensor[]>();
  for (const node of program.nodes) for (const x of new Set(node.inputs)) users.set(x, [...(users.get(x) ?? []), node]);
  return users;
}

/** The names Program.pretty() gives: inputs by name, every other node `%k` in node order. */
function listingLabels(program: Program): Map<Tensor, string> {
  const labels = new Map<Tensor, string>();
  let counter = 0;
  for (const node of program.nodes) labels.set(node, node.op === 'input' ? String(node.attrs.name) : `%${counter++}`);
  return labels;
}
