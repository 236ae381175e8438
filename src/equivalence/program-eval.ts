/**
 * The program side of a verification: the tensor program after expandComposites, as
 * plain data (FieldProgram: it crosses to worker threads as JSON), evaluated in the field
 * node by node on whole tensors. It is the reference the μGraph is compared with, so a
 * zero divisor or rsqrt argument here is not an answer but a bad draw: it throws
 * ZeroDenominatorError and verify.ts draws the seed's inputs afresh.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';
import type { DType } from '../ir/dtype.js';
import { numel, type Shape } from '../ir/shape.js';
import { LANE_P, LANE_Q, type LaneSet } from './field.js';
import type { LaneAnalysis } from './lanes.js';
import { allocateTensor, type EvalContext, evaluateOpInto, type FieldOpSpec, type FieldTensor } from './op-eval.js';

export type FieldProgramSpec = FieldOpSpec | { readonly op: 'input'; readonly index: number };

export interface FieldProgramNode {
  readonly spec: FieldProgramSpec;
  /** Operand node indices (earlier nodes). */
  readonly inputs: readonly number[];
  readonly shape: Shape;
}

export interface FieldProgram {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly shape: Shape; readonly dtype: DType }[];
  readonly nodes: readonly FieldProgramNode[];
  readonly outputs: readonly { readonly name: string; readonly node: number; readonly shape: Shape; readonly dtype: DType }[];
}

/** The expanded program as plain data: primitives only, operands before users. */
export function fieldProgramOf(program: Program): FieldProgram {
  const expanded = expandComposites(program);
  const index = new Map<Tensor, number>();
  const nodes = expanded.nodes.map((node, i): FieldProgramNode => {
    index.set(node, i);
    const inputs = node.inputs.map((x) => index.get(x)!);
    return { spec: specOf(node, inputs, expanded.inputs.indexOf(node)), inputs, shape: node.shape };
  });
  return {
    name: program.name,
    inputs: expanded.inputs.map((t) => ({ name: t.attrs.name as string, shape: t.shape, dtype: t.dtype })),
    nodes,
    outputs: expanded.outputs.map((o) => ({ name: o.name, node: index.get(o.tensor)!, shape: o.tensor.shape, dtype: o.tensor.dtype })),
  };
}

function specOf(node: Tensor, inputs: readonly number[], position: number): FieldProgramSpec {
  switch (node.op) {
    case 'input': return { op: 'input', index: position };
    case 'const': return { op: 'constant', value: (node.attrs as OpAttrs['const']).value };
    case 'unary': return { op: 'unary', fn: (node.attrs as OpAttrs['unary']).fn, inputs };
    case 'binary': return { op: 'binary', fn: (node.attrs as OpAttrs['binary']).fn, inputs };
    case 'scale': return { op: 'scale', c: (node.attrs as OpAttrs['scale']).c, inputs };
    case 'matmul': return { op: 'matmul', inputs };
    case 'reshape': return { op: 'reshape' };
    case 'transpose': return { op: 'transpose', perm: (node.attrs as OpAttrs['transpose']).perm };
    case 'concat': return { op: 'concat', dim: (node.attrs as OpAttrs['concat']).dim };
    case 'reduce': {
      const { fn, dim, keepdim } = node.attrs as OpAttrs['reduce'];
      if (fn === 'mean') throw new Error('field program: mean must have been expanded');
      return { op: 'reduce', fn, dim, keepdim, inputs };
    }
    default:
      throw new Error(`field program: operator ${node.op} must have been expanded`);
  }
}

export interface ProgramEvalOptions {
  /** Doubles of sliced intermediates per block (SLICE_BUDGET); Infinity: never sliced. */
  readonly sliceBudget?: number;
}

/**
 * Evaluates every output of `program` from `inputs` (by input position, with at least
 * the lanes `analysis` needs). Intermediates are dropped after their last use.
 *
 * Large programs run in slices along dim 0 where every tensor on the way to the outputs
 * has it as a batch-like dimension (planSlices): the same operators on blocks of dim-0
 * indices, so that intermediates (attention's scores) are a block's, reused from block to
 * block, rather than whole tensors each freshly allocated. Each element is computed by the
 * same operations from the same operands either way. A softmax's max is not computed at all
 * (withoutSoftmaxMaxima): the result is the same residue without it.
 */
export function evaluateProgram(
  original: FieldProgram, originalAnalysis: LaneAnalysis, inputs: readonly FieldTensor[], ctx: EvalContext, options: ProgramEvalOptions = {},
): FieldTensor[] {
  const { program, analysis } = withoutSoftmaxMaxima(original, originalAnalysis);
  const plan = planSlices(program, analysis, options.sliceBudget ?? SLICE_BUDGET);
  if (plan !== undefined) return evaluateSliced(program, analysis, inputs, ctx, plan);
  const lastUse = program.nodes.map(() => -1);
  program.nodes.forEach((node, i) => { for (const o of node.inputs) lastUse[o] = i; });
  for (const output of program.outputs) lastUse[output.node] = program.nodes.length;
  const values: (FieldTensor | undefined)[] = new Array<FieldTensor | undefined>(program.nodes.length);
  program.nodes.forEach((node, i) => {
    if (node.spec.op === 'input') {
      values[i] = inputs[node.spec.index];
    } else if (analysis.need[i] !== 0) {
      const out = allocateTensor(node.shape, analysis.need[i]!);
      evaluateOpInto(node.spec, node.inputs.map((o) => values[o]!), out, ctx, `program node ${i} (${node.spec.op})`);
      values[i] = out;
    }
    for (const o of node.inputs) if (lastUse[o] === i) values[o] = undefined;
  });
  return program.outputs.map((o) => values[o.node]!);
}

/**
 * The program with every softmax's max left out, the same function residue for residue:
 * softmax(x) = e / Σe with e = exp(x - m) and m = max(x) along the same dim (keepdim), as
 * expandComposites writes it. Whatever m is, exp(x - m) = exp(x)·c with c = ω^(-m) (exp
 * is a homomorphism from Z_q: exact), one c per row of the reduced dim, nonzero; then
 * Σe = c·Σexp(x) and e / Σe = exp(x)·c·inv(c)·inv(Σexp(x)) = exp(x) / Σexp(x), inversion
 * being multiplicative for every argument (1/0 = 0), and Σe is zero exactly where Σexp(x)
 * is (the same draws are redrawn). So e's node reads x directly and the max and the
 * subtraction are not evaluated: 2 passes over attention's scores of 5, and a keyed hash
 * per score. Applied only where the max, the difference, e and Σe are read by nothing
 * else (and are not outputs); the μGraph side computes its maxima as written.
 */
export function withoutSoftmaxMaxima(program: FieldProgram, analysis: LaneAnalysis): { program: FieldProgram; analysis: LaneAnalysis } {
  const nodes = program.nodes;
  const readers = nodes.map((): number[] => []);
  nodes.forEach((node, i) => { for (const o of node.inputs) readers[o]!.push(i); });
  for (const o of program.outputs) readers[o.node]!.push(-1);
  const only = (i: number, ...users: number[]) => readers[i]!.length === users.length && readers[i]!.every((r, k) => r === users[k]);
  let rewritten: FieldProgramNode[] | undefined;
  let need: LaneSet[] | undefined;
  nodes.forEach((node, r) => {
    const div = node.spec;
    if (div.op !== 'binary' || div.fn !== 'div') return;
    const [e, sum] = node.inputs as [number, number];
    const [eSpec, sumSpec] = [nodes[e]!.spec, nodes[sum]!.spec];
    if (eSpec.op !== 'unary' || eSpec.fn !== 'exp' || sumSpec.op !== 'reduce' || sumSpec.fn !== 'sum' || !sumSpec.keepdim) return;
    if (nodes[sum]!.inputs[0] !== e || !only(sum, r) || !only(e, sum, r)) return;
    const d = nodes[e]!.inputs[0]!;
    const dSpec = nodes[d]!.spec;
    if (dSpec.op !== 'binary' || dSpec.fn !== 'sub' || !only(d, e)) return;
    const [x, m] = nodes[d]!.inputs as [number, number];
    const mSpec = nodes[m]!.spec;
    if (mSpec.op !== 'reduce' || mSpec.fn !== 'max' || !mSpec.keepdim || nodes[m]!.inputs[0] !== x || !only(m, d)) return;
    // The max and the sum along the same dim: c is constant along the dim Σ reduces.
    const rank = nodes[x]!.shape.length;
    if ((mSpec.dim + rank) % rank !== (sumSpec.dim + rank) % rank || formatShapeKey(nodes[e]!.shape) !== formatShapeKey(nodes[x]!.shape)) return;
    rewritten ??= [...nodes];
    need ??= [...analysis.need];
    rewritten[e] = { spec: { op: 'unary', fn: 'exp', inputs: [x] }, inputs: [x], shape: nodes[e]!.shape };
    need[d] = 0;
    need[m] = 0;
  });
  if (rewritten === undefined) return { program, analysis };
  return { program: { ...program, nodes: rewritten }, analysis: { ...analysis, need: need! } };
}

const formatShapeKey = (shape: Shape) => shape.join('x');

/** How a node is computed when the program runs in slices. */
const enum Mode { Unused, Sliced, Whole }

export interface SlicePlan {
  /** Per node: computed per block of dim-0 indices, whole (once, before the blocks), or not needed. */
  readonly mode: readonly Mode[];
  /** Per node, per operand: whether the node reads a block of it (else all of it). */
  readonly readsBlock: readonly (readonly boolean[])[];
  /** Dim 0 of every sliced node. */
  readonly size: number;
  /** Dim-0 indices per block. */
  readonly block: number;
}

/** Doubles of sliced intermediates per block aimed at (32 MB): far below attention's 134 MB score lanes. */
export const SLICE_BUDGET = 1 << 22;
/** Rows per block at least, where a block's matmul re-packs an operand common to all blocks. */
const MIN_REPACK_ROWS = 64;

/**
 * Whether and how `program` runs in blocks along dim 0 (undefined: it runs whole). From
 * the outputs back (those whose dim 0 is the first output's are sliced, others whole), a node read by a sliced node is sliced too when its dim 0 is the
 * reader's dim 0: the same operand of an elementwise operator (not broadcast along it), a
 * matmul's batch dim (rank 3 up) or its rows (rank 2: A sliced, B whole), a reduction or
 * concatenation along another dim, a transpose that keeps dim 0 first, a reshape that keeps
 * its size. Anything else read by a sliced node stops the plan (it runs whole); a node any
 * reader needs whole is computed whole, and sliced readers read blocks of it.
 */
export function planSlices(program: FieldProgram, analysis: LaneAnalysis, budget = SLICE_BUDGET): SlicePlan | undefined {
  const nodes = program.nodes;
  const outputs = program.outputs.map((o) => o.node);
  const size = nodes[outputs[0]!]?.shape[0];
  if (size === undefined || size < 2) return undefined;
  const mode: Mode[] = nodes.map(() => Mode.Unused);
  const readsBlock: boolean[][] = nodes.map((n) => n.inputs.map(() => false));
  // Outputs with another dim 0 (or none) are computed whole.
  for (const o of outputs) mode[o] = nodes[o]!.shape[0] === size ? Mode.Sliced : Mode.Whole;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (mode[i] === Mode.Unused || analysis.need[i] === 0) {
      mode[i] = Mode.Unused;
      continue;
    }
    if (node.shape[0] !== size) {
      if (mode[i] === Mode.Sliced) return undefined;
    }
    for (let k = 0; k < node.inputs.length; k++) {
      const o = node.inputs[k]!;
      const sliced = mode[i] === Mode.Sliced ? operandSliced(node, nodes[o]!.shape, k) : false;
      if (sliced === undefined) return undefined;
      readsBlock[i]![k] = sliced;
      if (!sliced) mode[o] = Mode.Whole;
      else if (mode[o] === Mode.Unused) mode[o] = Mode.Sliced;
    }
  }
  let perIndex = 0;
  let repacks = false;
  nodes.forEach((node, i) => {
    if (mode[i] !== Mode.Sliced || node.spec.op === 'input') return;
    const lanes = (analysis.need[i]! & LANE_P ? 1 : 0) + (analysis.need[i]! & LANE_Q ? 1 : 0);
    perIndex += lanes * (numel(node.shape) / size);
    if (node.spec.op === 'matmul' && !readsBlock[i]![1]) repacks = true; // its B, read whole, packed again per block
  });
  let block = Math.max(1, Math.floor(budget / Math.max(1, perIndex)));
  if (repacks) block = Math.max(block, MIN_REPACK_ROWS);
  if (block >= size) return undefined;
  return { mode, readsBlock, size, block };
}

/** Whether operand k (of shape `own`) of a sliced node is read by blocks along dim 0; undefined: it cannot be. */
function operandSliced(node: FieldProgramNode, own: Shape, k: number): boolean | undefined {
  const out = node.shape;
  const spec = node.spec;
  switch (spec.op) {
    case 'unary':
    case 'scale':
      return true;
    case 'binary':
      return own.length === out.length && own[0] === out[0];
    case 'matmul':
      if (out.length === 2) return k === 0 && own.length === 2;
      return own.length === out.length && own[0] === out[0];
    case 'reduce': {
      const dim = spec.dim < 0 ? spec.dim + own.length : spec.dim;
      return dim === 0 ? undefined : true;
    }
    case 'transpose':
      return spec.perm[0] === 0 ? true : undefined;
    case 'reshape':
      return own.length > 0 && own[0] === out[0] ? true : undefined;
    case 'concat':
      return (spec.dim < 0 ? spec.dim + out.length : spec.dim) === 0 ? undefined : true;
    default:
      return undefined;
  }
}

function evaluateSliced(program: FieldProgram, analysis: LaneAnalysis, inputs: readonly FieldTensor[], ctx: EvalContext, plan: SlicePlan): FieldTensor[] {
  const nodes = program.nodes;
  const { mode, readsBlock, size, block } = plan;
  const whole: (FieldTensor | undefined)[] = new Array<FieldTensor | undefined>(nodes.length);
  const where = (i: number) => `program node ${i} (${nodes[i]!.spec.op})`;
  // Whole nodes first (they read only whole nodes), then the outputs' whole tensors, which blocks fill.
  nodes.forEach((node, i) => {
    if (mode[i] !== Mode.Whole) return;
    if (node.spec.op === 'input') {
      whole[i] = inputs[node.spec.index];
      return;
    }
    const out = allocateTensor(node.shape, analysis.need[i]!);
    evaluateOpInto(node.spec, node.inputs.map((o) => whole[o]!), out, ctx, where(i));
    whole[i] = out;
  });
  nodes.forEach((node, i) => {
    if (mode[i] === Mode.Sliced && node.spec.op === 'input') whole[i] = inputs[node.spec.index];
  });
  for (const { node: i } of program.outputs) if (mode[i] === Mode.Sliced && whole[i] === undefined) whole[i] = allocateTensor(nodes[i]!.shape, analysis.need[i]!);
  // Sliced intermediates: one buffer per node, sized for a block, reused by every block.
  const buffers = nodes.map((node, i) => (mode[i] === Mode.Sliced && whole[i] === undefined
    ? allocateTensor([block, ...node.shape.slice(1)], analysis.need[i]!) : undefined));
  const blockOf = (t: FieldTensor, from: number, count: number): FieldTensor => {
    const inner = numel(t.shape) / t.shape[0]!;
    const shape = [count, ...t.shape.slice(1)];
    const cut = (x: Float64Array | undefined) => x?.subarray(from * inner, (from + count) * inner);
    return { shape, p: cut(t.p), q: cut(t.q) };
  };
  const current: (FieldTensor | undefined)[] = new Array<FieldTensor | undefined>(nodes.length);
  for (let from = 0; from < size; from += block) {
    const count = Math.min(block, size - from);
    nodes.forEach((node, i) => {
      if (mode[i] !== Mode.Sliced) return;
      // Inputs and outputs: a block of the whole tensor; intermediates: the node's buffer.
      current[i] = whole[i] !== undefined ? blockOf(whole[i]!, from, count) : blockOf(buffers[i]!, 0, count);
      if (node.spec.op === 'input') return;
      const operands = node.inputs.map((o, k) => {
        if (!readsBlock[i]![k]) return whole[o]!;
        return mode[o] === Mode.Sliced ? current[o]! : blockOf(whole[o]!, from, count);
      });
      evaluateOpInto(node.spec, operands, current[i]!, ctx, where(i));
    });
  }
  return program.outputs.map((o) => whole[o.node]!);
}
