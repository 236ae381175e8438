/**
 * Human-readable listings of μGraphs, for `mugraph explain`, error reports and snapshot
 * tests. A block graph prints in the order a workgroup runs it: inputs, loop body,
 * accumulators, epilogue, outputs; a kernel graph prints one node per line with custom
 * kernels expanded beneath.
 */
import { formatShape } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';
import { blockOpParts, type Phase } from './block-ops.js';
import { formatCall } from './common-ops.js';
import { formatGridMap } from './grid.js';
import type { KernelGraph } from './kernel-graph.js';
import { kernelNodeParts } from './kernel-ops.js';
import { formatThreadConfig } from './thread-config.js';

const SECTIONS: readonly { title: string; phase: Phase; accum: boolean }[] = [
  { title: 'constants', phase: 'const', accum: false },
  { title: 'loop body', phase: 'pre', accum: false },
  { title: 'accumulators', phase: 'post', accum: true },
  { title: 'epilogue', phase: 'post', accum: false },
];

/** Lines of a block graph; `inputNames` name the storage tensors read, `outputNames` those written. */
export function prettyBlockGraph(
  block: BlockGraph, inputNames: readonly string[], outputNames = block.outputs.map((_, k) => `out${k}`), indent = '',
): string {
  const lines = [`${indent}grid [${block.grid.join(', ')}], forloop ${block.forloopRange}`, `${indent}inputs`];
  block.inputs.forEach((iterator, k) => {
    const fmap = iterator.fmap === null ? '' : ` fmap ${iterator.fmap}`;
    lines.push(`${indent}  t${k} ${formatShape(block.tensors[k]!.shape)} = iterate ${inputNames[k]} imap ${formatGridMap(iterator.imap)}${fmap}`);
  });
  const first = block.inputs.length;
  for (const section of SECTIONS) {
    const members = block.ops.flatMap((op, i) => {
      const tensor = block.tensors[first + i]!;
      return tensor.phase === section.phase && (op.op === 'accum') === section.accum ? [first + i] : [];
    });
    if (members.length === 0) continue;
    lines.push(`${indent}${section.title}`);
    for (const id of members) {
      const op = block.tensors[id]!.op!;
      lines.push(`${indent}  t${id} ${formatShape(block.tensors[id]!.shape)} = ${formatCall(blockOpParts(op), op.inputs.map((x) => `t${x}`))}`);
    }
  }
  lines.push(`${indent}outputs`);
  block.outputs.forEach((saver, k) => {
    lines.push(`${indent}  ${outputNames[k]} ${saver.dtype}${formatShape(block.outputShapes[k]!)} = save t${saver.tensor} omap ${formatGridMap(saver.omap)}`);
  });
  return lines.join('\n');
}

export function prettyKernelGraph(graph: KernelGraph): string {
  const names = graph.tensors.map((_, id) => graph.inputs[id]?.name ?? `%${id}`);
  const header = graph.inputs.map((x) => `${x.name}: ${x.dtype}${formatShape(x.shape)}`).join(', ');
  const lines = [`kernel graph (${header})`];
  graph.nodes.forEach((node, index) => {
    const ids = graph.nodeOutputs[index]!;
    const results = ids.map((id) => `${names[id]}: ${graph.tensors[id]!.dtype}${formatShape(graph.tensors[id]!.shape)}`).join(', ');
    lines.push(`  ${results} = ${formatCall(kernelNodeParts(node), node.inputs.map((id) => names[id]!))}`);
    if (node.op === 'custom') {
      lines.push(`      ${formatThreadConfig(node.thread)}`);
      lines.push(prettyBlockGraph(node.block, node.inputs.map((id) => names[id]!), ids.map((id) => names[id]!), '      '));
    }
  });
  lines.push(`  return { ${graph.outputs.map((o) => `${o.name}: ${names[o.tensor]}`).join(', ')} }`);
  return lines.join('\n');
}
