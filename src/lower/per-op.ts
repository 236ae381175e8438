/**
 * The per-operator lowering: the correct-but-unfused baseline that `load()` uses without
 * the build plugin, and the reference point the search has to beat. Composites are
 * expanded, then every primitive becomes one kernel (concat: one per operand), except
 * - input: a buffer the caller fills;
 * - const: a rank-0 scalar folded into its consumer's WGSL as a literal;
 * - reshape: an alias of its operand's buffer (row-major data does not move).
 * Buffers: one per materialized tensor; an intermediate's buffer is reused once its last
 * reader has run (liveness over dispatch order); input and output buffers are never
 * reused, and an output that is an input or shares its storage with an earlier output gets
 * a copy kernel, so every output owns its buffer.
 */
import { expandComposites } from '../frontend/expand.js';
import type { Program } from '../frontend/program.js';
import type { OpAttrs, Tensor } from '../frontend/tensor.js';
import { elementwiseKernel, type ElementwiseFn, type ElementwiseOperand } from '../codegen/wgsl/elementwise.js';
import { concatSliceKernel, transposeKernel } from '../codegen/wgsl/layout.js';
import { matmulKernel } from '../codegen/wgsl/matmul.js';
import { reduceKernel } from '../codegen/wgsl/reduce.js';
import type { CompiledProgram, ElementType, Variant } from '../runtime/types.js';
import { assembleProgram, type Step } from './assemble.js';

/** Something that owns storage: a materialized node, or the copy made for an output. */
type Value = Tensor | { readonly copyOf: string; readonly shape: readonly number[]; readonly dtype: ElementType };

type PerOpStep = Step<Value>;

export function lowerPerOperator(program: Program): CompiledProgram {
  const expanded = expandComposites(program);
  const variants: readonly Variant[] = expanded.nodes.some((n) => n.dtype === 'f16') ? ['f16', 'f32'] : ['f32'];
  const outputValues = assignOutputValues(expanded);
  const literalConsts = foldableConsts(expanded, outputValues);
  const steps = [
    ...expanded.nodes.flatMap((node) => nodeSteps(node, literalConsts)),
    ...expanded.outputs.flatMap((o, i) => {
      const value = outputValues[i]!;
      return value === storageOf(o.tensor) ? [] : [copyStep(o.tensor, value)];
    }),
  ];
  return assembleProgram({
    name: program.name,
    variants,
    inputs: expanded.inputs.map((t) => ({ name: t.attrs.name as string, value: t as Value })),
    outputs: expanded.outputs.map((o, i) => ({ name: o.name, value: outputValues[i]! })),
    steps,
  });
}

/** The node whose buffer holds `t`'s data: reshapes alias their operand. */
function storageOf(t: Tensor): Tensor {
  let node = t;
  while (node.op === 'reshape') node = node.inputs[0]!;
  return node;
}

/** Each output's value: its own storage, unless that is an input or already an earlier output's. */
function assignOutputValues(program: Program): Value[] {
  const claimed = new Set<Value>();
  return program.outputs.map((o) => {
    const root = storageOf(o.tensor);
    const value: Value = root.op === 'input' || claimed.has(root) ? { copyOf: o.name, shape: o.tensor.shape, dtype: o.tensor.dtype } : root;
    claimed.add(value);
    return value;
  });
}

/** Constants read only by binary operators become literals; any other use gets a buffer (a fill kernel). */
function foldableConsts(program: Program, outputValues: readonly Value[]): ReadonlySet<Tensor> {
  const needsBuffer = new Set<Tensor>(outputValues.filter((v): v is Tensor => 'op' in v));
  for (const node of program.nodes) {
    if (node.op !== 'binary') node.inputs.forEach((x) => needsBuffer.add(storageOf(x)));
  }
  return new Set(program.nodes.filter((n) => n.op === 'const' && !needsBuffer.has(n)));
}

function nodeSteps(node: Tensor, literals: ReadonlySet<Tensor>): PerOpStep[] {
  const name = node.describe();
  const dtype = node.dtype;
  const tensorOperand = (x: Tensor): ElementwiseOperand => ({ kind: 'tensor', shape: x.shape, dtype: x.dtype });
  const elementwise = (fn: ElementwiseFn, operands: readonly Tensor[]): PerOpStep => {
    const specOperands = operands.map((x): ElementwiseOperand =>
      literals.has(x) ? { kind: 'literal', value: x.attrs.value as number } : tensorOperand(x));
    const reads = operands.filter((x) => !literals.has(x)).map(storageOf);
    return { name, reads, writes: [node], source: (v) => elementwiseKernel({ fn, operands: specOperands, out: node }, v) };
  };
  const [x, y] = node.inputs as [Tensor, Tensor];
  switch (node.op) {
    case 'input':
    case 'reshape':
      return [];
    case 'const':
      if (literals.has(node)) return [];
      return [{ name, reads: [], writes: [node], source: (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'literal', value: node.attrs.value as number }], out: node }, v) }];
    case 'unary':
      return [elementwise({ kind: 'unary', fn: (node.attrs as OpAttrs['unary']).fn }, [x])];
    case 'binary':
      return [elementwise({ kind: 'binary', fn: (node.attrs as OpAttrs['binary']).fn }, [x, y])];
    case 'scale':
      return [elementwise({ kind: 'scale', c: (node.attrs as OpAttrs['scale']).c }, [x])];
    case 'reduce': {
      const { fn, dim } = node.attrs as OpAttrs['reduce'];
      if (fn === 'mean') throw new Error('internal: mean should have been expanded');
      return [{ name, reads: [storageOf(x)], writes: [node], source: (v) => reduceKernel({ fn, inShape: x.shape, dim, dtype }, v) }];
    }
    case 'matmul':
      return [{ name, reads: [storageOf(x), storageOf(y)], writes: [node], source: (v) => matmulKernel({ aShape: x.shape, bShape: y.shape, dtype }, v) }];
    case 'transpose': {
      const { perm } = node.attrs as OpAttrs['transpose'];
      return [{ name, reads: [storageOf(x)], writes: [node], source: (v) => transposeKernel({ inShape: x.shape, perm, dtype }, v) }];
    }
    case 'concat': {
      const { dim } = node.attrs as OpAttrs['concat'];
      const offsets = node.inputs.map((_, i) => node.inputs.slice(0, i).reduce((s, t) => s + t.shape[dim]!, 0));
      return node.inputs.map((part, i) => ({
        name: `${name} (operand ${i})`,
        reads: [storageOf(part)],
        writes: [node],
        source: (v: Variant) => concatSliceKernel({ inShape: part.shape, outShape: node.shape, dim, offset: offsets[i]!, dtype }, v),
      }));
    }
    case 'rmsNorm':
    case 'softmax':
      throw new Error(`internal: composite ${node.op} should have been expanded`);
  }
}

function copyStep(t: Tensor, value: Value): PerOpStep {
  const out = { shape: t.shape, dtype: t.dtype };
  return {
    name: `copy ${t.describe()}`,
    reads: [storageOf(t)],
    writes: [value],
    source: (v) => elementwiseKernel({ fn: { kind: 'copy' }, operands: [{ kind: 'tensor', ...out }], out }, v),
  };
}
