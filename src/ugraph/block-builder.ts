/**
 * The block-level builder handed to `KernelGraphBuilder.customKernel`'s callback, after
 * Mirage's manual threadblock-graph API: `b.input(t, { imap, fmap })`, operators on
 * tiles, for-loop accumulators, `b.output(t, { omap })`. Every call is checked as it is
 * made (through BlockGraphAssembler), so errors point at the offending line.
 */
import type { DType } from '../ir/dtype.js';
import { normalizeDim, type Shape } from '../ir/shape.js';
import { BlockGraphAssembler, type BlockGraphSpec } from './block-graph.js';
import type { AccumKind, Phase } from './block-ops.js';
import { CommonOpsBuilder, type RawOp } from './builder-ops.js';
import { fail } from './check.js';
import { type Grid, type GridMapObject, gridMapFromObject } from './grid.js';

/** A tile (block tensor) of the block graph being built. */
export interface BlockTensorRef {
  readonly id: number;
  readonly shape: Shape;
  readonly phase: Phase;
  readonly owner: BlockGraphBuilder;
}

/** A storage tensor as the block builder sees it (a KernelTensorRef of the enclosing builder). */
export interface StorageTensorRef {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
  /** The kernel-graph builder that made it (checked when the kernel is added). */
  readonly owner: unknown;
}

export interface IteratorOptions {
  /** Which tensor dimension each grid axis splits, e.g. `{ x: 1 }`; unmapped axes replicate. */
  readonly imap?: GridMapObject;
  /** The dimension the for-loop walks, or null/absent for the same tile every iteration. */
  readonly fmap?: number | null;
}

export interface SaverOptions {
  /** The output dimension each grid axis > 1 concatenates along, e.g. `{ x: 1 }`. */
  readonly omap?: GridMapObject;
  /** Storage dtype of the output; default: the dtype of the kernel's first input. */
  readonly dtype?: DType;
}

export interface RescaleOptions {
  /** A maxRescale accumulator: weight each iteration's term by exp(m_i - M) (online softmax). */
  readonly rescaleBy?: BlockTensorRef;
}

export class BlockGraphBuilder extends CommonOpsBuilder<BlockTensorRef> {
  /** Storage tensor ids read by the kernel; iterator k reads kernelInputs[k]. */
  readonly kernelInputs: StorageTensorRef[] = [];
  protected readonly keepdimByDefault = true;
  private readonly assembler: BlockGraphAssembler;

  constructor(grid: Grid, forloopRange: number, where: string) {
    super();
    this.assembler = new BlockGraphAssembler(grid, forloopRange, where);
  }

  /** An input iterator over storage tensor `t`: its per-workgroup, per-iteration tile. */
  input(t: StorageTensorRef, options: IteratorOptions = {}): BlockTensorRef {
    const id = this.assembler.addIterator({ imap: gridMapFromObject(options.imap), fmap: options.fmap ?? null }, t.shape);
    this.kernelInputs.push(t);
    return this.ref(id);
  }

  constant(value: number): BlockTensorRef {
    return this.ref(this.assembler.addOp({ op: 'constant', value, inputs: [] }));
  }

  /** Joins tiles of one phase along `dim` (negative counts from the end). */
  concat(xs: readonly BlockTensorRef[], dim: number): BlockTensorRef {
    const rank = xs[0]?.shape.length ?? 0;
    return this.append({ op: 'concat', dim: normalizeDim(dim, rank) ?? dim, inputs: xs.map((x) => x.id) }, xs);
  }

  /** Σ over loop iterations (optionally rescaled for online softmax). */
  accumSum(x: BlockTensorRef, options: RescaleOptions = {}): BlockTensorRef {
    return this.accum('sum', x, options);
  }

  /** Σ over loop iterations and over the tile's last dimension (kept with size 1). */
  accumSumLastDim(x: BlockTensorRef, options: RescaleOptions = {}): BlockTensorRef {
    return this.accum('sumLastDim', x, options);
  }

  /** Running max over iterations of a local max m_i; rescales the accumulators that name it. */
  accumMaxRescale(m: BlockTensorRef): BlockTensorRef {
    return this.accum('maxRescale', m, {});
  }

  /** Saves a post-accumulation tile; returns the output's index in the kernel's outputs. */
  output(x: BlockTensorRef, options: SaverOptions = {}): number {
    this.checkOwn([x]);
    const dtype = options.dtype ?? this.kernelInputs[0]?.dtype ?? 'f32';
    return this.assembler.addSaver({ tensor: x.id, omap: gridMapFromObject(options.omap), dtype });
  }

  /** The block graph as plain data, for the kernel node. */
  spec(): BlockGraphSpec {
    const { grid, forloopRange, inputs, ops, outputs } = this.assembler;
    return { grid, forloopRange, inputs, ops, outputs };
  }

  protected append(raw: RawOp, operands: readonly BlockTensorRef[]): BlockTensorRef {
    this.checkOwn(operands);
    return this.ref(this.assembler.addOp(raw));
  }

  protected scalar(value: number): BlockTensorRef {
    return this.constant(value);
  }

  private accum(kind: AccumKind, x: BlockTensorRef, options: RescaleOptions): BlockTensorRef {
    const rescaleBy = options.rescaleBy;
    this.checkOwn(rescaleBy ? [x, rescaleBy] : [x]);
    return this.ref(this.assembler.addOp({ op: 'accum', kind, inputs: [x.id], ...(rescaleBy ? { rescaleBy: rescaleBy.id } : {}) }));
  }

  private ref(id: number): BlockTensorRef {
    const { shape, phase } = this.assembler.tensors[id]!;
    return Object.freeze({ id, shape, phase, owner: this });
  }

  private checkOwn(operands: readonly BlockTensorRef[]): void {
    if (operands.some((x) => x.owner !== this)) fail(this.assembler.where, 'operand is a tile of another block graph');
  }
}
