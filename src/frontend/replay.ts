/**
 * Rebuilds what a tensor module exported (packed by transfer.ts in the worker that
 * evaluated it) in this thread. A program is replayed through the DSL, operator by
 * operator, each at the call site recorded for it: the result is a Program of this
 * thread's copy of mugraph that passed every check of the DSL here, so a module cannot
 * hand over a structure the DSL would have refused (a forged program, names that could
 * not have been declared), and errors still point at the user's lines.
 */
import { GraphBuilder } from './builder.js';
import { ProgramError } from './errors.js';
import { buildProgram, type Program } from './program.js';
import { BINARY_OPS, REDUCE_OPS, type Tensor, UNARY_OPS } from './tensor.js';
import type { PackedError, PackedExport, PackedNode, PackedProgram } from './transfer.js';
import { type DslTensorProgram, tensorProgramOf } from '../tensor-program.js';
import { ugraphProgram } from '../ugraph-program.js';
import { KernelGraph } from '../ugraph/kernel-graph.js';

/** An export rebuilt: a TensorProgram, a Program, a `{ program, graph }` declaration, or null (anything else). */
export type ReplayedExport = DslTensorProgram | Program | { readonly program: DslTensorProgram | Program; readonly graph: KernelGraph } | null;

/** The exports of a module, rebuilt; an export that cannot be rebuilt throws, naming it (ProgramErrors keep their site). */
export function replayExports(file: string, exports: ReadonlyArray<readonly [string, PackedExport]>): Record<string, ReplayedExport> {
  return Object.fromEntries(exports.map(([name, packed]) => {
    try {
      return [name, replayExport(packed)];
    } catch (error) {
      if (error instanceof ProgramError) throw error;
      throw new Error(`${file}: export ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }));
}

function replayExport(packed: PackedExport): ReplayedExport {
  switch (packed.kind) {
    case 'tensor-program': return tensorProgramOf(replayProgram(packed.program));
    case 'program': return replayProgram(packed.program);
    case 'ugraph-program': return ugraphProgram(replayProgram(packed.program), KernelGraph.fromJSON(packed.graph));
    case 'ugraph-declaration': {
      const program = replayExport(packed.program) as DslTensorProgram | Program;
      return { program, graph: KernelGraph.fromJSON(packed.graph) };
    }
    case 'other': return null;
  }
}

/** The program, built again by the DSL from its recorded operators and sites. */
export function replayProgram(packed: PackedProgram): Program {
  let site = packed.site;
  return buildProgram(packed.name, (g) => {
    const values: Array<Tensor | number> = [];
    for (const node of packed.nodes) {
      site = node.site;
      values.push(replayNode(g, node, node.inputs.map((i) => values[i]!)));
    }
    site = packed.site;
    return Object.fromEntries(packed.outputs.map((o) => [o.name, values[o.node]])) as Record<string, Tensor>;
  }, () => site);
}

/** One operator through the builder's public method; a constant stays a number for the operator that uses it. */
function replayNode(g: GraphBuilder, node: PackedNode, operands: ReadonlyArray<Tensor | number>): Tensor | number {
  // Typed as the DSL writes them; the builder checks every value it is given at run time.
  const attrs = node.attrs as { name: string; value: number; fn: unknown; dim: number; keepdim: boolean; c: number; perm: number[]; eps: number };
  const [a, b] = operands as [Tensor, Tensor];
  switch (node.op) {
    case 'input': return g.input(attrs.name, node.shape, node.dtype as never);
    case 'const': return attrs.value;
    case 'unary': return g[oneOf(node, attrs.fn, UNARY_OPS)](a);
    case 'binary': return g[oneOf(node, attrs.fn, BINARY_OPS)](a, b);
    case 'reduce': return g[oneOf(node, attrs.fn, REDUCE_OPS)](a, attrs.dim, { keepdim: attrs.keepdim });
    case 'scale': return g.scale(a, attrs.c);
    case 'matmul': return g.matmul(a, b);
    case 'reshape': return g.reshape(a, node.shape);
    case 'transpose': return g.transpose(a, attrs.perm);
    case 'concat': return g.concat(operands as Tensor[], attrs.dim);
    case 'rmsNorm': return g.rmsNorm(a, { dim: attrs.dim, eps: attrs.eps, ...(b === undefined ? {} : { weight: b }) });
    case 'softmax': return g.softmax(a, attrs.dim);
    default: throw new ProgramError(`unknown operator ${JSON.stringify(node.op)}`, String(node.op), node.site);
  }
}

function oneOf<T extends string>(node: PackedNode, value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw new ProgramError(`unknown ${node.op} function ${JSON.stringify(value)}`, node.op, node.site);
}

/** The error the module raised, as this thread's error types (a ProgramError keeps its site). */
export function replayError(packed: PackedError): Error {
  if (packed.kind === 'program-error') return new ProgramError(packed.detail, packed.op, packed.site, packed.shapes);
  const error = new Error(packed.message);
  error.name = packed.name;
  error.stack = packed.stack;
  return error;
}
