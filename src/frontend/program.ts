import type { DType } from '../ir/dtype.js';
import { hashString } from '../ir/hash.js';
import { formatShape, type Shape } from '../ir/shape.js';
import { GraphBuilder } from './builder.js';
import { ProgramError } from './errors.js';
import { captureCallSite, type CallSite } from './site.js';
import { checkIdentifier, checkProgramName } from './names.js';
import { Tensor } from './tensor.js';

export interface TensorSpec {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface ProgramOutput {
  readonly name: string;
  readonly tensor: Tensor;
}

/** Marks program values across module instances (a bundled copy of mugraph makes the same brand). */
export const PROGRAM_BRAND = Symbol.for('mugraph.program');

/**
 * A tensor program: named inputs, a DAG of operators, named outputs. Immutable once
 * built. `nodes` lists every node reachable from the outputs, operands before users,
 * in a deterministic order (depth-first from the outputs in their declared order).
 */
export class Program {
  readonly [PROGRAM_BRAND] = true;
  readonly nodes: readonly Tensor[];
  private cachedCanonical: string | undefined;

  constructor(
    readonly name: string,
    readonly inputs: readonly Tensor[],
    readonly outputs: readonly ProgramOutput[],
    readonly site: CallSite | undefined,
  ) {
    this.nodes = Object.freeze(topologicalOrder(outputs.map((o) => o.tensor)));
    Object.freeze(this.inputs);
    Object.freeze(this.outputs);
  }

  get inputSpecs(): TensorSpec[] {
    return this.inputs.map((t) => ({ name: t.attrs.name as string, shape: t.shape, dtype: t.dtype }));
  }

  get outputSpecs(): TensorSpec[] {
    return this.outputs.map((o) => ({ name: o.name, shape: o.tensor.shape, dtype: o.tensor.dtype }));
  }

  /**
   * Canonical JSON of the function computed: structure, attributes, shapes, dtypes;
   * inputs and outputs by position, without program, input or output names.
   */
  canonicalJSON(): string {
    if (this.cachedCanonical === undefined) {
      const index = new Map<Tensor, number>();
      const nodes = this.nodes.map((node, i) => {
        index.set(node, i);
        return [node.key, node.inputs.map((x) => index.get(x)!)];
      });
      const inputs = this.inputs.map((t) => [t.shape, t.dtype]);
      this.cachedCanonical = JSON.stringify({ inputs, nodes, outputs: this.outputs.map((o) => index.get(o.tensor)) });
    }
    return this.cachedCanonical;
  }

  /** Structural hash (32 hex digits) of `canonicalJSON()`. */
  get hash(): string {
    return hashString(this.canonicalJSON());
  }

  /** Human-readable listing, one node per line: `%3 = matmul f16[16, 6144] (%1, %2)  @ file:line`. */
  pretty(options: { sites?: boolean } = {}): string {
    const ids = new Map<Tensor, string>();
    const lines = [`program ${this.name}(${this.inputSpecs.map((s) => `${s.name}: ${s.dtype}${formatShape(s.shape)}`).join(', ')})`];
    let counter = 0;
    for (const node of this.nodes) {
      const id = node.op === 'input' ? String(node.attrs.name) : `%${counter++}`;
      ids.set(node, id);
      if (node.op === 'input') continue;
      const args = node.inputs.map((x) => ids.get(x)).join(', ');
      const site = options.sites && node.site ? `  @ ${node.site.file}:${node.site.line}` : '';
      lines.push(`  ${id} = ${node.describe()}${args ? ` (${args})` : ''}${site}`);
    }
    lines.push(`  return { ${this.outputs.map((o) => `${o.name}: ${ids.get(o.tensor)}`).join(', ')} }`);
    return lines.join('\n');
  }

  toString(): string {
    return this.pretty();
  }
}

export type ProgramDefinition = (g: GraphBuilder) => Record<string, Tensor>;

/**
 * Builds a program by running its definition once; throws ProgramError on any invalid use.
 * `callSite` says where operators are called (the user's lines; replay.ts supplies recorded ones).
 */
export function buildProgram(name: string, define: ProgramDefinition, callSite: () => CallSite | undefined = captureCallSite): Program {
  const site = callSite();
  if (typeof name === 'string' && name.length === 0) throw new ProgramError('a program needs a non-empty name', 'program', site);
  checkProgramName(name, site);
  if (typeof define !== 'function') throw new ProgramError('the definition must be a function (g) => ({ ...outputs })', 'program', site);
  const g = new GraphBuilder(name, callSite);
  const result: unknown = define(g);
  g.sealed = true;
  if (result === null || typeof result !== 'object' || Array.isArray(result) || result instanceof Tensor || result instanceof Promise) {
    throw new ProgramError('the definition must return an object of named output tensors, e.g. { y }', 'program', site);
  }
  const entries = Object.entries(result as Record<string, unknown>);
  if (entries.length === 0) throw new ProgramError('the definition returned no outputs', 'program', site);
  const outputs = entries.map(([outName, value]) => {
    checkIdentifier(outName, 'output name', 'program', site);
    return { name: outName, tensor: g.checkOutput(outName, value, site) };
  });
  if (g.inputs.length === 0) throw new ProgramError('the program has no inputs', 'program', site);
  return new Program(name, g.inputs, outputs, site);
}

export function isProgram(value: unknown): value is Program {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PROGRAM_BRAND] === true;
}

/** Operands before users, deterministic, iterative (deep chains must not overflow the stack). */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const done = new Set<Tensor>();
  for (const root of roots) {
    const stack: Array<[Tensor, number]> = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      if (done.has(node)) {
        stack.pop();
      } else if (next < node.inputs.length) {
        top[1]++;
        stack.push([node.inputs[next]!, 0]);
      } else {
        done.add(node);
        order.push(node);
        stack.pop();
      }
    }
  }
  return order;
}
