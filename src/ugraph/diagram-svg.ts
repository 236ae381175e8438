/**
 * SVG primitives of the μGraph diagram (diagram.ts): escaped text, node boxes coloured by
 * kind, edges, band frames and the document wrapper. Styling is by presentation
 * attributes, never a <style> element: an inline SVG's <style> would apply to the whole
 * HTML page it is pasted into, and the file must look right with no stylesheet at all.
 * A page may still restyle it through the classes (`ugraph`, `node <kind>`, `edge`, `title`,
 * `detail`), since CSS rules take precedence over presentation attributes.
 */
import { LINE_HEIGHT, num, PAD_X, PAD_Y, type Rect } from './diagram-layout.js';

export type NodeKind = 'io' | 'matmul' | 'reduce' | 'elementwise' | 'constant' | 'layout' | 'custom' | 'accum';

const PALETTE: Readonly<Record<NodeKind, { readonly fill: string; readonly stroke: string }>> = {
  io: { fill: '#e6eefc', stroke: '#7f9ed8' },
  matmul: { fill: '#fdebd3', stroke: '#d99a45' },
  reduce: { fill: '#ece6fa', stroke: '#9b86d1' },
  elementwise: { fill: '#e3f4e8', stroke: '#73b58a' },
  constant: { fill: '#f3f3f3', stroke: '#b5b5b5' },
  layout: { fill: '#f1f1f6', stroke: '#9a9ab0' },
  custom: { fill: '#fff8dc', stroke: '#c9a227' },
  accum: { fill: '#fde4e1', stroke: '#d4766b' },
};

const INK = '#1d2330';
const MUTED = '#5b6472';
const EDGE = '#8a93a6';
const FONT = 'ui-monospace, Menlo, Consolas, monospace';

/** Text safe in XML content and in double- or single-quoted attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface TextStyle {
  readonly anchor?: 'start' | 'middle';
  /** `title` lines are bold and dark, `detail` lines muted. */
  readonly role?: 'title' | 'detail';
  /** Outlines the glyphs in this colour (the background's), so edges drawn later do not cross the text. */
  readonly halo?: string;
}

export function textSvg(x: number, y: number, text: string, style: TextStyle = {}): string {
  const role = style.role ?? 'detail';
  const anchor = style.anchor === 'middle' ? ' text-anchor="middle"' : '';
  const look = role === 'title' ? ` font-weight="bold" fill="${INK}"` : ` fill="${MUTED}"`;
  const halo = style.halo === undefined ? '' : ` stroke="${style.halo}" stroke-width="4" paint-order="stroke"`;
  return `<text x="${num(x)}" y="${num(y)}"${anchor}${look}${halo} class="${role}">${escapeXml(text)}</text>`;
}

/** Baseline of line `i` of a box whose top is `top`. */
function lineBaseline(top: number, i: number): number {
  return top + PAD_Y + LINE_HEIGHT * (i + 0.75);
}

/** A node: a rounded box with its lines, the first as title; `pill` rounds it fully (inputs, outputs). */
export function nodeSvg(rect: Rect, kind: NodeKind, lines: readonly string[], shape: 'box' | 'pill' = 'box'): string {
  const { fill, stroke } = PALETTE[kind];
  const rx = shape === 'pill' ? Math.min(rect.height / 2, 16) : 5;
  const text = lines.map((line, i) =>
    textSvg(rect.x + rect.width / 2, lineBaseline(rect.y, i), line, { anchor: 'middle', role: i === 0 ? 'title' : 'detail' }));
  return `<g class="node ${kind}"><rect x="${num(rect.x)}" y="${num(rect.y)}" width="${num(rect.width)}" height="${num(rect.height)}" `
    + `rx="${num(rx)}" fill="${fill}" stroke="${stroke}" stroke-width="1.2"/>${text.join('')}</g>`;
}

/** `idPrefix` is an XML name (checked by the caller), so it needs no escaping here. */
export function edgeSvg(path: string, idPrefix: string): string {
  return `<path d="${path}" class="edge" fill="none" stroke="${EDGE}" stroke-width="1.3" marker-end="url(#${idPrefix}-arrow)"/>`;
}

/** A band's or panel's frame; dashed for the for-loop, whose contents run once per iteration. */
export function frameSvg(rect: Rect, style: { readonly dashed?: boolean; readonly fill: string; readonly stroke: string }): string {
  const dash = style.dashed ? ' stroke-dasharray="5 3"' : '';
  return `<rect x="${num(rect.x)}" y="${num(rect.y)}" width="${num(rect.width)}" height="${num(rect.height)}" rx="6" `
    + `fill="${style.fill}" stroke="${style.stroke}"${dash}/>`;
}

/** Content shifted by (x, y), so each part is laid out in its own coordinates. */
export function translated(x: number, y: number, content: readonly string[]): string {
  return `<g transform="translate(${num(x)},${num(y)})">\n${content.join('\n')}\n</g>`;
}

/** The standalone document: white background, the arrow marker, monospace text inherited by every element. */
export function svgDocument(width: number, height: number, title: string, idPrefix: string, body: readonly string[]): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="ugraph" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" `
      + `role="img" font-family="${FONT}" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<defs><marker id="${idPrefix}-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">`
      + `<path d="M0,0 L8,4 L0,8 z" class="arrow-head" fill="${EDGE}"/></marker></defs>`,
    `<rect class="background" width="${w}" height="${h}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
