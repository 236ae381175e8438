/**
 * What crosses from the worker that evaluates a tensor module (evaluate-worker.ts) to the
 * thread that asked for it: the module's exports as plain data, or the error evaluating it
 * raised. Only structure crosses, never objects: the receiving side rebuilds each program
 * by replaying it through the DSL (replay.ts), so everything it gets is validated again
 * by the same checks, whatever the module handed over.
 *
 * Packing reads values structurally (and by their brands, which are `Symbol.for` and so
 * shared by every copy of this package), because the module's copy of the DSL is not the
 * one in this thread.
 */
import { isProgramError } from './errors.js';
import { isProgram } from './program.js';
import type { CallSite } from './site.js';
import { isUGraphProgram } from '../ugraph-program.js';

/** One node of a program, its operands as indices of earlier nodes. */
export interface PackedNode {
  readonly op: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly inputs: readonly number[];
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly site: CallSite | undefined;
}

/** A program: its inputs first (declared order), then every other node, operands before users. */
export interface PackedProgram {
  readonly name: string;
  readonly site: CallSite | undefined;
  readonly nodes: readonly PackedNode[];
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly node: number }>;
}

/**
 * An export, by what it is: the value of `tensorProgram(...)`, a bare Program, a
 * `ugraphProgram(...)`, a `{ program, graph }` declaration (graph as KernelGraph JSON), or
 * anything else (not carried over).
 */
export type PackedExport =
  | { readonly kind: 'tensor-program'; readonly program: PackedProgram }
  | { readonly kind: 'program'; readonly program: PackedProgram }
  | { readonly kind: 'ugraph-program'; readonly program: PackedProgram; readonly graph: unknown }
  | { readonly kind: 'ugraph-declaration'; readonly program: PackedExport; readonly graph: unknown }
  | { readonly kind: 'other' };

export type PackedError =
  | {
      readonly kind: 'program-error'; readonly detail: string; readonly op: string;
      readonly site: CallSite | undefined; readonly shapes: ReadonlyArray<readonly number[]>;
    }
  | { readonly kind: 'error'; readonly name: string; readonly message: string; readonly stack: string };

/** The worker's one message. */
export type EvaluationMessage =
  | { readonly ok: true; readonly exports: ReadonlyArray<readonly [string, PackedExport]> }
  | { readonly ok: false; readonly error: PackedError };

interface NodeLike {
  readonly op: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly inputs: readonly NodeLike[];
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly site: CallSite | undefined;
}

export interface ProgramLike {
  readonly name: string;
  readonly site: CallSite | undefined;
  readonly inputs: readonly NodeLike[];
  readonly nodes: readonly NodeLike[];
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly tensor: NodeLike }>;
}

export function packExports(namespace: Readonly<Record<string, unknown>>): Array<[string, PackedExport]> {
  return Object.keys(namespace).map((name) => [name, packExport(namespace[name])]);
}

function packExport(value: unknown): PackedExport {
  if (isProgram(value)) return { kind: 'program', program: packProgram(value) };
  if (typeof value !== 'object' || value === null) return { kind: 'other' };
  const { program, graph, load } = value as { program?: unknown; graph?: unknown; load?: unknown };
  if (isUGraphProgram(value)) return { kind: 'ugraph-program', program: packProgram(value.program), graph: value.ugraph.toJSON() };
  if (isProgram(program) && typeof load === 'function') return { kind: 'tensor-program', program: packProgram(program) };
  const graphJSON = (graph as { toJSON?: unknown } | null | undefined)?.toJSON;
  if (typeof graphJSON === 'function') {
    const declared = packExport(program);
    if (declared.kind === 'tensor-program' || declared.kind === 'program') {
      return { kind: 'ugraph-declaration', program: declared, graph: graphJSON.call(graph) as unknown };
    }
  }
  return { kind: 'other' };
}

/** A program as plain data (replay.ts builds it again). */
export function packProgram(program: ProgramLike): PackedProgram {
  const index = new Map<NodeLike, number>();
  const nodes: PackedNode[] = [];
  for (const node of [...program.inputs, ...program.nodes]) {
    if (index.has(node)) continue;
    index.set(node, nodes.length);
    const { op, attrs, shape, dtype, site } = node;
    nodes.push({ op, attrs, inputs: node.inputs.map((x) => index.get(x)!), shape, dtype, site });
  }
  return { name: program.name, site: program.site, nodes, outputs: program.outputs.map((o) => ({ name: o.name, node: index.get(o.tensor)! })) };
}

export function packError(error: unknown): PackedError {
  if (isProgramError(error)) return { kind: 'program-error', detail: error.detail, op: error.op, site: error.site, shapes: error.shapes };
  if (error instanceof Error) return { kind: 'error', name: error.name, message: error.message, stack: error.stack ?? '' };
  return { kind: 'error', name: 'Error', message: `the module threw ${String(error)}`, stack: '' };
}
