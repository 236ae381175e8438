/**
 * The μGraph diagram (src/ugraph/diagram.ts): file snapshots of every hand-written
 * fixture's small twin and of a naive per-operator graph (open them in a browser to
 * review a change), well-formed XML, escaping, and that everything the IR holds (every
 * kernel, every block op with its phase, iterators, savers, thread config) is in the text.
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { formatShape } from '../../src/ir/shape.js';
import { blockOpParts } from '../../src/ugraph/block-ops.js';
import { layoutDag, type LayoutNode, type Rect } from '../../src/ugraph/diagram-layout.js';
import { formatGridMap } from '../../src/ugraph/grid.js';
import { kernelGraphFromProgram, type KernelGraph, kernelGraphToSVG } from '../../src/ugraph/index.js';
import { kernelNodeParts } from '../../src/ugraph/kernel-ops.js';
import { formatThreadConfig } from '../../src/ugraph/thread-config.js';
import { svgTexts, xmlProblems } from '../helpers/xml.js';

const CASES: readonly { name: string; graph: KernelGraph }[] = [
  ...UGRAPH_FIXTURES.map((fixture) => fixture.small()),
  (() => {
    const { program } = UGRAPH_FIXTURES.find((f) => f.benchmark === 'qknorm')!.small();
    return { name: 'qknorm_small_naive', graph: kernelGraphFromProgram(program) };
  })(),
];

describe('kernelGraphToSVG', () => {
  for (const { name, graph } of CASES) {
    describe(name, () => {
      const svg = kernelGraphToSVG(graph, { title: name });
      const text = svgTexts(svg).join('\n');

      it('matches its snapshot and is deterministic', async () => {
        await expect(svg).toMatchFileSnapshot(`./__snapshots__/diagrams/${name}.svg`);
        expect(kernelGraphToSVG(graph, { title: name })).toBe(svg);
      });

      it('is a well-formed, self-contained SVG document', () => {
        expect(xmlProblems(svg)).toEqual([]);
        expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="ugraph" viewBox="0 0 (\d+) (\d+)" width="\1" height="\2"/);
        expect(svg).not.toMatch(/<style|<link|@import|@font-face|href=/);
        const [width, height] = svg.match(/viewBox="0 0 (\d+) (\d+)"/)!.slice(1).map(Number) as [number, number];
        expect(width).toBeGreaterThan(200);
        expect(width).toBeLessThan(2000);
        expect(height).toBeGreaterThan(100);
      });

      it('shows every input, kernel, output and storage tensor', () => {
        const names = graph.tensors.map((_, id) => graph.inputs[id]?.name ?? `%${id}`);
        for (const input of graph.inputs) expect(text).toContain(`${input.name}\n${input.dtype}${formatShape(input.shape)}`);
        graph.nodes.forEach((node, index) => {
          const operands = node.inputs.map((id) => names[id]).join(', ');
          const { name: op, attrs } = kernelNodeParts(node);
          expect(text).toContain(`#${index} ${op}(${[operands, ...attrs].filter((s) => s !== '').join(', ')})`);
          for (const id of graph.nodeOutputs[index]!) {
            expect(text).toContain(`→ ${names[id]} ${graph.tensors[id]!.dtype}${formatShape(graph.tensors[id]!.shape)}`);
          }
        });
        for (const output of graph.outputs) expect(text).toContain(`${output.name}\n= ${names[output.tensor]}`);
      });

      it('shows every custom kernel\'s block graph: grid, loop, thread config, iterators, ops, accumulators, savers', () => {
        for (const { index, node } of graph.customKernels) {
          const { block } = node;
          expect(text).toContain(`custom kernel #${index}: block graph`);
          expect(text).toContain(`grid [${block.grid.join(', ')}]`);
          expect(text).toContain(`for-loop range ${block.forloopRange}`);
          expect(text).toContain(`thread: ${formatThreadConfig(node.thread)}`);
          block.inputs.forEach((iterator, k) => {
            expect(text).toContain(`t${k} = iterate `);
            expect(text).toContain(`imap ${formatGridMap(iterator.imap)} · fmap ${iterator.fmap ?? 'none'}\ntile ${formatShape(block.tensors[k]!.shape)}`);
          });
          block.ops.forEach((op, i) => {
            const id = block.inputs.length + i;
            expect(text).toContain(`t${id} = ${blockOpParts(op).name}(`);
          });
          block.outputs.forEach((saver) => expect(text).toContain(`save t${saver.tensor} → `));
          block.outputs.forEach((saver) => expect(text).toContain(`omap ${formatGridMap(saver.omap)}`));
          if (block.ops.some((op) => op.op === 'accum')) expect(text).toContain('for-loop accumulators');
        }
      });
    });
  }

  it('escapes text: a title with <, & and quotes stays well-formed', () => {
    const { graph } = UGRAPH_FIXTURES[0]!.small();
    const title = `a<b & "c" 'd'`;
    const svg = kernelGraphToSVG(graph, { title });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('<title>a&lt;b &amp; &quot;c&quot; &#39;d&#39;</title>');
    expect(svg).not.toContain(title);
    expect(svgTexts(svg)).toContain(title);
  });

  it('draws the kernel graph alone with blockGraphs: false, and namespaces its ids', () => {
    const { graph } = UGRAPH_FIXTURES[0]!.small();
    const svg = kernelGraphToSVG(graph, { blockGraphs: false, idPrefix: 'gqa-1' });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('block graph');
    expect(svg).toContain('<marker id="gqa-1-arrow"');
    expect(svg).toContain('marker-end="url(#gqa-1-arrow)"');
    expect(() => kernelGraphToSVG(graph, { idPrefix: 'a"b' })).toThrow(/idPrefix must be an XML name/);
  });
});

describe('xmlProblems (the well-formedness check the tests above rely on)', () => {
  it('accepts well-formed documents and names what is wrong in others', () => {
    expect(xmlProblems('<a x="1 &amp; 2"><b/>t &lt; u<c y=\'z\'></c></a>\n')).toEqual([]);
    expect(xmlProblems('<a><b></a>')).toEqual(['offset 6: </a> closes <b>', 'unclosed: <a>']);
    expect(xmlProblems('<a>x & y</a>')).toHaveLength(1);
    expect(xmlProblems('<a>x < y</a>')).toEqual(['offset 5: "<" that starts no tag']);
    expect(xmlProblems('<a x="1" x="2"/>')).toEqual(['offset 0 <a>: duplicate attribute x']);
    expect(xmlProblems('<a x=1/>')).toContain('offset 0: "<" that starts no tag');
    expect(xmlProblems('<a/><b/>')).toEqual(['offset 4: a second root element <b>']);
    expect(xmlProblems('text')).toEqual(['offset 0: text outside the root element', 'no root element']);
  });
});

describe('layoutDag', () => {
  // A diamond with a constant and a second band: every shape of input the diagram produces.
  const nodes: LayoutNode[] = [
    { lines: ['a'], sources: [], band: 0 },
    { lines: ['b, a wide one'], sources: [], band: 0 },
    { lines: ['c = f(a)', 'detail'], sources: [0], band: 1 },
    { lines: ['k = constant'], sources: [], band: 1 },
    { lines: ['d = g(a, b)'], sources: [0, 1], band: 1 },
    { lines: ['e = h(c, d, k)'], sources: [2, 4, 3], band: 1 },
    { lines: ['k2 = constant'], sources: [], band: 1 },
    { lines: ['f = m(e, k2)'], sources: [5, 6], band: 1 },
    { lines: ['out'], sources: [7], band: 3 },
  ];
  const layout = layoutDag(nodes, { bandLabels: ['inputs', 'body'], minWidth: 300 });
  const overlap = (p: Rect, q: Rect) => p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;

  it('keeps every box inside the drawing, apart from the others, below its sources', () => {
    expect(layout.width).toBeGreaterThanOrEqual(300);
    layout.boxes.forEach((box, i) => {
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(layout.width);
      expect(box.y + box.height).toBeLessThanOrEqual(layout.height);
      layout.boxes.forEach((other, j) => expect(i === j || !overlap(box, other), `boxes ${i} and ${j} overlap`).toBe(true));
      for (const s of nodes[i]!.sources) expect(layout.boxes[s]!.y + layout.boxes[s]!.height).toBeLessThan(box.y);
    });
  });

  it('stacks the non-empty bands in order and puts a constant just above its reader', () => {
    expect(layout.bands.map((b) => b.band)).toEqual([0, 1, 3]);
    const [c, e, k2, f] = [layout.boxes[2]!, layout.boxes[5]!, layout.boxes[6]!, layout.boxes[7]!];
    expect(k2.y).toBe(e.y); // the row above its reader f, not the band's first row (c's)
    expect(k2.y).toBeGreaterThan(c.y);
    expect(k2.y).toBeLessThan(f.y);
  });
});
