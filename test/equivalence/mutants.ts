/**
 * Mutants of the hand-written μGraphs, each classified by an oracle independent of the
 * verifier: the float64 μGraph interpreter against the float64 reference interpreter on
 * random inputs. A mutation can leave the function unchanged (another split of the same
 * loop); the oracle says which mutants are wrong (relative error above 1e-9, a
 * non-finite value or a different output shape) and which are right (below 1e-10:
 * float64 rounding of a reordered sum stays far below; doubling an eps of 1e-6 does not).
 */
import { mutants, type Mutant, type MutationKind } from '../../src/equivalence/mutate.js';
import { evaluateReference } from '../../src/reference/interpreter.js';
import { randomInputs } from '../../src/reference/random.js';
import { evaluateKernelGraph } from '../../src/ugraph/interpreter.js';
import type { UGraphCase } from '../../fixtures/ugraphs/index.js';
import { relativeMaxError } from '../helpers/relative-error.js';

export type OracleVerdict = 'wrong' | 'right' | 'unclear';

export interface ClassifiedMutant extends Mutant {
  readonly oracle: OracleVerdict;
}

export function oracle(c: UGraphCase, graph: Mutant['graph']): OracleVerdict {
  let worst = 0;
  for (const seed of [1, 2]) {
    const inputs = randomInputs(c.program, seed);
    const expected = evaluateReference(c.program, inputs);
    const actual = evaluateKernelGraph(graph, Object.fromEntries(graph.inputs.map((spec, i) => [spec.name, inputs[c.program.inputSpecs[i]!.name]!])));
    const outputs = c.program.outputSpecs;
    for (let o = 0; o < outputs.length; o++) {
      const e = expected[outputs[o]!.name]!;
      const a = actual[graph.outputs[o]!.name]!;
      const shape = graph.tensors[graph.outputs[o]!.tensor]!.shape;
      if (JSON.stringify(shape) !== JSON.stringify(outputs[o]!.shape)) return 'wrong';
      if (a === undefined || a.length !== e.length || !a.every(Number.isFinite)) return 'wrong';
      worst = Math.max(worst, relativeMaxError(a, e));
    }
  }
  return worst > 1e-9 ? 'wrong' : worst < 1e-10 ? 'right' : 'unclear';
}

export function classifiedMutants(c: UGraphCase): ClassifiedMutant[] {
  return mutants(c.graph).map((m) => ({ ...m, oracle: oracle(c, m.graph) }));
}

export type KindCounts = Partial<Record<MutationKind, number>>;

export function countByKind(list: readonly { kind: MutationKind }[]): KindCounts {
  const counts: KindCounts = {};
  for (const m of list) counts[m.kind] = (counts[m.kind] ?? 0) + 1;
  return counts;
}
