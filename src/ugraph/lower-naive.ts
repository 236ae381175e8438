/**
 * The naive lowering: a tensor program as a μGraph of pre-defined kernels only, one per
 * primitive of the expanded program (composites rmsNorm, softmax and mean are expanded
 * first). It is what `compile()` returns before the search exists, and the baseline every
 * searched μGraph must beat.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';
import { KernelGraphBuilder, type KernelTensorRef } from './builder.js';
import type { KernelGraph } from './kernel-graph.js';
import type { TargetProfile } from './target.js';

export function kernelGraphFromProgram(program: Program, target?: TargetProfile): KernelGraph {
  const expanded = expandComposites(program);
  const g = new KernelGraphBuilder(target ? { target } : {});
  const refs = new Map<Tensor, KernelTensorRef>();
  for (const input of expanded.inputs) refs.set(input, g.input(input.attrs.name as string, input.shape, input.dtype));
  for (const node of expanded.nodes) {
    if (node.op === 'input') continue;
    refs.set(node, lowerNode(g, node, node.inputs.map((x) => refs.get(x)!)));
  }
  for (const { name, tensor } of expanded.outputs) g.output(name, refs.get(tensor)!);
  return g.build();
}

function lowerNode(g: KernelGraphBuilder, node: Tensor, xs: readonly KernelTensorRef[]): KernelTensorRef {
  const [a, b] = xs as [KernelTensorRef, KernelTensorRef];
  switch (node.op) {
    case 'const': return g.constant((node.attrs as OpAttrs['const']).value, node.dtype);
    case 'unary': return g[(node.attrs as OpAttrs['unary']).fn](a);
    case 'binary': return g[(node.attrs as OpAttrs['binary']).fn](a, b);
    case 'scale': return g.scale(a, (node.attrs as OpAttrs['scale']).c);
    case 'matmul': return g.matmul(a, b);
    case 'reshape': return g.reshape(a, node.shape);
    case 'transpose': return g.transpose(a, (node.attrs as OpAttrs['transpose']).perm);
    case 'concat': return g.concat(xs, (node.attrs as OpAttrs['concat']).dim);
    case 'reduce': {
      const { fn, dim, keepdim } = node.attrs as OpAttrs['reduce'];
      if (fn === 'mean') throw new Error('lower-naive: mean must have been expanded');
      return g[fn](a, dim, { keepdim });
    }
    default:
      throw new Error(`lower-naive: operator ${node.op} must have been expanded before lowering`);
  }
}
