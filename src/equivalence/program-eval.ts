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
import type { Shape } from '../ir/shape.js';
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

/**
 * Evaluates every output of `program` from `inputs` (by input position, with at least
 * the lanes `analysis` needs). Intermediates are dropped after their last use.
 */
export function evaluateProgram(program: FieldProgram, analysis: LaneAnalysis, inputs: readonly FieldTensor[], ctx: EvalContext): FieldTensor[] {
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
