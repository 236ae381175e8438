/**
 * One operator on field tensors: the semantics every level shares (program nodes,
 * pre-defined kernels, block-graph operators), as in src/ugraph/eval-common.ts but over
 * lanes. An operator computes exactly the lanes its result is allocated with (lanes.ts
 * decides which are needed), reading the lanes of its operands that those need:
 *   - lane-wise arithmetic (add, sub, mul, div, scale, square, sqrt, rsqrt, matmul, sum,
 *     reshape, transpose, concat, constants): lane L from lanes L;
 *   - exp: its p-lane from the operand's q-lane; it has no q-lane;
 *   - opaque functions: both lanes from the operand's p-lane (silu, gelu, relu), or for
 *     max its q-lane when it has one (lanes.ts, maxHashLane).
 */
import type { Shape } from '../ir/shape.js';
import { numel } from '../ir/shape.js';
import type { CommonOpSpec } from '../ugraph/common-ops.js';
import { ZeroDenominatorError } from './errors.js';
import { constantMod, LANE_P, LANE_Q, type LaneSet, P, Q } from './field.js';
import { binaryLane, concatLane, expLane, scaleLane, sqrtLane, squareLane, sumLane, transposeLane } from './field-kernels.js';
import type { OpaqueKeys } from './keyed-hash.js';
import { maxReduceLanes, opaqueLane } from './opaque-kernels.js';
import { batchedMatmulMod, contiguousOperand } from './strided-matmul.js';

/** A tensor in the field: the lanes it carries (undefined: not computed, or none). */
export interface FieldTensor {
  readonly shape: Shape;
  readonly p: Float64Array | undefined;
  readonly q: Float64Array | undefined;
}

export function allocateTensor(shape: Shape, lanes: LaneSet): FieldTensor {
  const n = numel(shape);
  return {
    shape,
    p: lanes & LANE_P ? new Float64Array(n) : undefined,
    q: lanes & LANE_Q ? new Float64Array(n) : undefined,
  };
}

export interface EvalContext {
  readonly keys: OpaqueKeys;
  /** The program side: a zero divisor or rsqrt argument throws ZeroDenominatorError. */
  readonly checkDenominators: boolean;
}

/** The ops besides the common ones: what pre-defined kernels and block graphs add. */
export type FieldOpSpec =
  | CommonOpSpec
  | { readonly op: 'constant'; readonly value: number }
  | { readonly op: 'reshape' }
  | { readonly op: 'transpose'; readonly perm: readonly number[] }
  | { readonly op: 'concat'; readonly dim: number };

/** Computes `spec` on `operands` into `out` (allocated with the lanes wanted). */
export function evaluateOpInto(spec: FieldOpSpec, operands: readonly FieldTensor[], out: FieldTensor, ctx: EvalContext, where: string): void {
  const x = operands[0]!;
  const lanes = laneList(out);
  switch (spec.op) {
    case 'constant':
      for (const [o, m] of lanes) o.fill(constantMod(spec.value, m));
      return;
    case 'reshape':
      for (const [o, , lane] of lanes) o.set(need(x, lane, where));
      return;
    case 'transpose':
      for (const [o, , lane] of lanes) transposeLane(need(x, lane, where), x.shape, spec.perm, o);
      return;
    case 'concat':
      for (const [o, , lane] of lanes) concatLane(operands.map((t) => need(t, lane, where)), operands.map((t) => t.shape), spec.dim, o, out.shape);
      return;
    case 'matmul':
      for (const [o, m, lane] of lanes) {
        const y = operands[1]!;
        batchedMatmulMod(contiguousOperand(need(x, lane, where), x.shape), contiguousOperand(need(y, lane, where), y.shape), o, out.shape, m);
      }
      return;
    case 'scale':
      for (const [o, m, lane] of lanes) scaleLane(need(x, lane, where), constantMod(spec.c, m), o, m);
      return;
    case 'binary': {
      const y = operands[1]!;
      for (const [o, m, lane] of lanes) {
        const divisor = need(y, lane, where);
        if (spec.fn === 'div' && ctx.checkDenominators && divisor.includes(0)) throw new ZeroDenominatorError(where);
        binaryLane(spec.fn, need(x, lane, where), x.shape, divisor, y.shape, o, out.shape, m);
      }
      return;
    }
    case 'reduce':
      if (spec.fn === 'sum') {
        for (const [o, m, lane] of lanes) sumLane(need(x, lane, where), x.shape, spec.dim, o, m);
      } else {
        // The lane hashed: the q-lane when the operand has one (lanes.ts maxHashLane), else the p-lane.
        maxReduceLanes(ctx.keys.words.max, x, x.shape, spec.dim, out.p, out.q);
      }
      return;
    case 'unary':
      switch (spec.fn) {
        case 'square':
          for (const [o, m, lane] of lanes) squareLane(need(x, lane, where), o, m);
          return;
        case 'sqrt':
        case 'rsqrt':
          for (const [o, m, lane] of lanes) {
            const argument = need(x, lane, where);
            if (spec.fn === 'rsqrt' && ctx.checkDenominators && argument.includes(0)) throw new ZeroDenominatorError(where);
            sqrtLane(argument, o, m, spec.fn === 'rsqrt');
          }
          return;
        case 'exp':
          if (out.p) expLane(need(x, LANE_Q, where), out.p);
          return;
        default:
          opaqueLane(ctx.keys.words[spec.fn], need(x, LANE_P, where), out.p, out.q);
      }
  }
}

function laneList(t: FieldTensor): [Float64Array, number, number][] {
  const list: [Float64Array, number, number][] = [];
  if (t.p) list.push([t.p, P, LANE_P]);
  if (t.q) list.push([t.q, Q, LANE_Q]);
  return list;
}

/** A lane an operator reads; its absence is a bug in the lane analysis, not a verdict. */
function need(t: FieldTensor, lane: number, where: string): Float64Array {
  const data = lane === LANE_P ? t.p : t.q;
  if (data === undefined) throw new Error(`field evaluation: ${where} reads the ${lane === LANE_P ? 'p' : 'q'}-lane of an operand that lacks it`);
  return data;
}
