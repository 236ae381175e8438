/**
 * KernelGraphBuilder: writes μGraphs by hand (benchmarks, tests, the naive lowering),
 * after Mirage's `new_kernel_graph()` / `new_threadblock_graph()` API:
 *
 *   const g = new KernelGraphBuilder();
 *   const x = g.input('x', [16, 64]);
 *   const w = g.input('w', [64, 128]);
 *   const [y] = g.customKernel({ grid: [4], forloopRange: 8 }, (b) => {
 *     const xt = b.input(x, { fmap: 1 });
 *     const wt = b.input(w, { imap: { x: 1 }, fmap: 0 });
 *     b.output(b.accumSum(b.matmul(xt, wt)), { omap: { x: 1 } });
 *   });
 *   g.output('y', y!);
 *   const graph = g.build();   // validated structurally and against the target
 *
 * Every call is checked as it is made; `build()` then constructs the immutable
 * KernelGraph and checks it against the target profile (default: WebGPU's minimums).
 */
import type { DType } from '../ir/dtype.js';
import { normalizeDim, type Shape } from '../ir/shape.js';
import { BlockGraphBuilder } from './block-builder.js';
import { CommonOpsBuilder, type RawOp } from './builder-ops.js';
import { fail } from './check.js';
import { gridFrom } from './grid.js';
import { KernelGraph, KernelGraphAssembler } from './kernel-graph.js';
import { checkTarget } from './target-check.js';
import { type TargetProfile, webgpuDefaults } from './target.js';
import type { ThreadConfig } from './thread-config.js';

/** A storage tensor of the kernel graph being built. */
export interface KernelTensorRef {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly owner: KernelGraphBuilder;
}

export interface KernelGraphBuilderOptions {
  /** Limits `build()` validates against; default `webgpuDefaults`. */
  readonly target?: TargetProfile;
}

export interface CustomKernelOptions {
  /** Workgroups: a number or 1 to 3 sizes [x, y, z]; missing axes are 1. */
  readonly grid: number | readonly number[];
  /** For-loop iterations (default 1). */
  readonly forloopRange?: number;
  /** Thread-level config; missing fields take DEFAULT_THREAD_CONFIG. */
  readonly thread?: Partial<ThreadConfig>;
}

export class KernelGraphBuilder extends CommonOpsBuilder<KernelTensorRef> {
  protected readonly keepdimByDefault = false;
  private readonly assembler = new KernelGraphAssembler();
  private readonly target: TargetProfile;

  constructor(options: KernelGraphBuilderOptions = {}) {
    super();
    this.target = options.target ?? webgpuDefaults;
  }

  input(name: string, shape: Shape, dtype: DType = 'f32'): KernelTensorRef {
    return this.ref(this.assembler.addInput({ name, shape, dtype }));
  }

  /** A rank-0 constant in storage; binary operators broadcast it. */
  constant(value: number, dtype: DType = 'f32'): KernelTensorRef {
    return this.node({ op: 'constant', value, dtype, inputs: [] });
  }

  reshape(x: KernelTensorRef, shape: Shape): KernelTensorRef {
    return this.append({ op: 'reshape', shape, inputs: [x.id] }, [x]);
  }

  /** Permutes dims; without `perm`, swaps the last two. */
  transpose(x: KernelTensorRef, perm?: readonly number[]): KernelTensorRef {
    const rank = x.shape.length;
    const p = perm ?? [...Array(rank).keys()].map((i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
    return this.append({ op: 'transpose', perm: p.map((d) => normalizeDim(d, rank) ?? d), inputs: [x.id] }, [x]);
  }

  concat(xs: readonly KernelTensorRef[], dim: number): KernelTensorRef {
    const rank = xs[0]?.shape.length ?? 0;
    return this.append({ op: 'concat', dim: normalizeDim(dim, rank) ?? dim, inputs: xs.map((x) => x.id) }, xs);
  }

  /**
   * A custom kernel: `body` builds its block graph. Returns one storage tensor per
   * `b.output(...)`, in call order.
   */
  customKernel(options: CustomKernelOptions, body: (b: BlockGraphBuilder) => void): KernelTensorRef[] {
    const where = `node ${this.assembler.nodes.length} (custom) > block`;
    const b = new BlockGraphBuilder(gridFrom(options.grid), options.forloopRange ?? 1, where);
    body(b);
    this.checkOwn(b.kernelInputs);
    const ids = this.assembler.addNode({ op: 'custom', inputs: b.kernelInputs.map((t) => t.id), block: b.spec(), thread: options.thread ?? {} });
    return ids.map((id) => this.ref(id));
  }

  output(name: string, t: KernelTensorRef): void {
    this.checkOwn([t]);
    this.assembler.addOutput({ name, tensor: t.id });
  }

  /** The finished, immutable graph, checked against the builder's target. */
  build(): KernelGraph {
    const { inputs, nodes, outputs } = this.assembler;
    const graph = new KernelGraph({
      inputs,
      nodes: nodes.map((n) => (n.op === 'custom' ? { ...n, block: n.block.toJSON() } : n)),
      outputs,
    });
    checkTarget(graph, this.target);
    return graph;
  }

  protected append(raw: RawOp, operands: readonly KernelTensorRef[]): KernelTensorRef {
    this.checkOwn(operands);
    return this.node(raw);
  }

  protected scalar(value: number, like: KernelTensorRef): KernelTensorRef {
    return this.constant(value, like.dtype);
  }

  private node(raw: RawOp): KernelTensorRef {
    const [id] = this.assembler.addNode(raw);
    return this.ref(id!);
  }

  private ref(id: number): KernelTensorRef {
    const { shape, dtype } = this.assembler.tensors[id]!;
    return Object.freeze({ id, shape, dtype, owner: this });
  }

  private checkOwn(operands: readonly { readonly owner?: unknown }[]): void {
    if (operands.some((x) => x.owner !== this)) fail(`node ${this.assembler.nodes.length}`, 'operand is a tensor of another kernel graph');
  }
}
