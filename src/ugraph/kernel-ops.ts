/**
 * Kernel-graph nodes. A pre-defined kernel is one tensor-program primitive over storage
 * tensors (codegen has a tuned WGSL kernel for each); a custom kernel runs a block graph
 * per workgroup, with an explicit thread config. Custom kernels have one output per
 * saver; every other node has exactly one.
 */
import { type DType } from '../ir/dtype.js';
import { formatShape, numel, type Shape } from '../ir/shape.js';
import { BlockGraph } from './block-graph.js';
import {
  describeValue, expectArray, expectDType, expectFinite, expectInteger, expectOperands, expectRecord, expectShape, fail,
} from './check.js';
import { type CommonOpSpec, commonOpParts, describeParts, isCommonOp, type OpParts, parseCommonOp } from './common-ops.js';
import { parseThreadConfig, type ThreadConfig } from './thread-config.js';

/** A scalar constant in storage (rank 0); consumers broadcast it. */
export type KernelConstantSpec = { readonly op: 'constant'; readonly value: number; readonly dtype: DType; readonly inputs: readonly number[] };
/** Same elements (row-major), new shape. */
export type ReshapeSpec = { readonly op: 'reshape'; readonly shape: Shape; readonly inputs: readonly number[] };
/** Output dimension i is input dimension perm[i]. */
export type TransposeSpec = { readonly op: 'transpose'; readonly perm: readonly number[]; readonly inputs: readonly number[] };
/** Joins the inputs along `dim`. */
export type ConcatSpec = { readonly op: 'concat'; readonly dim: number; readonly inputs: readonly number[] };
export type PredefinedKernelSpec = CommonOpSpec | KernelConstantSpec | ReshapeSpec | TransposeSpec | ConcatSpec;

export interface CustomKernelNode {
  readonly op: 'custom';
  /** Storage tensors read; block-graph iterator k reads inputs[k]. */
  readonly inputs: readonly number[];
  readonly block: BlockGraph;
  readonly thread: ThreadConfig;
}

export type KernelNode = PredefinedKernelSpec | CustomKernelNode;

export interface KernelTensorInfo {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Index of the producing node; undefined for graph inputs. */
  readonly node: number | undefined;
}

export const PREDEFINED_KERNELS: readonly string[] = ['matmul', 'unary', 'binary', 'scale', 'reduce', 'constant', 'reshape', 'transpose', 'concat'];

export function kernelNodeParts(node: KernelNode): OpParts {
  switch (node.op) {
    case 'constant': return { name: 'constant', attrs: [String(node.value)] };
    case 'reshape': return { name: 'reshape', attrs: [`shape=${formatShape(node.shape)}`] };
    case 'transpose': return { name: 'transpose', attrs: [`perm=[${node.perm.join(', ')}]`] };
    case 'concat': return { name: 'concat', attrs: [`dim=${node.dim}`] };
    case 'custom': return { name: 'custom', attrs: [] };
    default: return commonOpParts(node);
  }
}

export function describeKernelNode(node: KernelNode): string {
  return describeParts(kernelNodeParts(node));
}

/** Checks one node against the tensors defined before it; returns it canonical with its outputs. */
export function parseKernelNode(
  raw: unknown, tensors: readonly KernelTensorInfo[], nodeIndex: number, where: string,
): { node: KernelNode; outputs: KernelTensorInfo[] } {
  const op = (raw as { op?: unknown } | null)?.op;
  const shapeOf = (id: number) => tensors[id]!.shape;
  const result = (node: KernelNode, shape: Shape, dtype: DType) => ({ node: Object.freeze(node), outputs: [info(shape, dtype, nodeIndex)] });
  if (isCommonOp(op)) {
    const { spec, shape } = parseCommonOp(raw, tensors.length, shapeOf, where);
    return result(spec, shape, commonDtype(spec.inputs, tensors, where));
  }
  switch (op) {
    case 'constant': {
      const r = expectRecord(raw, where, ['op', 'value', 'dtype', 'inputs']);
      const spec: KernelConstantSpec = {
        op, value: expectFinite(r.value, where, 'value'), dtype: expectDType(r.dtype, where, 'dtype'), inputs: expectOperands(r.inputs ?? [], 0, 0, where),
      };
      return result(spec, [], spec.dtype);
    }
    case 'reshape': {
      const r = expectRecord(raw, where, ['op', 'shape', 'inputs']);
      const inputs = expectOperands(r.inputs, 1, tensors.length, where);
      const shape = expectShape(r.shape, where, 'shape');
      const from = shapeOf(inputs[0]!);
      if (numel(shape) !== numel(from)) fail(where, `cannot reshape ${formatShape(from)} (${numel(from)} elements) into ${formatShape(shape)} (${numel(shape)})`);
      return result({ op, shape, inputs }, shape, tensors[inputs[0]!]!.dtype);
    }
    case 'transpose': {
      const r = expectRecord(raw, where, ['op', 'perm', 'inputs']);
      const inputs = expectOperands(r.inputs, 1, tensors.length, where);
      const from = shapeOf(inputs[0]!);
      const perm = Object.freeze(expectArray(r.perm, where, 'perm').map((d, i) => expectInteger(d, where, `perm[${i}]`, 0, from.length - 1)));
      if (perm.length !== from.length || new Set(perm).size !== perm.length) fail(where, `perm ${describeValue(r.perm)} is not a permutation of ${from.length} dims`);
      return result({ op, perm, inputs }, perm.map((d) => from[d]!), tensors[inputs[0]!]!.dtype);
    }
    case 'concat': {
      const r = expectRecord(raw, where, ['op', 'dim', 'inputs']);
      const inputs = expectOperands(r.inputs, 'any', tensors.length, where);
      const shapes = inputs.map(shapeOf);
      const first = shapes[0]!;
      const dim = expectInteger(r.dim, where, 'dim', 0, Math.max(first.length - 1, 0));
      if (first.length === 0) fail(where, 'cannot concatenate rank-0 tensors');
      if (shapes.some((s) => s.length !== first.length || s.some((d, i) => i !== dim && d !== first[i]))) {
        fail(where, `all dims but ${dim} must match: ${shapes.map(formatShape).join(', ')}`);
      }
      const shape = first.map((d, i) => (i === dim ? shapes.reduce((total, s) => total + s[dim]!, 0) : d));
      return result({ op, dim, inputs }, shape, commonDtype(inputs, tensors, where));
    }
    case 'custom':
      return parseCustomKernel(raw, tensors, nodeIndex, where);
    default:
      return fail(where, `unknown kernel ${describeValue(op)} (expected one of ${[...PREDEFINED_KERNELS, 'custom'].join(', ')})`);
  }
}

function parseCustomKernel(raw: unknown, tensors: readonly KernelTensorInfo[], nodeIndex: number, where: string) {
  const r = expectRecord(raw, where, ['op', 'inputs', 'block', 'thread']);
  const inputs = expectOperands(r.inputs, 'any', tensors.length, where);
  const blockSpec = r.block instanceof BlockGraph ? r.block.toJSON() : r.block;
  const block = new BlockGraph(blockSpec, inputs.map((id) => tensors[id]!.shape), `${where} > block`);
  const thread = parseThreadConfig(r.thread, `${where} > thread`);
  const node: CustomKernelNode = Object.freeze({ op: 'custom', inputs, block, thread });
  return { node, outputs: block.outputs.map((saver, k) => info(block.outputShapes[k]!, saver.dtype, nodeIndex)) };
}

/** Pre-defined kernels compute in their inputs' dtype and never cast implicitly. */
function commonDtype(inputs: readonly number[], tensors: readonly KernelTensorInfo[], where: string): DType {
  const dtypes = [...new Set(inputs.map((id) => tensors[id]!.dtype))];
  if (dtypes.length > 1) fail(where, `input dtypes differ (${inputs.map((id) => tensors[id]!.dtype).join(' vs ')}); kernels do not cast implicitly`);
  return dtypes[0]!;
}

export function info(shape: Shape, dtype: DType, node: number | undefined): KernelTensorInfo {
  return Object.freeze({ shape: Object.freeze([...shape]), dtype, node });
}
