/**
 * Operators that exist at both levels of a μGraph: matmul, elementwise unary and binary
 * (with broadcasting), scale and reductions. Kernel graphs run them as pre-defined
 * kernels over storage tensors; block graphs run them on tiles. One parser and one shape
 * rule serve both, so the levels cannot drift apart.
 */
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from '../frontend/tensor.js';
import { formatShape, type Shape } from '../ir/shape.js';
import { expectBoolean, expectFinite, expectInteger, expectOneOf, expectOperands, expectRecord, fail } from './check.js';
import { broadcastShape, matmulShape, reduceShape } from './shape-rules.js';

export const REDUCE_FNS = ['sum', 'max'] as const;
export type ReduceFn = (typeof REDUCE_FNS)[number];

export type MatmulSpec = { readonly op: 'matmul'; readonly inputs: readonly number[] };
export type UnarySpec = { readonly op: 'unary'; readonly fn: UnaryOp; readonly inputs: readonly number[] };
export type BinarySpec = { readonly op: 'binary'; readonly fn: BinaryOp; readonly inputs: readonly number[] };
/** x * c. */
export type ScaleSpec = { readonly op: 'scale'; readonly c: number; readonly inputs: readonly number[] };
/** Folds `dim` with `fn`; `keepdim` keeps it with size 1. */
export type ReduceSpec = { readonly op: 'reduce'; readonly fn: ReduceFn; readonly dim: number; readonly keepdim: boolean; readonly inputs: readonly number[] };
export type CommonOpSpec = MatmulSpec | UnarySpec | BinarySpec | ScaleSpec | ReduceSpec;

export const COMMON_OPS: readonly string[] = ['matmul', 'unary', 'binary', 'scale', 'reduce'];

export function isCommonOp(op: unknown): op is CommonOpSpec['op'] {
  return COMMON_OPS.includes(op as string);
}

/**
 * Checks a common op (fields, operand ids < `available`) and infers its result shape.
 * Returns the op in canonical form: fixed key order, frozen.
 */
export function parseCommonOp(
  raw: unknown, available: number, shapeOf: (id: number) => Shape, where: string,
): { spec: CommonOpSpec; shape: Shape } {
  const op = (raw as { op?: unknown } | null)?.op;
  switch (op) {
    case 'matmul': {
      expectRecord(raw, where, ['op', 'inputs']);
      const inputs = expectOperands((raw as MatmulSpec).inputs, 2, available, where);
      return done({ op, inputs }, matmulShape(shapeOf(inputs[0]!), shapeOf(inputs[1]!), where));
    }
    case 'unary': {
      const r = expectRecord(raw, where, ['op', 'fn', 'inputs']);
      const fn = expectOneOf(r.fn, UNARY_OPS, where, 'fn');
      const inputs = expectOperands(r.inputs, 1, available, where);
      return done({ op, fn, inputs }, shapeOf(inputs[0]!));
    }
    case 'binary': {
      const r = expectRecord(raw, where, ['op', 'fn', 'inputs']);
      const fn = expectOneOf(r.fn, BINARY_OPS, where, 'fn');
      const inputs = expectOperands(r.inputs, 2, available, where);
      return done({ op, fn, inputs }, broadcastShape(shapeOf(inputs[0]!), shapeOf(inputs[1]!), where));
    }
    case 'scale': {
      const r = expectRecord(raw, where, ['op', 'c', 'inputs']);
      const c = expectFinite(r.c, where, 'c');
      const inputs = expectOperands(r.inputs, 1, available, where);
      return done({ op, c, inputs }, shapeOf(inputs[0]!));
    }
    case 'reduce': {
      const r = expectRecord(raw, where, ['op', 'fn', 'dim', 'keepdim', 'inputs']);
      const fn = expectOneOf(r.fn, REDUCE_FNS, where, 'fn');
      const inputs = expectOperands(r.inputs, 1, available, where);
      const x = shapeOf(inputs[0]!);
      if (x.length === 0) fail(where, 'cannot reduce a rank-0 tensor');
      const dim = expectInteger(r.dim, where, `dim (of ${formatShape(x)})`, 0, x.length - 1);
      const keepdim = expectBoolean(r.keepdim, where, 'keepdim');
      return done({ op, fn, dim, keepdim, inputs }, reduceShape(x, dim, keepdim));
    }
    default:
      return fail(where, `not a common operator: ${String(op)}`);
  }
}

function done(spec: CommonOpSpec, shape: Shape): { spec: CommonOpSpec; shape: Shape } {
  return { spec: Object.freeze(spec), shape };
}

/** An op's name and attributes for listings: `{ name: 'reduce max', attrs: ['dim=2', 'keepdim'] }`. */
export interface OpParts {
  readonly name: string;
  readonly attrs: readonly string[];
}

export function commonOpParts(spec: CommonOpSpec): OpParts {
  switch (spec.op) {
    case 'matmul': return { name: 'matmul', attrs: [] };
    case 'unary':
    case 'binary': return { name: spec.fn, attrs: [] };
    case 'scale': return { name: 'scale', attrs: [`c=${spec.c}`] };
    case 'reduce': return { name: spec.fn, attrs: [`dim=${spec.dim}`, ...(spec.keepdim ? ['keepdim'] : [])] };
  }
}

/** `name(attrs)` for error messages, e.g. `max(dim=2, keepdim)`. */
export function describeParts({ name, attrs }: OpParts): string {
  return attrs.length > 0 ? `${name}(${attrs.join(', ')})` : name;
}

/** `name(args, attrs)` for listings, e.g. `max(t3, dim=2, keepdim)`. */
export function formatCall({ name, attrs }: OpParts, args: readonly string[]): string {
  return `${name}(${[...args, ...attrs].join(', ')})`;
}
