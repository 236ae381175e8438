/**
 * Dimension labels: which dimensions of which tensors index the same thing. Abstract
 * expressions forget tiling, so they cannot tell a tile of X's rows from a tile of its
 * columns; labels can. Every dimension of the (expanded) program gets a label, and two
 * dimensions share one when an operator ties them: the contracted dims of a matmul, the
 * aligned dims of a broadcasting elementwise op, a dim carried through unchanged. A
 * dimension of size 1 has the label UNIT and ties to nothing (it broadcasts).
 *
 * The generator uses labels twice:
 *   - to derive a custom kernel's maps from a plan: a grid axis splits one label, so every
 *     input iterator splits the dim that carries it (imap), the loop walks one label (fmap),
 *     and each saver concatenates workgroups along its tile's dim of that label (omap);
 *   - to reject block operators whose operands are indexed inconsistently (adding a tile
 *     of rows to a tile of columns of the same size), which expressions cannot see.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';

/** The label of a size-1 dimension: broadcasts, ties to nothing. */
export const UNIT = -1;

export type Labels = readonly number[];

/**
 * The label of a dim that holds the partial results of a split reduction side by side: a
 * split-KV kernel's grid divides reduced label `reduced` into parts and saves each part's
 * result next to the others along the last dim (kernel-plans.ts). Negative, so that it
 * never collides with a program label or UNIT.
 */
export function splitLabel(reduced: number): number {
  return -2 - reduced;
}

export function isSplitLabel(label: number): boolean {
  return label <= -2;
}

export interface ProgramLabels {
  /** The program after composite expansion. */
  readonly program: Program;
  /** Labels of every node's dims (canonical: union-find roots renumbered 0..n-1 in first-use order). */
  readonly of: ReadonlyMap<Tensor, Labels>;
  /** Size of the dims carrying each label. */
  readonly sizes: readonly number[];
  /** Labels reduced somewhere in the program (matmul contractions and reductions). */
  readonly reduced: ReadonlySet<number>;
}

class UnionFind {
  private readonly parent: number[] = [];
  make(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }
  find(x: number): number {
    while (this.parent[x] !== x) x = this.parent[x] = this.parent[this.parent[x]!]!;
    return x;
  }
  union(a: number, b: number): void {
    if (a === UNIT || b === UNIT) return;
    const [x, y] = [this.find(a), this.find(b)];
    if (x !== y) this.parent[Math.max(x, y)] = Math.min(x, y);
  }
}

export function programLabels(original: Program): ProgramLabels {
  const program = expandComposites(original);
  const uf = new UnionFind();
  const raw = new Map<Tensor, number[]>();
  const reducedRaw: number[] = [];
  const fresh = (shape: readonly number[]) => shape.map((d) => (d === 1 ? UNIT : uf.make()));
  for (const node of program.nodes) {
    const ins = node.inputs.map((x) => raw.get(x)!);
    raw.set(node, nodeLabels(node, ins, uf, fresh, reducedRaw));
  }
  // Renumber roots densely in first-use order, so labels are small and stable.
  const renumber = new Map<number, number>();
  const canon = (l: number) => {
    if (l === UNIT) return UNIT;
    const root = uf.find(l);
    let id = renumber.get(root);
    if (id === undefined) renumber.set(root, (id = renumber.size));
    return id;
  };
  const of = new Map<Tensor, Labels>();
  const sizes: number[] = [];
  for (const node of program.nodes) {
    const labels = Object.freeze(raw.get(node)!.map(canon));
    labels.forEach((l, d) => { if (l !== UNIT) sizes[l] = node.shape[d]!; });
    of.set(node, labels);
  }
  return { program, of, sizes: Object.freeze(sizes), reduced: new Set(reducedRaw.filter((l) => l !== UNIT).map(canon)) };
}

function nodeLabels(
  node: Tensor, ins: readonly number[][], uf: UnionFind, fresh: (shape: readonly number[]) => number[], reduced: number[],
): number[] {
  const attrs = node.attrs as Record<string, unknown>;
  switch (node.op) {
    case 'input':
    case 'const':
    case 'reshape':
      // A reshape regroups elements: its dims index new things (the generator does not tile across one).
      return fresh(node.shape);
    case 'unary':
    case 'scale':
      return [...ins[0]!];
    case 'binary':
      return broadcastLabels(ins[0]!, ins[1]!, uf);
    case 'transpose':
      return (attrs as OpAttrs['transpose']).perm.map((d) => ins[0]![d]!);
    case 'reduce': {
      const { dim, keepdim } = attrs as OpAttrs['reduce'];
      reduced.push(ins[0]![dim]!);
      const out = [...ins[0]!];
      if (keepdim) out[dim] = UNIT;
      else out.splice(dim, 1);
      return out;
    }
    case 'matmul': {
      const [a, b] = [ins[0]!, ins[1]!];
      uf.union(a[a.length - 1]!, b[b.length - 2]!);
      reduced.push(a[a.length - 1]!);
      const batch = broadcastLabels(a.slice(0, -2), b.slice(0, -2), uf);
      return [...batch, a[a.length - 2]!, b[b.length - 1]!];
    }
    case 'concat': {
      const { dim } = attrs as OpAttrs['concat'];
      const out = [...ins[0]!];
      for (const other of ins.slice(1)) other.forEach((l, d) => { if (d !== dim) uf.union(out[d]!, l); });
      out[dim] = fresh([node.shape[dim]!])[0]!;
      return out;
    }
    default:
      throw new Error(`programLabels: composite ${node.op} survived expansion`);
  }
}

/** Labels of a broadcast result; aligned dims of equal size > 1 are tied. */
export function broadcastLabels(a: readonly number[], b: readonly number[], uf?: UnionFind): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? UNIT;
    const y = b[b.length - rank + i] ?? UNIT;
    if (x !== UNIT && y !== UNIT) uf?.union(x, y);
    out.push(x === UNIT ? y : x);
  }
  return out;
}

/**
 * Labels of a broadcast between tiles whose labels are final (no unions): undefined when
 * two aligned dims both index something and disagree.
 */
export function joinLabels(a: Labels, b: Labels): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? UNIT;
    const y = b[b.length - rank + i] ?? UNIT;
    if (x !== UNIT && y !== UNIT && x !== y) return undefined;
    out.push(x === UNIT ? y : x);
  }
  return out;
}
