import { broadcastShapes, reducedShape, type Shape } from '../ir/shape.js';
import { Program } from './program.js';
import { type BinaryOp, type OpAttrs, type ReduceOp, Tensor, type UnaryOp } from './tensor.js';

/**
 * Rewrites composite operators into primitives, the form search and lowering work on:
 *   rmsNorm(x, dim, eps)[·w] = x · rsqrt(mean(x², dim, keep) + eps) [· w]
 *   softmax(x, dim)          = e / sum(e, dim, keep)  where e = exp(x - max(x, dim, keep))
 *   mean(x, dim)             = scale(sum(x, dim), 1/n)
 * Every new node keeps the composite's call site, so errors still point at the user's line.
 * Already primitive programs come back unchanged (same object).
 */
export function expandComposites(program: Program): Program {
  const mapped = new Map<Tensor, Tensor>();
  let changed = false;
  for (const node of program.nodes) {
    const inputs = node.inputs.map((x) => mapped.get(x)!);
    const make = nodeMaker(node);
    let result: Tensor;
    if (node.op === 'rmsNorm') {
      const { dim, eps } = node.attrs as OpAttrs['rmsNorm'];
      const [x, weight] = inputs as [Tensor, Tensor | undefined];
      const meanSquare = mean(make, make.unary('square', x), dim);
      const normalized = make.binary('mul', x, make.unary('rsqrt', make.binary('add', meanSquare, make.constant(eps))));
      result = weight ? make.binary('mul', normalized, weight) : normalized;
    } else if (node.op === 'softmax') {
      const { dim } = node.attrs as OpAttrs['softmax'];
      const x = inputs[0]!;
      const e = make.unary('exp', make.binary('sub', x, make.reduce('max', x, dim, true)));
      result = make.binary('div', e, make.reduce('sum', e, dim, true));
    } else if (node.op === 'reduce' && node.attrs.fn === 'mean') {
      const { dim, keepdim } = node.attrs as OpAttrs['reduce'];
      result = mean(make, inputs[0]!, dim, keepdim);
    } else if (inputs.some((x, i) => x !== node.inputs[i])) {
      result = new Tensor(node.op, node.attrs, inputs, node.shape, node.dtype, node.owner, node.site);
    } else {
      result = node;
    }
    changed ||= result !== node;
    mapped.set(node, result);
  }
  if (!changed) return program;
  const outputs = program.outputs.map((o) => ({ name: o.name, tensor: mapped.get(o.tensor)! }));
  const inputs = program.inputs.map((x) => mapped.get(x) ?? x);
  return new Program(program.name, inputs, outputs, program.site);
}

function mean(make: NodeMaker, x: Tensor, dim: number, keepdim = true): Tensor {
  return make.scale(make.reduce('sum', x, dim, keepdim), 1 / x.shape[dim]!);
}

type NodeMaker = ReturnType<typeof nodeMaker>;

/** Builds primitive nodes that inherit the dtype, owner and site of the composite they replace. */
function nodeMaker(origin: Tensor) {
  const make = (op: keyof OpAttrs, attrs: object, inputs: Tensor[], shape: Shape) =>
    new Tensor(op, { ...attrs }, inputs, shape, origin.dtype, origin.owner, origin.site);
  return {
    constant: (value: number) => make('const', { value }, [], []),
    unary: (fn: UnaryOp, x: Tensor) => make('unary', { fn }, [x], x.shape),
    binary: (fn: BinaryOp, a: Tensor, b: Tensor) => make('binary', { fn }, [a, b], broadcastShapes(a.shape, b.shape)!),
    scale: (x: Tensor, c: number) => make('scale', { c }, [x], x.shape),
    reduce: (fn: ReduceOp, x: Tensor, dim: number, keepdim: boolean) =>
      make('reduce', { fn, dim, keepdim }, [x], reducedShape(x.shape, dim, keepdim)),
  };
}
