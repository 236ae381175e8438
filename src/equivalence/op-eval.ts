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
import { binaryKernel, concatLane, expLane, scaleLane, sqrtLane, squareLane, sumLane, transposeLane } from './field-kernels.js';
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
  prepareOp(spec, operands, out, ctx, where)();
}

/** One operator bound to its operands' and result's lanes, its shapes and constants decided once. */
export type Step = () => void;

/**
 * `spec` on `operands` into `out`, prepared: the returned step computes it from whatever
 * the bound lanes hold when it runs (block-eval.ts runs a step per workgroup and iteration).
 */
export function prepareOp(spec: FieldOpSpec, operands: readonly FieldTensor[], out: FieldTensor, ctx: EvalContext, where: string): Step {
  const x = operands[0]!;
  const lanes = laneList(out);
  const each = (step: (o: Float64Array, m: number, lane: number) => Step): Step => {
    const steps = lanes.map(([o, m, lane]) => step(o, m, lane));
    if (steps.length === 1) return steps[0]!;
    return () => { for (const s of steps) s(); };
  };
  switch (spec.op) {
    case 'constant':
      return each((o, m) => {
        const c = constantMod(spec.value, m);
        return () => o.fill(c);
      });
    case 'reshape':
      return each((o, _, lane) => {
        const from = need(x, lane, where);
        return () => o.set(from);
      });
    case 'transpose':
      return each((o, _, lane) => {
        const from = need(x, lane, where);
        return () => transposeLane(from, x.shape, spec.perm, o);
      });
    case 'concat':
      return each((o, _, lane) => {
        const parts = operands.map((t) => need(t, lane, where));
        const shapes = operands.map((t) => t.shape);
        return () => concatLane(parts, shapes, spec.dim, o, out.shape);
      });
    case 'matmul':
      return each((o, m, lane) => {
        const a = contiguousOperand(need(x, lane, where), x.shape);
        const b = contiguousOperand(need(operands[1]!, lane, where), operands[1]!.shape);
        return () => batchedMatmulMod(a, b, o, out.shape, m);
      });
    case 'scale':
      return each((o, m, lane) => {
        const from = need(x, lane, where);
        const c = constantMod(spec.c, m);
        return () => scaleLane(from, c, o, m);
      });
    case 'binary': {
      const y = operands[1]!;
      const check = spec.fn === 'div' && ctx.checkDenominators;
      return each((o, m, lane) => {
        const [a, b] = [need(x, lane, where), need(y, lane, where)];
        const kernel = binaryKernel(spec.fn, x.shape, y.shape, out.shape, m);
        return () => {
          if (check && b.includes(0)) throw new ZeroDenominatorError(where);
          kernel(a, b, o);
        };
      });
    }
    case 'reduce':
      if (spec.fn === 'sum') {
        return each((o, m, lane) => {
          const from = need(x, lane, where);
          return () => sumLane(from, x.shape, spec.dim, o, m);
        });
      }
      // The lane hashed: the q-lane when the operand has one (lanes.ts maxHashLane), else the p-lane.
      return () => maxReduceLanes(ctx.keys.words.max, x, x.shape, spec.dim, out.p, out.q);
    case 'unary':
      switch (spec.fn) {
        case 'square':
          return each((o, m, lane) => {
            const from = need(x, lane, where);
            return () => squareLane(from, o, m);
          });
        case 'sqrt':
        case 'rsqrt': {
          const invert = spec.fn === 'rsqrt';
          const check = invert && ctx.checkDenominators;
          return each((o, m, lane) => {
            const argument = need(x, lane, where);
            return () => {
              if (check && argument.includes(0)) throw new ZeroDenominatorError(where);
              sqrtLane(argument, o, m, invert);
            };
          });
        }
        case 'exp': {
          if (!out.p) return () => {};
          const [from, o] = [need(x, LANE_Q, where), out.p];
          return () => expLane(from, o);
        }
        default: {
          const [words, from] = [ctx.keys.words[spec.fn], need(x, LANE_P, where)];
          return () => opaqueLane(words, from, out.p, out.q);
        }
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
