/**
 * Whether a μGraph can stand in for a tensor program: the same inputs and outputs, by
 * name, with the same shapes and dtypes. Names must match because callers pass inputs and
 * read outputs by the program's names. This is the interface only; whether it computes
 * the same function is what the interpreter, the GPU check and (later) the verifier decide.
 */
import type { Program, TensorSpec } from '../frontend/program.js';
import { formatShape } from '../ir/shape.js';
import type { KernelGraph } from './kernel-graph.js';

/** Every way `graph`'s interface differs from `program`'s, as phrases; empty when they agree. */
export function interfaceMismatches(program: Program, graph: KernelGraph): string[] {
  const graphInputs = graph.inputs.map(({ name, shape, dtype }) => ({ name, shape, dtype }));
  const graphOutputs = graph.outputs.map(({ name, tensor }) => ({ name, shape: graph.tensors[tensor]!.shape, dtype: graph.tensors[tensor]!.dtype }));
  return [...compare('input', program.inputSpecs, graphInputs), ...compare('output', program.outputSpecs, graphOutputs)];
}

function compare(kind: 'input' | 'output', expected: readonly TensorSpec[], actual: readonly TensorSpec[]): string[] {
  const typed = (t: TensorSpec) => `${t.dtype}${formatShape(t.shape)}`;
  const missing = expected.flatMap((e) => {
    const a = actual.find((t) => t.name === e.name);
    if (a === undefined) return [`${kind} "${e.name}" (${typed(e)}) is missing from the μGraph`];
    return typed(a) === typed(e) ? [] : [`${kind} "${e.name}" is ${typed(e)} in the program but ${typed(a)} in the μGraph`];
  });
  const extra = actual
    .filter((a) => !expected.some((e) => e.name === a.name))
    .map((a) => `the μGraph has ${kind} "${a.name}" (${typed(a)}), which the program does not`);
  return [...missing, ...extra];
}
