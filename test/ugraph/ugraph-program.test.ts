/**
 * Declaring a μGraph with the program it implements (src/ugraph-program.ts): interface
 * mismatches are named one by one, plain `{ program, graph }` exports are accepted, and
 * a graph from another copy of the package is rebuilt as ours (same hash).
 */
import { describe, expect, it } from 'vitest';
import { UGRAPH_FIXTURES } from '../../fixtures/ugraphs/index.js';
import { buildProgram } from '../../src/frontend/program.js';
import { KernelGraph, KernelGraphBuilder, tensorProgram } from '../../src/index.js';
import { asUGraphProgram, isUGraphProgram, ugraphProgram } from '../../src/ugraph-program.js';
import { interfaceMismatches } from '../../src/ugraph/implements.js';

const program = buildProgram('scaled', (g) => ({ y: g.scale(g.input('x', [4, 8], 'f16'), 2) }));

function scaled(input: { name?: string; shape?: number[]; dtype?: 'f16' | 'f32' } = {}, output = 'y'): KernelGraph {
  const g = new KernelGraphBuilder();
  g.output(output, g.scale(g.input(input.name ?? 'x', input.shape ?? [4, 8], input.dtype ?? 'f16'), 2));
  return g.build();
}

describe('interfaceMismatches', () => {
  it('is empty for a μGraph with the same inputs and outputs', () => {
    expect(interfaceMismatches(program, scaled())).toEqual([]);
  });

  it('names every difference', () => {
    expect(interfaceMismatches(program, scaled({ dtype: 'f32' }))).toEqual([
      'input "x" is f16[4, 8] in the program but f32[4, 8] in the μGraph',
      'output "y" is f16[4, 8] in the program but f32[4, 8] in the μGraph',
    ]);
    expect(interfaceMismatches(program, scaled({ shape: [2, 16] }))).toContain('input "x" is f16[4, 8] in the program but f16[2, 16] in the μGraph');
    expect(interfaceMismatches(program, scaled({ name: 'z' }, 'out'))).toEqual([
      'input "x" (f16[4, 8]) is missing from the μGraph',
      'the μGraph has input "z" (f16[4, 8]), which the program does not',
      'output "y" (f16[4, 8]) is missing from the μGraph',
      'the μGraph has output "out" (f16[4, 8]), which the program does not',
    ]);
  });
});

describe('ugraphProgram', () => {
  it('takes a Program or a TensorProgram and is itself a TensorProgram', () => {
    const fromProgram = ugraphProgram(program, scaled());
    const fromTensorProgram = ugraphProgram(tensorProgram('scaled', (g) => ({ y: g.scale(g.input('x', [4, 8], 'f16'), 2) })), scaled());
    for (const value of [fromProgram, fromTensorProgram]) {
      expect(isUGraphProgram(value)).toBe(true);
      expect(value.name).toBe('scaled');
      expect(typeof value.load).toBe('function');
      expect(Object.isFrozen(value)).toBe(true);
    }
  });

  it('throws, naming the program and the mismatch, when the μGraph does not implement it', () => {
    expect(() => ugraphProgram(program, scaled({ dtype: 'f32' })))
      .toThrow('ugraphProgram("scaled"): the μGraph does not implement the program: input "x" is f16[4, 8] in the program but f32[4, 8] in the μGraph');
    expect(() => ugraphProgram({} as never, scaled())).toThrow(/first argument must be a tensor program/);
    expect(() => ugraphProgram(program, {} as never)).toThrow(/second argument must be a μGraph/);
  });

  it('rebuilds a graph from another copy of the package from its JSON', () => {
    const ours = scaled();
    const foreign = { inputs: ours.inputs, nodes: ours.nodes, outputs: ours.outputs, toJSON: () => ours.toJSON() };
    const value = ugraphProgram(program, foreign as unknown as KernelGraph);
    expect(value.ugraph).toBeInstanceOf(KernelGraph);
    expect(value.ugraph.hash).toBe(ours.hash);
  });
});

describe('asUGraphProgram (what a module export declares)', () => {
  it('accepts ugraphProgram values and plain { program, graph } cases such as the fixtures', () => {
    const fixture = UGRAPH_FIXTURES[0]!.small();
    const declared = asUGraphProgram(fixture);
    expect(declared?.program).toBe(fixture.program);
    expect(declared?.ugraph).toBe(fixture.graph);
    expect(isUGraphProgram(asUGraphProgram(ugraphProgram(program, scaled())))).toBe(true);
  });

  it('ignores anything else, and throws for a case whose μGraph does not implement its program', () => {
    for (const value of [undefined, null, 3, 'x', program, { program }, { graph: scaled() }, { program: 1, graph: scaled() }]) {
      expect(asUGraphProgram(value)).toBeUndefined();
    }
    expect(() => asUGraphProgram({ program, graph: scaled({ name: 'z' }) })).toThrow(/input "x" \(f16\[4, 8\]\) is missing from the μGraph/);
  });
});
