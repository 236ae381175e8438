import { describe, expect, it } from 'vitest';
import { planDemand } from '../../src/equivalence/demand.js';
import { Screener } from '../../src/equivalence/screen.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { classifiedMutants } from './mutants.js';

describe('screening (sampled outputs, program side once per screener)', () => {
  it('passes every hand μGraph and every mutant the oracle finds right; rejects wrong mutants it samples', () => {
    let rejected = 0;
    let wrongTotal = 0;
    for (const fixture of UGRAPH_FIXTURES) {
      const c = fixture.small();
      const screener = new Screener(c.program);
      expect(screener.screen(c.graph).verdict, c.name).toBe('pass');
      for (const m of classifiedMutants(c)) {
        const result = screener.screen(m.graph);
        if (m.oracle === 'right') expect(result.verdict, `${c.name}: ${m.description}`).toBe('pass');
        if (m.oracle === 'wrong') {
          wrongTotal++;
          if (result.verdict !== 'pass') rejected++;
        }
      }
    }
    // A screen may pass a mutant wrong only outside its samples; verify() catches those. Most fall here.
    expect(rejected / wrongTotal).toBeGreaterThan(0.8);
  });

  it('runs only the workgroups that save sampled elements (gated_mlp b = 8: 4 of 64)', () => {
    const { graph } = UGRAPH_FIXTURES.find((f) => f.benchmark === 'gated_mlp')!.full(8);
    const plan = planDemand(graph, [[new Set([3, 40]), new Set([7, 4000])]]);
    const [x, y] = plan.workgroups.get(0)!;
    expect([...x!].sort((a, b) => a - b)).toEqual([0, 15]);
    expect([...y!].sort((a, b) => a - b)).toEqual([0, 2]);
    expect(plan.tensors[1]![0]).toBeUndefined(); // W1: every row (the whole K loop)
    expect(plan.tensors[1]![1]!.size).toBe(2 * 256); // two column blocks
  });

  it('screens a full-shape candidate in well under a verification (program side cached)', () => {
    const c = UGRAPH_FIXTURES.find((f) => f.benchmark === 'gated_mlp')!.full(1);
    const screener = new Screener(c.program);
    expect(screener.screen(c.graph).verdict).toBe('pass');
    const again = screener.screen(c.graph);
    expect(again.verdict).toBe('pass');
    expect(again.compared).toBeGreaterThan(0);
    expect(again.ms).toBeLessThan(1000);
  });
});
