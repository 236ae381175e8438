/**
 * An SVG diagram of a μGraph, for people: the kernel graph on top (graph inputs, one box
 * per kernel in dependency order, graph outputs, arrows for the storage tensors between
 * them), then one panel per custom kernel with its block graph: grid, for-loop range and
 * thread config in the heading, then the input iterators (imap, fmap, tile), the loop
 * body, the accumulators, the epilogue and the savers (omap), each phase in its own band
 * so the before/after-accumulation split is visible at a glance.
 *
 * Tensors are named as in the pretty-printer (pretty.ts): storage tensors by input name or
 * `%id`, block tensors `t<id>`, so a diagram and a listing of one μGraph read alike. The
 * output is a pure function of the graph and the options (no DOM, no measurement, fixed
 * number formatting): deterministic, so it can be snapshot-tested and committed.
 */
import { formatShape, type Shape } from '../ir/shape.js';
import type { BlockGraph } from './block-graph.js';
import { blockOpParts, type BlockOpSpec } from './block-ops.js';
import { formatCall } from './common-ops.js';
import { bandLabelBaseline, edgePath, layoutDag, LINE_HEIGHT, type LayoutNode, textWidth } from './diagram-layout.js';
import { edgeSvg, frameSvg, type NodeKind, nodeSvg, svgDocument, textSvg, translated } from './diagram-svg.js';
import { formatGridMap } from './grid.js';
import type { KernelGraph } from './kernel-graph.js';
import { type CustomKernelNode, type KernelNode, kernelNodeParts } from './kernel-ops.js';
import { formatThreadConfig } from './thread-config.js';

export interface DiagramOptions {
  /** A heading above the kernel graph, also the SVG's <title> (e.g. the program's name). */
  readonly title?: string;
  /** Draw a block-graph panel per custom kernel (default true); false draws the kernel graph only. */
  readonly blockGraphs?: boolean;
  /**
   * Prefix of the ids inside the SVG (an XML name; default `ugraph`). Ids are global in an
   * HTML page, so a page inlining several diagrams may give each its own.
   */
  readonly idPrefix?: string;
}

interface DiagramNode extends LayoutNode {
  readonly kind: NodeKind;
  readonly shape: 'box' | 'pill';
}

interface BandStyle {
  readonly label?: string;
  readonly fill: string;
  readonly stroke: string;
  readonly dashed?: boolean;
}

/** One part of the drawing: a heading and a DAG in bands, optionally framed as a panel. */
interface Section {
  readonly heading: readonly string[];
  readonly nodes: readonly DiagramNode[];
  readonly bands: readonly BandStyle[];
  readonly framed: boolean;
}

const MARGIN = 16;
const SECTION_GAP = 24;
const PANEL_PAD = 12;
const HEADING_GAP = 8;
const PANEL = { fill: '#fffdf4', stroke: '#c9a227' } as const;
const UNFRAMED: BandStyle = { fill: 'none', stroke: 'none' };

export function kernelGraphToSVG(graph: KernelGraph, options: DiagramOptions = {}): string {
  const idPrefix = options.idPrefix ?? 'ugraph';
  if (!/^[A-Za-z_][\w-]*$/.test(idPrefix)) throw new Error(`kernelGraphToSVG: idPrefix must be an XML name, got ${JSON.stringify(idPrefix)}`);
  const names = graph.tensors.map((_, id) => graph.inputs[id]?.name ?? `%${id}`);
  const sections = [
    kernelSection(graph, names, options.title),
    ...(options.blockGraphs === false ? [] : graph.customKernels.map(({ index, node }) => blockSection(graph, index, node, names))),
  ];
  // Every section spans the widest one, so the panels line up.
  const width = Math.max(...sections.map((s) => sectionSize(s, 0).width));
  const parts: string[] = [];
  let y = MARGIN;
  for (const section of sections) {
    const { height, content } = renderSection(section, width, idPrefix);
    parts.push(translated(MARGIN, y, content));
    y += height + SECTION_GAP;
  }
  return svgDocument(width + 2 * MARGIN, y - SECTION_GAP + MARGIN, options.title ?? 'μGraph', idPrefix, parts);
}

function kernelSection(graph: KernelGraph, names: readonly string[], title: string | undefined): Section {
  const typed = (id: number) => `${graph.tensors[id]!.dtype}${formatShape(graph.tensors[id]!.shape)}`;
  const boxOf = (id: number) => {
    const node = graph.tensors[id]!.node;
    return node === undefined ? id : graph.inputs.length + node;
  };
  const inputs = graph.inputs.map((input, id): DiagramNode => ({ kind: 'io', shape: 'pill', band: 0, sources: [], lines: [input.name, typed(id)] }));
  const kernels = graph.nodes.map((node, index): DiagramNode => {
    const results = graph.nodeOutputs[index]!.map((id) => `→ ${names[id]} ${typed(id)}`);
    const call = `#${index} ${formatCall(kernelNodeParts(node), node.inputs.map((id) => names[id]!))}`;
    const lines = node.op === 'custom'
      ? [call, `grid [${node.block.grid.join(', ')}] · for-loop ×${node.block.forloopRange}`, ...results]
      : [call, ...results];
    return { kind: kernelKind(node), shape: 'box', band: 1, sources: node.inputs.map(boxOf), lines };
  });
  const outputs = graph.outputs.map((o): DiagramNode => ({
    kind: 'io', shape: 'pill', band: 2, sources: [boxOf(o.tensor)], lines: [o.name, `= ${names[o.tensor]} ${typed(o.tensor)}`],
  }));
  const custom = graph.customKernels.length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const summary = `kernel graph: ${plural(graph.inputs.length, 'input')}, ${plural(graph.nodes.length, 'kernel')}`
    + `${custom > 0 ? ` (${custom} custom)` : ''}, ${plural(graph.outputs.length, 'output')}`;
  return {
    heading: title === undefined ? [summary] : [title, summary],
    nodes: [...inputs, ...kernels, ...outputs],
    bands: [UNFRAMED, UNFRAMED, UNFRAMED],
    framed: false,
  };
}

function kernelKind(node: KernelNode): NodeKind {
  switch (node.op) {
    case 'custom': return 'custom';
    case 'constant': return 'constant';
    case 'reshape': case 'transpose': case 'concat': return 'layout';
    default: return commonKind(node.op);
  }
}

function commonKind(op: 'matmul' | 'reduce' | 'unary' | 'binary' | 'scale'): NodeKind {
  return op === 'matmul' ? 'matmul' : op === 'reduce' ? 'reduce' : 'elementwise';
}

/** Bands of a block graph, in the order a workgroup runs them. */
const ITERATORS = 0;
const BODY = 1;
const ACCUMULATORS = 2;
const EPILOGUE = 3;
const SAVERS = 4;

function blockSection(graph: KernelGraph, index: number, node: CustomKernelNode, names: readonly string[]): Section {
  const block = node.block;
  const range = block.forloopRange;
  const iterators = block.inputs.map((iterator, k): DiagramNode => {
    const storage = node.inputs[k]!;
    const fmap = iterator.fmap === null ? 'none' : String(iterator.fmap);
    return {
      kind: 'io', shape: 'pill', band: ITERATORS, sources: [],
      lines: [
        `t${k} = iterate ${names[storage]}`,
        `imap ${formatGridMap(iterator.imap)} · fmap ${fmap}`,
        `tile ${formatShape(block.tensors[k]!.shape)} of ${graph.tensors[storage]!.dtype}${formatShape(graph.tensors[storage]!.shape)}`,
      ],
    };
  });
  const first = block.inputs.length;
  const ops = block.ops.map((op, i): DiagramNode => {
    const id = first + i;
    const sources = op.op === 'accum' && op.rescaleBy !== undefined ? [...op.inputs, op.rescaleBy] : op.inputs;
    return {
      kind: blockKind(op), shape: 'box', band: opBand(block, id), sources,
      lines: [`t${id} = ${formatCall(blockOpParts(op), op.inputs.map((x) => `t${x}`))}`, tileShape(block.tensors[id]!.shape)],
    };
  });
  const outputs = graph.nodeOutputs[index]!;
  const savers = block.outputs.map((saver, k): DiagramNode => ({
    kind: 'io', shape: 'pill', band: SAVERS, sources: [saver.tensor],
    lines: [`save t${saver.tensor} → ${names[outputs[k]!]}`, `omap ${formatGridMap(saver.omap)}`, `${saver.dtype}${formatShape(block.outputShapes[k]!)}`],
  }));
  const [x, y, z] = block.grid;
  const loop: Pick<BandStyle, 'fill' | 'stroke' | 'dashed'> = { fill: '#f4f7fd', stroke: '#7f9ed8', dashed: true };
  return {
    heading: [
      `custom kernel #${index}: block graph`,
      `grid [${x}, ${y}, ${z}] (${x * y * z} workgroup${x * y * z === 1 ? '' : 's'}) · for-loop range ${range}`,
      `thread: ${formatThreadConfig(node.thread)}`,
    ],
    nodes: [...iterators, ...ops, ...savers],
    bands: [
      { ...loop, label: range === 1 ? 'input iterators: one tile per workgroup' : `input iterators: tile i of each input, i = 0..${range - 1}` },
      { ...loop, label: `loop body, before accumulation: runs ${range} time${range === 1 ? '' : 's'}` },
      { fill: '#fdf3f1', stroke: '#d4766b', label: 'for-loop accumulators' },
      { fill: '#f6f7f9', stroke: '#b8bfcc', label: 'epilogue, after accumulation: runs once' },
      { fill: '#f6f7f9', stroke: '#b8bfcc', label: 'output savers: workgroup tiles concatenated along omap' },
    ],
    framed: true,
  };
}

function blockKind(op: BlockOpSpec): NodeKind {
  switch (op.op) {
    case 'accum': return 'accum';
    case 'constant': return 'constant';
    case 'concat': return 'layout';
    default: return commonKind(op.op);
  }
}

/**
 * The band of block tensor `id`: its phase, with accumulators apart. Constants are usable
 * in either phase, so one is drawn in the band of its earliest reader, next to its use.
 */
function opBand(block: BlockGraph, id: number): number {
  const { phase, op } = block.tensors[id]!;
  if (op?.op === 'accum') return ACCUMULATORS;
  if (phase === 'pre') return BODY;
  if (phase === 'post') return EPILOGUE;
  const readers = block.tensors.flatMap((t, reader) => (t.op?.inputs.includes(id) ? [opBand(block, reader)] : []));
  return readers.length > 0 ? Math.min(...readers) : BODY;
}

function tileShape(shape: Shape): string {
  return shape.length === 0 ? 'scalar' : formatShape(shape);
}

function headingHeight(section: Section): number {
  return section.heading.length * LINE_HEIGHT + HEADING_GAP;
}

function sectionSize(section: Section, minWidth: number): { width: number; layout: ReturnType<typeof layoutDag> } {
  const pad = section.framed ? PANEL_PAD : 0;
  const layout = layoutDag(section.nodes, { bandLabels: section.bands.map((b) => b.label), minWidth: minWidth - 2 * pad });
  const width = Math.max(layout.width, ...section.heading.map(textWidth)) + 2 * pad;
  return { width: Math.ceil(width), layout };
}

/** The section laid out in `width` (its own coordinates, top-left at 0,0). */
function renderSection(section: Section, width: number, idPrefix: string): { height: number; content: string[] } {
  const pad = section.framed ? PANEL_PAD : 0;
  const { layout } = sectionSize(section, width);
  const top = pad + headingHeight(section);
  const height = top + layout.height + pad;
  const heading = section.heading.map((line, i) => textSvg(pad, pad + LINE_HEIGHT * (i + 0.75), line, { role: i === 0 ? 'title' : 'detail' }));
  const labelled = layout.bands.flatMap(({ band, ...rect }) => {
    const style = section.bands[band]!;
    return style.label === undefined ? [] : [{ rect, style, label: style.label }];
  });
  const frames = labelled.map(({ rect, style }) => frameSvg(rect, style));
  // Labels go over the edges (with a halo), or a long edge could run through one.
  const labels = labelled.map(({ rect, style, label }) => textSvg(rect.x + 8, bandLabelBaseline(rect), label, { halo: style.fill }));
  const { boxes } = layout;
  const edges = section.nodes.flatMap((node, i) =>
    node.sources.map((source, k) => edgeSvg(edgePath(boxes[source]!, boxes[i]!, k, node.sources.length), idPrefix)));
  const nodes = section.nodes.map((node, i) => nodeSvg(boxes[i]!, node.kind, node.lines, node.shape));
  const content = [
    ...(section.framed ? [frameSvg({ x: 0, y: 0, width, height }, PANEL)] : []),
    ...heading,
    translated(pad, top, [...frames, ...edges, ...labels, ...nodes]),
  ];
  return { height, content };
}
