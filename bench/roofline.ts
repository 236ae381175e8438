/**
 * The roofline bound of a workload on this adapter, as in docs/benchmarks.md:
 * minimal bytes (every input read once, every output written once, at the variant's
 * storage size) over the copy bandwidth, against FLOPs over the FMA rate; the larger wins.
 * FLOPs: 2·M·N·K per matmul; per element 3 for rmsNorm, 5 for softmax, 4 for silu,
 * 1 for every other elementwise operator or reduced element.
 */
import type { Program } from '../src/frontend/program.js';
import type { Tensor } from '../src/frontend/tensor.js';
import { numel } from '../src/ir/shape.js';
import type { Variant } from '../src/runtime/types.js';
import type { AdapterFigures } from './microkernels.js';

export interface Roofline {
  readonly bytes: number;
  readonly flops: number;
  readonly ms: number;
  readonly bound: 'memory' | 'compute';
}

const UNARY_FLOPS: Readonly<Record<string, number>> = { silu: 4, gelu: 8 };

function nodeFlops(node: Tensor): number {
  const out = numel(node.shape);
  switch (node.op) {
    case 'matmul': {
      const a = node.inputs[0]!.shape;
      return 2 * out * a[a.length - 1]!;
    }
    case 'rmsNorm':
      return 3 * numel(node.inputs[0]!.shape);
    case 'softmax':
      return 5 * out;
    case 'unary':
      return (UNARY_FLOPS[String(node.attrs.fn)] ?? 1) * out;
    case 'binary':
    case 'scale':
      return out;
    case 'reduce':
      return numel(node.inputs[0]!.shape);
    default:
      return 0;
  }
}

export function programFlops(program: Program): number {
  return program.nodes.reduce((sum, node) => sum + nodeFlops(node), 0);
}

export function minimalBytes(program: Program, variant: Variant): number {
  const size = (dtype: string) => (variant === 'f16' && dtype === 'f16' ? 2 : 4);
  const inputs = program.inputSpecs.reduce((sum, s) => sum + numel(s.shape) * size(s.dtype), 0);
  const outputs = program.outputs.reduce((sum, o) => sum + numel(o.tensor.shape) * size(o.tensor.dtype), 0);
  return inputs + outputs;
}

export function roofline(program: Program, variant: Variant, adapter: Pick<AdapterFigures, 'copyGBps' | 'fmaGflops'>): Roofline {
  const bytes = minimalBytes(program, variant);
  const flops = programFlops(program);
  const memoryMs = bytes / (adapter.copyGBps * 1e6);
  const computeMs = flops / (adapter.fmaGflops * 1e6);
  return { bytes, flops, ms: Math.max(memoryMs, computeMs), bound: memoryMs >= computeMs ? 'memory' : 'compute' };
}
