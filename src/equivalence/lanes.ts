/**
 * Static analysis before any evaluation, over a program (program-eval.ts) or a μGraph:
 *
 * - Lanes needed: outputs need their p-lane; backwards, lane-wise operators need the
 *   lanes their result needs, exp needs its operand's q-lane, opaque functions their
 *   operand's p-lane. Only needed lanes are computed, so a q-lane costs only where an exp
 *   (or an online-softmax rescale) reads it.
 * - Lanes available: forwards, an exp's result has no q-lane, nor has anything computed
 *   from it lane-wise (a rescaled accumulator included); opaque functions give fresh
 *   lanes. A q-lane needed where none is available is an exp of a value derived from an
 *   exp: the pair is unverifiable (DESIGN.md §4), reported with where it happens.
 * - Degrees, for the false-accept bound (docs/equivalence.md): inputs have degree 1,
 *   constants 0; products add degrees, sums take the larger, a quotient a/b counts
 *   deg a + deg b; exp, sqrt, rsqrt and opaque results count as fresh atoms of degree 1.
 */
import type { Shape } from '../ir/shape.js';
import type { AccumSpec } from '../ugraph/block-ops.js';
import type { KernelGraph } from '../ugraph/kernel-graph.js';
import type { BlockGraph } from '../ugraph/block-graph.js';
import { LANE_P, LANE_Q, type LaneSet } from './field.js';
import type { FieldOpSpec } from './op-eval.js';

const BOTH = LANE_P | LANE_Q;

/** What the analysis found about one graph (program or μGraph). */
export interface LaneAnalysis {
  /** Lanes to compute, per kernel-level tensor id (program: per node). */
  readonly need: readonly LaneSet[];
  /** Per custom-kernel node index: lanes to compute per block tensor id. */
  readonly blockNeed: ReadonlyMap<number, readonly LaneSet[]>;
  /** Degree bound per kernel-level tensor id (program: per node). */
  readonly degrees: readonly number[];
  /** Degree bound per output, in output order. */
  readonly outputDegrees: readonly number[];
  /** Largest degree of an exp argument (a collision mod q of two exponents). */
  readonly expDegree: number;
  /** Largest degree of an opaque function's argument (a collision mod p of two arguments). */
  readonly opaqueDegree: number;
  /** Why the graph cannot be evaluated soundly, if it cannot. */
  readonly unverifiable: string | undefined;
}

type AnySpec = FieldOpSpec | AccumSpec | { readonly op: 'input' };

function isOpaque(spec: AnySpec): boolean {
  return (spec.op === 'unary' && (spec.fn === 'silu' || spec.fn === 'gelu' || spec.fn === 'relu')) || (spec.op === 'reduce' && spec.fn === 'max');
}

/**
 * The lane an opaque max hashes: the q-lane when its argument has one (then a softmax's
 * scores need no p-lane at all: max and exp both read the q-lane), else the p-lane.
 * Both sides decide alike, from the same rule on availability.
 */
export function maxHashLane(avail: LaneSet): LaneSet {
  return avail & LANE_Q ? LANE_Q : LANE_P;
}

/** Lanes operand `i` (available lanes `avail`) must provide for a result needing `need`. */
function operandNeed(spec: AnySpec, need: LaneSet, i: number, shapes: readonly Shape[], avail: LaneSet, rescaled: boolean): LaneSet {
  if (need === 0) return 0;
  if (spec.op === 'unary' && spec.fn === 'exp') return need & LANE_P ? LANE_Q : 0;
  if (spec.op === 'reduce' && spec.fn === 'max') return shapes[i]![spec.dim] === 1 ? need : maxHashLane(avail);
  if (isOpaque(spec)) return LANE_P;
  // A running max starts as the first local max (all its lanes), then hashes.
  if (spec.op === 'accum' && spec.kind === 'maxRescale') return need | maxHashLane(avail);
  if (spec.op === 'accum' && rescaled) return need & LANE_P;
  return need;
}

/** Lanes the result can have, given its operands'. */
function resultAvail(spec: AnySpec, avail: readonly LaneSet[], shapes: readonly Shape[], rescaled: boolean): LaneSet {
  if (spec.op === 'input' || spec.op === 'constant') return BOTH;
  if (spec.op === 'unary' && spec.fn === 'exp') return LANE_P;
  // A fold of one element is the element itself; a longer one is a fresh opaque value.
  if (spec.op === 'reduce' && spec.fn === 'max') return shapes[0]![spec.dim] === 1 ? avail[0]! : BOTH;
  if (isOpaque(spec)) return BOTH;
  if (spec.op === 'accum' && rescaled) return LANE_P;
  return avail.reduce((all, a) => all & a, BOTH);
}

function resultDegree(spec: AnySpec, degrees: readonly number[], rescaled: boolean): number {
  const [a = 0, b = 0] = degrees;
  switch (spec.op) {
    case 'input': return 1;
    case 'constant': return 0;
    case 'matmul': return a + b;
    case 'scale': return a;
    case 'reduce': return spec.fn === 'sum' ? a : Math.max(1, a);
    case 'accum': return spec.kind === 'maxRescale' ? Math.max(1, a) : rescaled ? a + 2 : a;
    case 'binary': return spec.fn === 'mul' || spec.fn === 'div' ? a + b : Math.max(a, b);
    case 'unary': return spec.fn === 'square' ? 2 * a : 1;
    default: return Math.max(0, ...degrees);
  }
}

/** A graph of operators in topological order, as the analysis walks it. */
interface Flow {
  readonly count: number;
  readonly specs: readonly (AnySpec | undefined)[];
  readonly operands: readonly (readonly number[])[];
  readonly shapes: readonly Shape[];
  /** Where each tensor comes from, for messages. */
  readonly label: (id: number) => string;
}

class Analyzer {
  expDegree = 0;
  opaqueDegree = 0;
  unverifiable: string | undefined;

  /** Lanes available and degrees, operands before users. */
  forward(flow: Flow, avail: LaneSet[], degree: number[], rescaledOf: (id: number) => number | undefined): void {
    for (let id = 0; id < flow.count; id++) {
      const spec = flow.specs[id];
      if (spec === undefined) continue;
      const operands = flow.operands[id]!;
      const rescaled = rescaledOf(id) !== undefined;
      avail[id] = resultAvail(spec, operands.map((o) => avail[o]!), operands.map((o) => flow.shapes[o]!), rescaled);
      degree[id] = resultDegree(spec, operands.map((o) => degree[o]!), rescaled);
      if (spec.op === 'unary' && spec.fn === 'exp') this.expDegree = Math.max(this.expDegree, degree[operands[0]!]!);
      if (isOpaque(spec)) this.opaqueDegree = Math.max(this.opaqueDegree, degree[operands[0]!]!);
      if (rescaled) this.expDegree = Math.max(this.expDegree, degree[operands[0]!]!, 1);
    }
  }

  /** Lanes needed, users before operands. */
  backward(flow: Flow, need: LaneSet[], avail: readonly LaneSet[], rescaledOf: (id: number) => number | undefined): void {
    for (let id = flow.count - 1; id >= 0; id--) {
      const spec = flow.specs[id];
      if (spec === undefined || need[id] === 0) continue;
      const operands = flow.operands[id]!;
      const shapes = operands.map((o) => flow.shapes[o]!);
      const rescale = rescaledOf(id);
      // A running max hashes its own state each iteration: it keeps the hashed lane.
      if (spec.op === 'accum' && spec.kind === 'maxRescale') need[id] = need[id]! | maxHashLane(avail[operands[0]!]!);
      operands.forEach((o, i) => { need[o] = need[o]! | operandNeed(spec, need[id]!, i, shapes, avail[o]!, rescale !== undefined); });
      if (rescale !== undefined) {
        // The running max: its q-lane weights the terms (exp(m_i - M)), its lanes are hashed by the next max.
        need[rescale] = need[rescale]! | LANE_Q | LANE_P;
        const m = flow.operands[rescale]![0]!;
        need[m] = need[m]! | LANE_Q | LANE_P;
      }
    }
  }

  /** The first tensor (in order) that needs a lane it cannot have. */
  check(flow: Flow, need: readonly LaneSet[], avail: readonly LaneSet[]): void {
    for (let id = 0; id < flow.count && this.unverifiable === undefined; id++) {
      if (flow.specs[id] === undefined || (need[id]! & ~avail[id]!) === 0) continue;
      this.unverifiable = `${flow.label(id)} needs the q-lane of a value derived from an exp: an exp of an exp (nested exp) cannot be evaluated in the field`;
    }
  }
}

/** A program (FieldProgram nodes: specs with operand indices and shapes; inputs have op 'input'). */
export function analyzeProgram(
  nodes: readonly { readonly spec: AnySpec; readonly inputs: readonly number[]; readonly shape: Shape }[], outputs: readonly number[],
): LaneAnalysis {
  const flow: Flow = {
    count: nodes.length, specs: nodes.map((n) => n.spec), operands: nodes.map((n) => n.inputs), shapes: nodes.map((n) => n.shape),
    label: (id) => `program node ${id} (${describe(nodes[id]!.spec)})`,
  };
  const analyzer = new Analyzer();
  const none = () => undefined;
  const avail = nodes.map(() => BOTH);
  const degree = nodes.map(() => 0);
  analyzer.forward(flow, avail, degree, none);
  const need = nodes.map(() => 0);
  for (const o of outputs) need[o] = need[o]! | LANE_P;
  analyzer.backward(flow, need, avail, none);
  analyzer.check(flow, need, avail);
  return finish(analyzer, need, new Map(), degree, outputs.map((o) => degree[o]!));
}

/** A μGraph: pre-defined kernels as program nodes, custom kernels through their block graphs. */
export function analyzeKernelGraph(graph: KernelGraph): LaneAnalysis {
  const tensors = graph.tensors.length;
  const analyzer = new Analyzer();
  const kernelFlow = (index: number): Flow => {
    const node = graph.nodes[index]!;
    const id = graph.nodeOutputs[index]![0]!;
    const specs: (AnySpec | undefined)[] = new Array<AnySpec | undefined>(tensors).fill(undefined);
    specs[id] = node as AnySpec;
    const operands: number[][] = new Array<number[]>(tensors).fill([]);
    operands[id] = [...node.inputs];
    return { count: tensors, specs, operands, shapes: graph.tensors.map((t) => t.shape), label: () => `kernel ${index} (${describe(node as AnySpec)})` };
  };
  const none = () => undefined;
  // Forwards: lanes available and degrees, through every block graph.
  const avail: LaneSet[] = new Array<LaneSet>(tensors).fill(BOTH);
  const degree: number[] = graph.tensors.map((t) => (t.node === undefined ? 1 : 0));
  const blockAvail = new Map<number, LaneSet[]>();
  graph.nodes.forEach((node, index) => {
    if (node.op !== 'custom') {
      analyzer.forward(kernelFlow(index), avail, degree, none);
      return;
    }
    const block = node.block;
    const innerAvail = block.tensors.map((_, id) => (id < block.inputs.length ? avail[node.inputs[id]!]! : BOTH));
    const innerDegree = block.tensors.map((_, id) => (id < block.inputs.length ? degree[node.inputs[id]!]! : 0));
    analyzer.forward(blockFlow(block, index), innerAvail, innerDegree, rescaledBy(block));
    blockAvail.set(index, innerAvail);
    graph.nodeOutputs[index]!.forEach((id, k) => {
      avail[id] = innerAvail[block.outputs[k]!.tensor]!;
      degree[id] = innerDegree[block.outputs[k]!.tensor]!;
    });
  });
  // Backwards: lanes needed, from the outputs' p-lanes.
  const need: LaneSet[] = new Array<LaneSet>(tensors).fill(0);
  for (const o of graph.outputs) need[o.tensor] = need[o.tensor]! | LANE_P;
  const blockNeed = new Map<number, LaneSet[]>();
  for (let index = graph.nodes.length - 1; index >= 0; index--) {
    const node = graph.nodes[index]!;
    if (node.op !== 'custom') {
      analyzer.backward(kernelFlow(index), need, avail, none);
      continue;
    }
    const block = node.block;
    const inner = new Array<LaneSet>(block.tensors.length).fill(0);
    graph.nodeOutputs[index]!.forEach((id, k) => { inner[block.outputs[k]!.tensor] = inner[block.outputs[k]!.tensor]! | need[id]!; });
    analyzer.backward(blockFlow(block, index), inner, blockAvail.get(index)!, rescaledBy(block));
    node.inputs.forEach((id, k) => { need[id] = need[id]! | inner[k]!; });
    blockNeed.set(index, inner);
  }
  graph.nodes.forEach((node, index) => {
    if (node.op === 'custom') analyzer.check(blockFlow(node.block, index), blockNeed.get(index)!, blockAvail.get(index)!);
    else analyzer.check(kernelFlow(index), need, avail);
  });
  return finish(analyzer, need, blockNeed, degree, graph.outputs.map((o) => degree[o.tensor]!));
}

function blockFlow(block: BlockGraph, index: number): Flow {
  const first = block.inputs.length;
  return {
    count: block.tensors.length,
    specs: block.tensors.map((t) => t.op as AnySpec | undefined),
    operands: block.tensors.map((t) => t.op?.inputs ?? []),
    shapes: block.tensors.map((t) => t.shape),
    label: (id) => `kernel ${index} (custom) > block op t${id} (${describe(block.ops[id - first] as AnySpec)})`,
  };
}

/** The maxRescale accumulator an accumulator is rescaled by, if any. */
function rescaledBy(block: BlockGraph): (id: number) => number | undefined {
  return (id) => {
    const op = block.tensors[id]?.op;
    return op?.op === 'accum' ? op.rescaleBy : undefined;
  };
}

function finish(
  analyzer: Analyzer, need: readonly LaneSet[], blockNeed: ReadonlyMap<number, readonly LaneSet[]>, degrees: readonly number[], outputDegrees: readonly number[],
): LaneAnalysis {
  return Object.freeze({
    need: Object.freeze([...need]), blockNeed, degrees: Object.freeze([...degrees]), outputDegrees: Object.freeze([...outputDegrees]),
    expDegree: analyzer.expDegree, opaqueDegree: analyzer.opaqueDegree, unverifiable: analyzer.unverifiable,
  });
}

function describe(spec: AnySpec): string {
  if (spec.op === 'unary' || spec.op === 'binary' || spec.op === 'reduce') return `${spec.op} ${spec.fn}`;
  if (spec.op === 'accum') return `accum ${spec.kind}`;
  return spec.op;
}
