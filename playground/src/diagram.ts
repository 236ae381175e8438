/**
 * An SVG diagram of a μGraph's kernel graph: graph inputs on top, one box per kernel in
 * dependency order, graph outputs at the bottom, arrows for the storage tensors between
 * them. Custom kernels show their block graph as the pretty-printer lists it (grid,
 * for-loop, iterators, body, accumulators, savers). A pure function from KernelGraph to
 * SVG text (no DOM), so `mugraph explain` could reuse it.
 */
import { formatShape } from '../../src/ir/shape.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';
import type { KernelNode } from '../../src/ugraph/kernel-ops.js';
import { formatThreadConfig } from '../../src/ugraph/thread-config.js';

type Kind = 'input' | 'output' | 'matmul' | 'reduce' | 'elementwise' | 'constant' | 'layout' | 'custom';

interface Box {
  readonly kind: Kind;
  readonly lines: readonly string[];
  /** Boxes this one reads from (by box index), in operand order. */
  readonly sources: readonly number[];
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

const CHAR_WIDTH = 7.2;
const LINE_HEIGHT = 16;
const PAD_X = 12;
const PAD_Y = 8;
const ROW_GAP = 34;
const COLUMN_GAP = 18;
const MARGIN = 12;

const KIND_CLASS: Record<Kind, string> = {
  input: 'io', output: 'io', matmul: 'matmul', reduce: 'reduce', elementwise: 'elementwise',
  constant: 'constant', layout: 'layout', custom: 'custom',
};

export function kernelGraphSvg(graph: KernelGraph): string {
  const boxes = graphBoxes(graph);
  assignLayers(boxes);
  const { width, height } = place(boxes);
  const edges = boxes.flatMap((box) => box.sources.map((source, k) => edgePath(boxes[source]!, box, k, box.sources.length)));
  const body = boxes.map((box) => boxSvg(box)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="ugraph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">',
    '<path d="M0,0 L8,4 L0,8 z" class="arrow-head"/></marker></defs>',
    ...edges.map((d) => `<path d="${d}" class="edge" marker-end="url(#arrow)"/>`),
    body,
    '</svg>',
  ].join('\n');
}

/** One box per graph input, kernel node and graph output, in topological order. */
function graphBoxes(graph: KernelGraph): Box[] {
  const typed = (t: { dtype: string; shape: readonly number[] }) => `${t.dtype}${formatShape(t.shape)}`;
  const boxOfTensor = (id: number) => {
    const node = graph.tensors[id]!.node;
    return node === undefined ? id : graph.inputs.length + node;
  };
  const box = (kind: Kind, lines: string[], sources: number[]): Box => ({ kind, lines, sources, layer: 0, x: 0, y: 0, width: 0, height: 0 });
  const inputs = graph.inputs.map((input) => box('input', [input.name, typed(input)], []));
  const kernels = graph.nodes.map((node, index) => {
    const results = graph.nodeOutputs[index]!.map((id) => typed(graph.tensors[id]!)).join(', ');
    const lines = node.op === 'custom'
      ? [`custom kernel #${index} → ${results}`, formatThreadConfig(node.thread), ...node.block.pretty(node.inputs.map((id) => tensorName(graph, id))).split('\n')]
      : [graph.describeNode(index), results];
    return box(kindOf(node), lines, node.inputs.map(boxOfTensor));
  });
  const outputs = graph.outputs.map((o) => box('output', [o.name, typed(graph.tensors[o.tensor]!)], [boxOfTensor(o.tensor)]));
  return [...inputs, ...kernels, ...outputs];
}

function tensorName(graph: KernelGraph, id: number): string {
  return graph.inputs[id]?.name ?? `%${id}`;
}

function kindOf(node: KernelNode): Kind {
  switch (node.op) {
    case 'matmul': case 'reduce': case 'constant': case 'custom': return node.op;
    case 'unary': case 'binary': case 'scale': return 'elementwise';
    case 'reshape': case 'transpose': case 'concat': return 'layout';
  }
}

/**
 * Longest-path layers (inputs in layer 0, outputs below every kernel). A kernel with no
 * operands (a constant) sits just above its first reader rather than at the top.
 */
function assignLayers(boxes: Box[]): void {
  for (const box of boxes) {
    if (box.kind === 'output') continue;
    box.layer = box.sources.length === 0 ? (box.kind === 'input' ? 0 : 1) : 1 + Math.max(...box.sources.map((s) => boxes[s]!.layer));
  }
  const last = 1 + Math.max(0, ...boxes.filter((b) => b.kind !== 'output').map((b) => b.layer));
  for (const box of boxes) if (box.kind === 'output') box.layer = last;
  boxes.forEach((box, index) => {
    if (box.kind !== 'constant') return;
    const readers = boxes.filter((b) => b.sources.includes(index)).map((b) => b.layer);
    if (readers.length > 0) box.layer = Math.max(1, Math.min(...readers) - 1);
  });
}

/** Sizes every box, orders each layer by the mean x of its sources, centres the rows. */
function place(boxes: Box[]): { width: number; height: number } {
  for (const box of boxes) {
    box.width = Math.max(80, Math.max(...box.lines.map((l) => l.length)) * CHAR_WIDTH + 2 * PAD_X);
    box.height = box.lines.length * LINE_HEIGHT + 2 * PAD_Y;
  }
  const layers = Math.max(...boxes.map((b) => b.layer)) + 1;
  const rows = Array.from({ length: layers }, (_, layer) => boxes.filter((b) => b.layer === layer));
  const rowWidth = (row: Box[]) => row.reduce((sum, b) => sum + b.width, 0) + COLUMN_GAP * Math.max(0, row.length - 1);
  const width = Math.max(...rows.map(rowWidth)) + 2 * MARGIN;
  let y = MARGIN;
  for (const row of rows) {
    const centre = (b: Box) => (b.sources.length === 0 ? Infinity : b.sources.reduce((s, i) => s + boxes[i]!.x + boxes[i]!.width / 2, 0) / b.sources.length);
    row.sort((a, b) => centre(a) - centre(b));
    let x = (width - rowWidth(row)) / 2;
    for (const box of row) {
      box.x = x;
      box.y = y;
      x += box.width + COLUMN_GAP;
    }
    y += Math.max(0, ...row.map((b) => b.height)) + ROW_GAP;
  }
  return { width: Math.ceil(width), height: Math.ceil(y - ROW_GAP + MARGIN) };
}

/** A curve from the bottom of `from` to the top of `to`; operand k of n enters at its own port. */
function edgePath(from: Box, to: Box, k: number, n: number): string {
  const x1 = from.x + from.width / 2;
  const y1 = from.y + from.height;
  const x2 = to.x + (to.width * (k + 1)) / (n + 1);
  const y2 = to.y - 1;
  const bend = Math.max(ROW_GAP / 2, (y2 - y1) / 2);
  return `M${x1.toFixed(1)},${y1.toFixed(1)} C${x1.toFixed(1)},${(y1 + bend).toFixed(1)} ${x2.toFixed(1)},${(y2 - bend).toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`;
}

function boxSvg(box: Box): string {
  const monospace = box.kind === 'custom';
  const text = box.lines.map((line, i) => {
    const cls = i === 0 ? 'title' : 'detail';
    const x = monospace && i > 0 ? box.x + PAD_X : box.x + box.width / 2;
    const anchor = monospace && i > 0 ? 'start' : 'middle';
    const y = box.y + PAD_Y + LINE_HEIGHT * (i + 0.75);
    return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" class="${cls}" xml:space="preserve">${escapeXml(line)}</text>`;
  });
  const rx = box.kind === 'input' || box.kind === 'output' || box.kind === 'constant' ? box.height / 2 : 6;
  return `<g class="node ${KIND_CLASS[box.kind]}"><rect x="${box.x.toFixed(1)}" y="${box.y.toFixed(1)}" width="${box.width.toFixed(1)}" height="${box.height}" rx="${Math.min(rx, 18)}"/>${text.join('')}</g>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
