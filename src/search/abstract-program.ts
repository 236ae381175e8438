/**
 * Abstract values of a tensor program: the target of a search. Composites are expanded
 * first (rmsNorm, softmax, mean: frontend/expand.ts), exactly as search sees the program,
 * so rmsNorm(x) is x·inv(sqrt(sum[n](x·x)·(1/n) + eps)) and softmax(x) is
 * e·inv(sum[n](e)) with e = exp(x + (-1)·max(x)). Input i is the term v<i>.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';
import type { CommonOpSpec } from '../ugraph/common-ops.js';
import { commonOpValue, concatOpValue, constantValue, reshapeOpValue, transposeOpValue } from './abstract-ops.js';
import { type AbstractValue, term } from './abstract-value.js';
import { input } from './expr.js';

export interface ProgramAbstraction {
  /** The program after composite expansion (its nodes are the keys of `values`). */
  readonly program: Program;
  /** Every node's value. */
  readonly values: ReadonlyMap<Tensor, AbstractValue>;
  /** The outputs' values, in output order. */
  readonly outputs: readonly AbstractValue[];
}

export function abstractProgram(original: Program): ProgramAbstraction {
  const program = expandComposites(original);
  const values = new Map<Tensor, AbstractValue>();
  for (const node of program.nodes) {
    const inputs = node.inputs.map((x) => values.get(x)!);
    const shapes = node.inputs.map((x) => x.shape);
    values.set(node, nodeValue(node, inputs, shapes));
  }
  return { program, values, outputs: program.outputs.map((o) => values.get(o.tensor)!) };
}

function nodeValue(node: Tensor, inputs: readonly AbstractValue[], shapes: readonly (readonly number[])[]): AbstractValue {
  const attrs = node.attrs as Record<string, unknown>;
  switch (node.op) {
    case 'input': return term(input((attrs as OpAttrs['input']).index));
    case 'const': return constantValue((attrs as OpAttrs['const']).value);
    case 'reshape': return reshapeOpValue(inputs[0]!, shapes[0]!, node.shape);
    case 'transpose': return transposeOpValue(inputs[0]!, (attrs as OpAttrs['transpose']).perm);
    case 'concat': return concatOpValue(inputs, shapes, (attrs as OpAttrs['concat']).dim);
    case 'matmul':
    case 'unary':
    case 'binary':
    case 'scale':
    case 'reduce': {
      if (node.op === 'reduce' && attrs.fn === 'mean') throw new Error('abstractProgram: mean survived composite expansion');
      const spec = { op: node.op, ...attrs, inputs: [] } as unknown as CommonOpSpec;
      return commonOpValue(spec, inputs, shapes);
    }
    default:
      throw new Error(`abstractProgram: composite ${node.op} survived expansion`);
  }
}
