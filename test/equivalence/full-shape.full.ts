/**
 * Full shapes (npm run check:full): every hand-written benchmark μGraph at b = 1 and 8 is
 * accepted, and every mutant the float64 oracle finds wrong at the small shape is
 * rejected at the full shapes too (a mutation is named by where it applies, the same in
 * the small twin and the full μGraphs, which share one builder; the float64 interpreters
 * are too slow to classify full-shape mutants directly).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mutants } from '../../src/equivalence/mutate.js';
import { closeVerifierPool } from '../../src/equivalence/verify-pool.js';
import { verify } from '../../src/equivalence/verify.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { classifiedMutants } from './mutants.js';

afterAll(closeVerifierPool);

describe('full shapes', () => {
  for (const fixture of UGRAPH_FIXTURES) {
    it(`${fixture.benchmark}: hand μGraphs accepted, wrong mutants rejected (b = 1, 8)`, async () => {
      const oracle = new Map(classifiedMutants(fixture.small()).map((m) => [m.description, m.oracle]));
      for (const b of [1, 8]) {
        const c = fixture.full(b);
        const accepted = await verify(c.program, c.graph);
        expect(accepted.verdict, c.name).toBe('equivalent');
        console.log(`${c.name}: equivalent in ${accepted.ms.toFixed(0)} ms (2 seeds)`);
        const wrong = mutants(c.graph).filter((m) => oracle.get(m.description) === 'wrong');
        const accepts: string[] = [];
        const start = performance.now();
        for (const m of wrong) {
          const result = await verify(c.program, m.graph, { workers: false });
          if (result.verdict === 'equivalent') accepts.push(`${m.kind}: ${m.description}`);
        }
        console.log(`${c.name}: ${wrong.length} wrong mutants, all rejected, in ${((performance.now() - start) / 1000).toFixed(1)} s`);
        expect(accepts, `${c.name}: wrong mutants accepted`).toEqual([]);
        expect(wrong.length, `${c.name}: wrong mutants found`).toBeGreaterThan(3);
      }
    }, 1_200_000);
  }
});
