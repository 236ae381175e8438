/**
 * Layout of the μGraph diagram (diagram.ts): a layered drawing of a DAG whose nodes are
 * text boxes, used for both levels (the kernel graph, and each block graph). Nodes come
 * in topological order (every source has a smaller index), which both IR levels
 * guarantee by construction, so one forward pass assigns layers.
 *
 * Nodes belong to bands stacked top to bottom (kernel graph: inputs, kernels, outputs;
 * block graph: iterators, loop body, accumulators, epilogue, savers), so that the phase a
 * node belongs to is where it is drawn, not only what its label says. Within a band a node
 * sits one layer below its lowest same-band source (longest path). Rows are ordered by
 * the mean x of their sources (the barycentre heuristic): cheap, deterministic, and it
 * keeps most edges short. Sizes come from character counts of a monospace font, so no
 * text measurement (and no DOM) is needed.
 */

export interface LayoutNode {
  /** Text lines; the first is the title. */
  readonly lines: readonly string[];
  /** Indices of the nodes this one reads, in operand order; all smaller than its own. */
  readonly sources: readonly number[];
  /** Index into the bands; bands are drawn in index order. */
  readonly band: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedBand extends Rect {
  readonly band: number;
}

export interface Layout {
  /** One rectangle per node, by node index. */
  readonly boxes: readonly Rect[];
  /** The bands that hold nodes, with the area they span (their label above the first row). */
  readonly bands: readonly PlacedBand[];
  readonly width: number;
  readonly height: number;
}

export interface LayoutOptions {
  /** Bands with a label reserve a line above their rows for it. */
  readonly bandLabels: readonly (string | undefined)[];
  /** Rows are centred in at least this width (lets several drawings share one width). */
  readonly minWidth?: number;
}

/** Metrics of the diagram's monospace text (12px; a glyph is 0.6 em wide). */
export const CHAR_WIDTH = 7.2;
export const LINE_HEIGHT = 16;
export const PAD_X = 10;
export const PAD_Y = 6;
const ROW_GAP = 30;
const COLUMN_GAP = 16;
const BAND_GAP = 14;
const BAND_PAD = 10;
const MIN_BOX_WIDTH = 64;

/** Width of `text` in the diagram's font. */
export function textWidth(text: string): number {
  // Code points, not UTF-16 units: '→' and 'μ' are one glyph each.
  return [...text].length * CHAR_WIDTH;
}

export function layoutDag(nodes: readonly LayoutNode[], options: LayoutOptions): Layout {
  const sizes = nodes.map((node) => ({
    width: Math.max(MIN_BOX_WIDTH, Math.ceil(Math.max(...node.lines.map(textWidth)) + 2 * PAD_X)),
    height: node.lines.length * LINE_HEIGHT + 2 * PAD_Y,
  }));
  const rows = bandRows(nodes);
  const rowWidth = (row: readonly number[]) =>
    row.reduce((sum, i) => sum + sizes[i]!.width, 0) + COLUMN_GAP * Math.max(0, row.length - 1);
  const labelWidth = Math.max(0, ...options.bandLabels.map((label) => (label === undefined ? 0 : textWidth(label))));
  const content = Math.max(labelWidth, ...rows.flatMap((band) => band.rows.map(rowWidth)));
  const width = Math.ceil(Math.max(options.minWidth ?? 0, content + 2 * BAND_PAD));

  const boxes: Rect[] = new Array<Rect>(nodes.length);
  const bands: PlacedBand[] = [];
  const centreX = (i: number) => boxes[i]!.x + boxes[i]!.width / 2;
  let y = 0;
  for (const { band, rows: bandRowsList } of rows) {
    const top = y;
    y += BAND_PAD + (options.bandLabels[band] === undefined ? 0 : LINE_HEIGHT);
    for (const row of bandRowsList) {
      // Sources are in earlier rows, so already placed; a node without any goes last, in index order.
      const barycentre = (i: number) => {
        const sources = nodes[i]!.sources.filter((s) => boxes[s] !== undefined);
        return sources.length === 0 ? Infinity : sources.reduce((sum, s) => sum + centreX(s), 0) / sources.length;
      };
      const ordered = [...row].sort((a, b) => barycentre(a) - barycentre(b));
      let x = (width - rowWidth(ordered)) / 2;
      for (const i of ordered) {
        boxes[i] = { x, y, ...sizes[i]! };
        x += sizes[i]!.width + COLUMN_GAP;
      }
      y += Math.max(...row.map((i) => sizes[i]!.height)) + ROW_GAP;
    }
    y += BAND_PAD - ROW_GAP;
    bands.push({ band, x: 0, y: top, width, height: y - top });
    y += BAND_GAP;
  }
  return { boxes, bands, width, height: Math.max(0, y - BAND_GAP) };
}

/** Node indices per row, per non-empty band, bands in order. */
function bandRows(nodes: readonly LayoutNode[]): { band: number; rows: number[][] }[] {
  const depth: number[] = [];
  nodes.forEach((node, i) => {
    const same = node.sources.filter((s) => nodes[s]!.band === node.band);
    depth.push(same.length === 0 ? 0 : 1 + Math.max(...same.map((s) => depth[s]!)));
  });
  // A node that reads nothing (a constant) moves down to just above its first reader in
  // its band, rather than drawing a long edge from the band's top row.
  nodes.forEach((node, i) => {
    if (node.sources.length > 0) return;
    const readers = nodes.flatMap((reader, r) => (reader.band === node.band && reader.sources.includes(i) ? [depth[r]!] : []));
    if (readers.length > 0) depth[i] = Math.min(...readers) - 1;
  });
  const bands = [...new Set(nodes.map((node) => node.band))].sort((a, b) => a - b);
  return bands.map((band) => {
    const members = nodes.flatMap((node, i) => (node.band === band ? [i] : []));
    const rows = Array.from({ length: 1 + Math.max(...members.map((i) => depth[i]!)) }, (_, d) => members.filter((i) => depth[i] === d))
      .filter((row) => row.length > 0);
    return { band, rows };
  });
}

/** Baseline of a band's label, in the line its layout reserved above the band's rows. */
export function bandLabelBaseline(band: Rect): number {
  return band.y + BAND_PAD + LINE_HEIGHT * 0.75;
}

/** A curve from the bottom of `from` into the top of `to`; operand k of n enters at its own port. */
export function edgePath(from: Rect, to: Rect, k: number, n: number): string {
  const x1 = from.x + from.width / 2;
  const y1 = from.y + from.height;
  const x2 = to.x + (to.width * (k + 1)) / (n + 1);
  const y2 = to.y - 1;
  const bend = Math.max(ROW_GAP / 2, (y2 - y1) / 2);
  return `M${num(x1)},${num(y1)} C${num(x1)},${num(y1 + bend)} ${num(x2)},${num(y2 - bend)} ${num(x2)},${num(y2)}`;
}

/** Coordinates with one decimal, so the output does not depend on float noise. */
export function num(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}
