import { describe, expect, it } from 'vitest';
import { MUTATION_KINDS, type MutationKind } from '../../src/equivalence/mutate.js';
import { verify } from '../../src/equivalence/verify.js';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { classifiedMutants, countByKind, type KindCounts } from './mutants.js';

/**
 * Wrong mutants each benchmark's small μGraph must yield, per kind, at least (what the
 * mutator produces today; a kind with no such site in a μGraph is absent). A mutator
 * that silently produced fewer would fail here before the rejection checks could pass
 * vacuously.
 */
const EXPECTED_WRONG: Record<string, readonly MutationKind[]> = {
  gqa: ['imap', 'fmap', 'omap', 'accum-dropped', 'accum-duplicated', 'accum-kind', 'rescale-missing', 'swap-operands'],
  qknorm: ['imap', 'fmap', 'omap', 'accum-dropped', 'accum-duplicated', 'accum-kind', 'rescale-missing', 'swap-operands', 'scale-dropped', 'reduce-dim', 'range', 'constant'],
  rmsnorm: ['imap', 'omap', 'accum-duplicated', 'accum-kind', 'swap-operands', 'scale-dropped', 'constant'],
  lora: ['omap', 'accum-duplicated', 'accum-kind', 'range'],
  gated_mlp: ['omap', 'accum-dropped', 'accum-duplicated', 'accum-kind'],
  ntrans: ['imap', 'accum-dropped', 'accum-duplicated', 'accum-kind', 'scale-dropped', 'range', 'constant'],
};

describe('mutation testing: every wrong mutant of every hand μGraph (small shapes) is rejected', () => {
  const totals: Record<string, KindCounts> = {};
  for (const fixture of UGRAPH_FIXTURES) {
    it(fixture.benchmark, async () => {
      const c = fixture.small();
      const list = classifiedMutants(c);
      expect(list.filter((m) => m.oracle === 'unclear').map((m) => m.description), 'mutants the float64 oracle cannot classify').toEqual([]);
      const wrongAccepted: string[] = [];
      const rightRejected: string[] = [];
      for (const m of list) {
        const result = await verify(c.program, m.graph, { workers: false });
        if (m.oracle === 'wrong' && result.verdict === 'equivalent') wrongAccepted.push(`${m.kind}: ${m.description}`);
        if (m.oracle === 'right' && result.verdict !== 'equivalent') rightRejected.push(`${m.kind}: ${m.description} (${result.verdict})`);
      }
      expect(wrongAccepted, 'wrong mutants accepted').toEqual([]);
      expect(rightRejected, 'mutants the oracle finds correct but the verifier rejects').toEqual([]);
      const wrong = countByKind(list.filter((m) => m.oracle === 'wrong'));
      totals[fixture.benchmark] = wrong;
      console.log(`${fixture.benchmark}: ${list.length} mutants, ${list.filter((m) => m.oracle === 'wrong').length} wrong (all rejected), ${list.filter((m) => m.oracle === 'right').length} right (all accepted); wrong by kind ${JSON.stringify(wrong)}`);
      for (const kind of EXPECTED_WRONG[fixture.benchmark]!) expect(wrong[kind] ?? 0, `${fixture.benchmark}: wrong ${kind} mutants`).toBeGreaterThan(0);
    }, 60_000);
  }

  it('every kind of mutation produced wrong mutants somewhere', () => {
    for (const kind of MUTATION_KINDS) {
      const total = Object.values(totals).reduce((sum, counts) => sum + (counts[kind] ?? 0), 0);
      expect(total, kind).toBeGreaterThan(0);
    }
  });
});
