/**
 * Block-graph operators: what one workgroup computes on its tiles. Every block tensor
 * has a phase:
 *   - 'pre'   before accumulation: input-iterator tiles and the loop body, recomputed on
 *             every for-loop iteration;
 *   - 'post'  after accumulation: for-loop accumulators and the epilogue, computed once
 *             after the loop;
 *   - 'const' scalar constants (and scalar arithmetic on them), usable in either phase.
 * Rules (Mirage's `after_accum` discipline): an op's inputs must not mix 'pre' and 'post';
 * accumulators take 'pre' tensors and produce 'post' ones; savers take 'post' tensors.
 *
 * For-loop accumulators (iterations i = 0 .. forloopRange-1, x_i the input at iteration i):
 *   sum         A = Σ_i x_i                                      (shape of x)
 *   sumLastDim  A = Σ_i Σ_j x_i[..., j]                          (shape of x, last dim 1)
 *   maxRescale  M = max_i m_i, elementwise                       (shape of m)
 * and `sum` / `sumLastDim` may name a maxRescale accumulator in `rescaleBy`; then each
 * iteration's contribution is weighted by exp(m_i - M), broadcast to x's shape:
 *   sum         A = Σ_i x_i · exp(m_i - M)
 *   sumLastDim  A = Σ_i Σ_j x_i[..., j] · exp(m_i - M)
 * This is online softmax. The body computes a local max m_i = max(s_i) and local terms
 * relative to it (p_i = exp(s_i - m_i), p_i·V_i), so the body never reads the running
 * state; the accumulators merge them. Executed online (what codegen and the interpreter do):
 *   i = 0:  M = m_0;  A = x_0
 *   i > 0:  M' = max(M, m_i);  A = A · exp(M - M') + x_i · exp(m_i - M');  M = M'
 * (every companion updates with the old M before M is replaced). The same accumulators
 * merge split-KV partial results in a combine kernel (there m_i is a split's saved max).
 * Requirements: m's shape broadcasts to x's shape and to A's shape; m is 'pre'.
 */
import { formatShape, type Shape } from '../ir/shape.js';
import { expectFinite, expectInteger, expectOneOf, expectOperands, expectRecord, fail } from './check.js';
import { type CommonOpSpec, commonOpParts, describeParts, isCommonOp, type OpParts, parseCommonOp } from './common-ops.js';
import { broadcastsTo, reduceShape } from './shape-rules.js';

export type Phase = 'pre' | 'post' | 'const';

export const ACCUM_KINDS = ['sum', 'sumLastDim', 'maxRescale'] as const;
export type AccumKind = (typeof ACCUM_KINDS)[number];

/** A scalar (rank-0) constant; phase 'const'. */
export type BlockConstantSpec = { readonly op: 'constant'; readonly value: number; readonly inputs: readonly number[] };
/** A for-loop accumulator; `rescaleBy` (sum and sumLastDim only) is the id of a maxRescale accumulator. */
export type AccumSpec = {
  readonly op: 'accum';
  readonly kind: AccumKind;
  readonly inputs: readonly number[];
  readonly rescaleBy?: number;
};
/**
 * Joins tiles of one phase along `dim` (all other dims equal). LoRA's (X‖XA)·(W‖B) uses it
 * to fuse two matmuls that share an output into one with a longer inner dimension.
 */
export type BlockConcatSpec = { readonly op: 'concat'; readonly dim: number; readonly inputs: readonly number[] };
export type BlockOpSpec = CommonOpSpec | BlockConstantSpec | BlockConcatSpec | AccumSpec;

/** What the graph knows about each block tensor. `op` is undefined for input-iterator tiles. */
export interface BlockTensorInfo {
  readonly shape: Shape;
  readonly phase: Phase;
  readonly op: BlockOpSpec | undefined;
}

const PHASE_WORDS: Record<Phase, string> = {
  pre: 'before accumulation (loop body)',
  post: 'after accumulation (epilogue)',
  const: 'a constant',
};

export function describePhase(phase: Phase): string {
  return PHASE_WORDS[phase];
}

export function blockOpParts(spec: BlockOpSpec): OpParts {
  if (spec.op === 'constant') return { name: 'constant', attrs: [String(spec.value)] };
  if (spec.op === 'accum') return { name: `accum ${spec.kind}`, attrs: spec.rescaleBy === undefined ? [] : [`rescaleBy=t${spec.rescaleBy}`] };
  if (spec.op === 'concat') return { name: 'concat', attrs: [`dim=${spec.dim}`] };
  return commonOpParts(spec);
}

export function describeBlockOp(spec: BlockOpSpec): string {
  return describeParts(blockOpParts(spec));
}

/** Checks one block op against the tensors defined before it; returns it canonical with its result's shape and phase. */
export function parseBlockOp(raw: unknown, tensors: readonly BlockTensorInfo[], where: string): { spec: BlockOpSpec; info: BlockTensorInfo } {
  const op = (raw as { op?: unknown } | null)?.op;
  const shapeOf = (id: number) => tensors[id]!.shape;
  if (isCommonOp(op)) {
    const { spec, shape } = parseCommonOp(raw, tensors.length, shapeOf, where);
    return { spec, info: freezeInfo(shape, combinedPhase(spec, tensors, where), spec) };
  }
  if (op === 'constant') {
    const r = expectRecord(raw, where, ['op', 'value', 'inputs']);
    const spec: BlockConstantSpec = { op, value: expectFinite(r.value, where, 'value'), inputs: expectOperands(r.inputs ?? [], 0, 0, where) };
    return { spec: Object.freeze(spec), info: freezeInfo([], 'const', spec) };
  }
  if (op === 'accum') return parseAccum(raw, tensors, where);
  if (op === 'concat') return parseConcat(raw, tensors, where);
  return fail(where, `unknown block operator ${JSON.stringify(op)} (expected ${['matmul', 'unary', 'binary', 'scale', 'reduce', 'constant', 'concat', 'accum'].join(', ')})`);
}

/** The phase of an op's result: its inputs' phase; mixing 'pre' and 'post' is the phase violation. */
function combinedPhase(spec: BlockOpSpec, tensors: readonly BlockTensorInfo[], where: string): Phase {
  const phases = spec.inputs.map((id) => tensors[id]!.phase);
  const pre = phases.indexOf('pre');
  const post = phases.indexOf('post');
  if (pre >= 0 && post >= 0) {
    fail(where, `phase violation: input ${pre} (t${spec.inputs[pre]}) is ${describePhase('pre')} but input ${post} (t${spec.inputs[post]}) is ${describePhase('post')}; both inputs of an operator must be in the same phase`);
  }
  return pre >= 0 ? 'pre' : post >= 0 ? 'post' : 'const';
}

function parseConcat(raw: unknown, tensors: readonly BlockTensorInfo[], where: string): { spec: BlockOpSpec; info: BlockTensorInfo } {
  const r = expectRecord(raw, where, ['op', 'dim', 'inputs']);
  const inputs = expectOperands(r.inputs, 'any', tensors.length, where);
  if (inputs.length < 2) fail(where, 'concat needs at least two tiles');
  const shapes = inputs.map((id) => tensors[id]!.shape);
  const first = shapes[0]!;
  if (first.length === 0) fail(where, 'cannot concatenate rank-0 tiles');
  const dim = expectInteger(r.dim, where, 'dim', 0, first.length - 1);
  if (shapes.some((s) => s.length !== first.length || s.some((d, i) => i !== dim && d !== first[i]))) {
    fail(where, `all dims but ${dim} must match: ${shapes.map(formatShape).join(', ')}`);
  }
  const shape = first.map((d, i) => (i === dim ? shapes.reduce((total, s) => total + s[dim]!, 0) : d));
  const spec: BlockConcatSpec = Object.freeze({ op: 'concat', dim, inputs });
  return { spec, info: freezeInfo(shape, combinedPhase(spec, tensors, where), spec) };
}

function parseAccum(raw: unknown, tensors: readonly BlockTensorInfo[], where: string): { spec: BlockOpSpec; info: BlockTensorInfo } {
  const r = expectRecord(raw, where, ['op', 'kind', 'inputs', 'rescaleBy']);
  const kind = expectOneOf(r.kind, ACCUM_KINDS, where, 'kind');
  const inputs = expectOperands(r.inputs, 1, tensors.length, where);
  const x = tensors[inputs[0]!]!;
  if (x.phase !== 'pre') {
    fail(where, `accumulators take loop-body tensors, but t${inputs[0]} is ${describePhase(x.phase)}`);
  }
  if (kind === 'sumLastDim' && x.shape.length === 0) fail(where, 'sumLastDim needs an input of rank >= 1');
  const shape = kind === 'sumLastDim' ? reduceShape(x.shape, x.shape.length - 1, true) : x.shape;
  const hasRescale = r.rescaleBy !== undefined && r.rescaleBy !== null;
  if (!hasRescale) {
    const spec: AccumSpec = Object.freeze({ op: 'accum', kind, inputs });
    return { spec, info: freezeInfo(shape, 'post', spec) };
  }
  if (kind === 'maxRescale') fail(where, 'a maxRescale accumulator cannot itself be rescaled');
  const rescaleBy = expectInteger(r.rescaleBy, where, 'rescaleBy', 0, tensors.length - 1);
  const max = tensors[rescaleBy]!;
  if (max.op?.op !== 'accum' || max.op.kind !== 'maxRescale') {
    fail(where, `rescaleBy must name a maxRescale accumulator, but t${rescaleBy} is ${max.op ? describeBlockOp(max.op) : 'an input tile'}`);
  }
  if (!broadcastsTo(max.shape, x.shape) || !broadcastsTo(max.shape, shape)) {
    fail(where, `the running max t${rescaleBy} [${max.shape.join(', ')}] must broadcast to the accumulated tensor [${x.shape.join(', ')}] and to the result [${shape.join(', ')}]`);
  }
  const spec: AccumSpec = { op: 'accum', kind, inputs, rescaleBy };
  return { spec: Object.freeze(spec), info: freezeInfo(shape, 'post', spec) };
}

function freezeInfo(shape: Shape, phase: Phase, op: BlockOpSpec | undefined): BlockTensorInfo {
  return Object.freeze({ shape: Object.freeze([...shape]), phase, op });
}
