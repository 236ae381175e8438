/**
 * Saturation figures of the six benchmark targets (small twins and full shapes at b = 1, 8):
 * per target, e-graph nodes, classes, iterations, stop reason, and the median over fresh runs
 * of the time to build the target's e-graph (abstract expressions of the expanded program
 * and their polynomials) and to saturate it, and the mean cost of a first (unmemoized) lookup
 * of the hand μGraph's terms. Not a test (vitest does not collect it); run:
 *   npx esbuild test/search/saturation-figures.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/saturation-figures.mjs && node /tmp/saturation-figures.mjs [runs]
 */
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { abstractKernelGraph } from '../../src/search/abstract-ugraph.js';
import { termsOf } from '../../src/search/abstract-value.js';
import { SubexpressionOracle } from '../../src/search/subexpr.js';

const runs = Number(process.argv[2] ?? 21);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rows = ['| target | nodes | classes | iterations | stop | build ms | saturate ms | max saturate ms | lookup µs |', '|---|---|---|---|---|---|---|---|---|'];
for (const fixture of UGRAPH_FIXTURES) {
  for (const c of [fixture.small(), fixture.full(1), fixture.full(8)]) {
    const build: number[] = [];
    const saturate: number[] = [];
    let last: SubexpressionOracle | undefined;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      last = SubexpressionOracle.forProgram(c.program);
      build.push(performance.now() - t0);
      saturate.push(last.saturate().totalMs);
    }
    const f = last!.figures;
    const a = abstractKernelGraph(c.graph);
    const terms = [...new Set([...a.tensors, ...a.blocks.flatMap((b) => b.tensors)].flatMap(termsOf))];
    const lookups: number[] = [];
    for (let i = 0; i < runs; i++) {
      const oracle = SubexpressionOracle.forProgram(c.program);
      oracle.saturate();
      const t0 = performance.now();
      for (const t of terms) oracle.isSubexpression(t);
      lookups.push(((performance.now() - t0) * 1000) / terms.length);
    }
    rows.push(`| ${c.name} | ${f.nodes} | ${f.classes} | ${f.iterations} | ${f.stopReason} | ${median(build).toFixed(2)} | ${median(saturate).toFixed(2)} | ${Math.max(...saturate).toFixed(2)} | ${median(lookups).toFixed(1)} (${terms.length} terms) |`);
  }
}
console.log(`${runs} runs per target, Node ${process.version}\n\n${rows.join('\n')}`);
