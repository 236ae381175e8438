/**
 * The playground's μGraph diagram: the core renderer (src/ugraph/diagram.ts), so the page
 * shows exactly what `mugraph check --mugraph --svg` writes. Each diagram gets its own id
 * prefix because ids are global in an HTML page and every benchmark inlines one.
 */
import { kernelGraphToSVG } from '../../src/ugraph/diagram.js';
import type { KernelGraph } from '../../src/ugraph/kernel-graph.js';

let diagrams = 0;

export function kernelGraphSvg(graph: KernelGraph): string {
  diagrams += 1;
  return kernelGraphToSVG(graph, { idPrefix: `ugraph-${diagrams}` });
}
