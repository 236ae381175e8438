/**
 * A subprogram: some operators of an (expanded) program as a program of their own, whose
 * inputs are the storage tensors they read (program inputs or other operators' results)
 * and whose outputs are the values the rest of the program needs. Built through the DSL
 * (GraphBuilder), operator by operator, so it passes every check a user's program does;
 * constants are not storage tensors: each subprogram that uses one has its own copy.
 */
import { type GraphBuilder } from '../frontend/builder.js';
import { buildProgram, type Program } from '../frontend/program.js';
import type { BinaryOp, OpAttrs, Tensor, UnaryOp } from '../frontend/tensor.js';

export interface Subprogram {
  readonly program: Program;
  /** The tensors of the whole (expanded) program its inputs stand for, in input order. */
  readonly inputs: readonly Tensor[];
  /** The tensors of the whole (expanded) program its outputs are, in output order. */
  readonly outputs: readonly Tensor[];
}

/**
 * `nodes` (operators of the expanded program, operands before users) as a program named `name`.
 * `label` names a tensor of the whole program (`%7`); a storage tensor that is not a
 * program input becomes an input named after it (`t7`).
 */
export function buildSubprogram(
  name: string, ordered: readonly Tensor[], outputs: readonly Tensor[], label: (t: Tensor) => string,
): Subprogram {
  const nodes = new Set(ordered);
  const inputs: Tensor[] = [];
  for (const node of ordered) {
    for (const x of node.inputs) if (!nodes.has(x) && x.op !== 'const' && !inputs.includes(x)) inputs.push(x);
  }
  // Program inputs keep their names; a cut tensor %7 is t7 (t7_ when a program input is already t7).
  const taken = new Set(inputs.filter((x) => x.op === 'input').map((x) => String(x.attrs.name)));
  const inputName = (t: Tensor) => {
    if (t.op === 'input') return String(t.attrs.name);
    let candidate = `t${label(t).slice(1)}`;
    while (taken.has(candidate)) candidate += '_';
    taken.add(candidate);
    return candidate;
  };
  const program = buildProgram(name, (g) => {
    const values = new Map<Tensor, Tensor | number>();
    for (const x of inputs) values.set(x, g.input(inputName(x), x.shape, x.dtype));
    const valueOf = (t: Tensor): Tensor | number => {
      if (t.op === 'const') return (t.attrs as OpAttrs['const']).value;
      return values.get(t)!;
    };
    for (const node of ordered) values.set(node, replay(g, node, node.inputs.map(valueOf)));
    return Object.fromEntries(outputs.map((t) => [`y${label(t).slice(1)}`, values.get(t)! as Tensor]));
  }, () => undefined);
  return { program, inputs, outputs };
}

/** One primitive operator through the builder's public method (a constant operand is a number). */
function replay(g: GraphBuilder, node: Tensor, operands: readonly (Tensor | number)[]): Tensor {
  const attrs = node.attrs as Record<string, unknown>;
  const [a, b] = operands as [Tensor, Tensor];
  switch (node.op) {
    case 'unary': return g[attrs.fn as UnaryOp](a);
    case 'binary': return g[attrs.fn as BinaryOp](a, b);
    case 'scale': return g.scale(a, (attrs as OpAttrs['scale']).c);
    case 'matmul': return g.matmul(a, b);
    case 'reduce': {
      const { fn, dim, keepdim } = attrs as OpAttrs['reduce'];
      return g[fn](a, dim, { keepdim });
    }
    case 'reshape': return g.reshape(a, node.shape);
    case 'transpose': return g.transpose(a, (attrs as OpAttrs['transpose']).perm);
    case 'concat': return g.concat(operands as Tensor[], (attrs as OpAttrs['concat']).dim);
    default: throw new Error(`subprogram: operator ${node.op} must have been expanded`);
  }
}
