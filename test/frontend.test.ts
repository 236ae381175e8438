import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/frontend/builder.js';
import { isProgramError, ProgramError } from '../src/frontend/errors.js';
import { expandComposites } from '../src/frontend/expand.js';
import { buildProgram, type Program } from '../src/frontend/program.js';
import type { Tensor } from '../src/frontend/tensor.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const SOURCE_LINES = readFileSync(THIS_FILE, 'utf8').split('\n');
/** 1-based line of the unique line containing `marker`, read from this file's source. */
const lineOf = (marker: string) => SOURCE_LINES.findIndex((l) => l.includes(marker) && !l.includes('lineOf(')) + 1;

const rmsnormLinear = (inputNames = ['x', 'w'], dtype: 'f16' | 'f32' = 'f16', k = 64) =>
  buildProgram('rmsnorm_linear', (g) => {
    const x = g.input(inputNames[0]!, [4, k], dtype);
    const w = g.input(inputNames[1]!, [k, 32], dtype);
    return { y: g.matmul(g.rmsNorm(x), w) };
  });

function shapeOf(define: (g: GraphBuilder) => Tensor): readonly number[] {
  return buildProgram('p', (g) => ({ y: define(g) })).outputs[0]!.tensor.shape;
}

function errorOf(define: (g: GraphBuilder) => Record<string, Tensor>): ProgramError {
  try {
    buildProgram('bad', define);
  } catch (error) {
    if (isProgramError(error)) return error;
    throw error;
  }
  throw new Error('expected a ProgramError');
}

describe('shape and dtype inference', () => {
  it('matmul broadcasts batch dims and contracts a.last with b.second-last', () => {
    expect(shapeOf((g) => g.matmul(g.input('a', [2, 1, 3, 5]), g.input('b', [4, 5, 7])))).toEqual([2, 4, 3, 7]);
  });
  it('binary operators broadcast like numpy, numbers become scalar constants', () => {
    expect(shapeOf((g) => g.add(g.input('a', [3, 1]), g.input('b', [4])))).toEqual([3, 4]);
    expect(shapeOf((g) => g.sub(1, g.input('a', [2, 3])))).toEqual([2, 3]);
    const p = buildProgram('p', (g) => ({ y: g.div(g.input('a', [2], 'f16'), 2) }));
    const constant = p.outputs[0]!.tensor.inputs[1]!;
    expect([constant.op, constant.attrs.value, constant.shape, constant.dtype]).toEqual(['const', 2, [], 'f16']);
  });
  it('reductions drop or keep the reduced dim; negative dims count from the end', () => {
    expect(shapeOf((g) => g.sum(g.input('a', [2, 3, 4]), 1))).toEqual([2, 4]);
    expect(shapeOf((g) => g.max(g.input('a', [2, 3, 4]), -1, { keepdim: true }))).toEqual([2, 3, 1]);
    expect(shapeOf((g) => g.mean(g.input('a', [5]), 0))).toEqual([]);
  });
  it('transpose defaults to swapping the last two dims; perm permutes', () => {
    expect(shapeOf((g) => g.transpose(g.input('a', [2, 3, 4])))).toEqual([2, 4, 3]);
    expect(shapeOf((g) => g.transpose(g.input('a', [2, 3, 4]), [2, 0, 1]))).toEqual([4, 2, 3]);
  });
  it('reshape infers one -1; concat adds along its dim', () => {
    expect(shapeOf((g) => g.reshape(g.input('a', [2, 3, 4]), [-1, 4]))).toEqual([6, 4]);
    expect(shapeOf((g) => g.concat([g.input('a', [2, 3]), g.input('b', [2, 5])], 1))).toEqual([2, 8]);
  });
  it('composites keep the shape of x', () => {
    expect(shapeOf((g) => g.softmax(g.input('a', [2, 3]), 0))).toEqual([2, 3]);
    expect(shapeOf((g) => g.rmsNorm(g.input('a', [2, 3]), { weight: g.input('w', [3]) }))).toEqual([2, 3]);
  });
});

describe('errors name the caller, the operator and the shapes', () => {
  it('points at the line of the offending call in the user file', () => {
    const error = errorOf((g) => ({ y: g.matmul(g.input('a', [2, 3]), g.input('b', [4, 5])) })); // MARK-matmul
    expect(error.site?.file).toBe(THIS_FILE);
    expect(error.site?.line).toBe(lineOf('MARK-matmul'));
    expect(error.message).toBe(
      `${THIS_FILE}:${error.site!.line}:${error.site!.column}: matmul: inner dimensions differ: a's last dim is 3, b's second-last is 4 (shapes [2, 3], [4, 5])`,
    );
  });
  it('rejects tensors of another program, as operand and as output', () => {
    let foreign: Tensor | undefined;
    buildProgram('other', (g) => {
      foreign = g.input('z', [2]);
      return { z: g.relu(foreign) };
    });
    expect(errorOf((g) => ({ y: g.add(g.input('a', [2]), foreign!) })).message).toMatch(/add: operand b is a tensor of another program/);
    expect(errorOf((g) => (g.input('a', [2]), { y: foreign! })).message).toMatch(/program: output "y" is a tensor of another program/);
  });
  it('rejects operators called after the definition returned', () => {
    let late: GraphBuilder | undefined;
    buildProgram('p', (g) => {
      late = g;
      return { y: g.exp(g.input('a', [2])) };
    });
    expect(() => late!.input('b', [2])).toThrow(/input: program "p" is already built/);
  });
});

describe('program values', () => {
  it('nodes are frozen values', () => {
    const node = rmsnormLinear().outputs[0]!.tensor;
    expect(Object.isFrozen(node.shape) && Object.isFrozen(node.inputs) && Object.isFrozen(node.attrs)).toBe(true);
  });
  it('lists operands before users and drops nodes no output needs', () => {
    const p = buildProgram('p', (g) => {
      const a = g.input('a', [2]);
      g.exp(a); // dead
      return { y: g.add(g.relu(a), a) };
    });
    expect(p.nodes.map((n) => n.describe())).toEqual(['input{name=a} f32[2]', 'relu f32[2]', 'add f32[2]']);
    for (const [i, node] of p.nodes.entries()) for (const x of node.inputs) expect(p.nodes.indexOf(x)).toBeLessThan(i);
  });
  it('handles deep chains without recursion limits', () => {
    const p = buildProgram('deep', (g) => {
      let x = g.input('x', [1]);
      for (let i = 0; i < 5_000; i++) x = g.scale(x, 1);
      return { y: x };
    });
    expect(p.nodes.length).toBe(5_001);
  });
  it('pretty-prints the program and its expansion', () => {
    const p = rmsnormLinear();
    expect(p.pretty()).toMatchSnapshot();
    expect(expandComposites(p).pretty()).toMatchSnapshot();
  });
});

describe('structural hash', () => {
  const hashOf = (p: Program) => p.hash;
  it('is stable and ignores program, input and output names', () => {
    expect(hashOf(rmsnormLinear())).toBe(hashOf(rmsnormLinear()));
    expect(hashOf(rmsnormLinear(['a', 'b']))).toBe(hashOf(rmsnormLinear()));
    const renamed = buildProgram('other_name', (g) => {
      const x = g.input('x', [4, 64], 'f16');
      return { out: g.matmul(g.rmsNorm(x), g.input('w', [64, 32], 'f16')) };
    });
    expect(renamed.hash).toBe(rmsnormLinear().hash);
  });
  it('changes with shapes, dtypes, attributes and structure', () => {
    const base = hashOf(rmsnormLinear());
    expect(hashOf(rmsnormLinear(['x', 'w'], 'f32'))).not.toBe(base);
    expect(hashOf(rmsnormLinear(['x', 'w'], 'f16', 128))).not.toBe(base);
    const otherEps = buildProgram('rmsnorm_linear', (g) => {
      const x = g.input('x', [4, 64], 'f16');
      return { y: g.matmul(g.rmsNorm(x, { eps: 1e-5 }), g.input('w', [64, 32], 'f16')) };
    });
    expect(otherEps.hash).not.toBe(base);
    const swapped = (first: 'a' | 'b') =>
      buildProgram('p', (g) => {
        const a = g.input('a', [2]);
        const b = g.input('b', [2]);
        return { y: first === 'a' ? g.sub(a, b) : g.sub(b, a) };
      }).hash;
    expect(swapped('a')).not.toBe(swapped('b'));
  });
  it('has 128 bits', () => {
    expect(rmsnormLinear().hash).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('expandComposites', () => {
  it('leaves primitive programs untouched', () => {
    const p = buildProgram('p', (g) => ({ y: g.exp(g.input('a', [2])) }));
    expect(expandComposites(p)).toBe(p);
  });
  it('removes every composite and keeps call sites', () => {
    const p = buildProgram('p', (g) => {
      const x = g.input('x', [3, 5]);
      return { y: g.softmax(g.rmsNorm(x, { weight: g.input('w', [5]) })), m: g.mean(x, 0) };
    });
    const expanded = expandComposites(p);
    expect(expanded.nodes.some((n) => n.op === 'rmsNorm' || n.op === 'softmax' || n.attrs.fn === 'mean')).toBe(false);
    expect(expanded.nodes.every((n) => n.op === 'input' || n.site?.file === THIS_FILE)).toBe(true);
    expect(expanded.outputSpecs).toEqual(p.outputSpecs);
  });
});
