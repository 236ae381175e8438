/**
 * A block graph: the program of one workgroup of a custom kernel (Mirage's threadblock
 * graph). Tensor ids: input-iterator tiles first (iterator k reads the custom kernel's
 * input k), then one per op in order, so ids are a topological order and a block graph
 * serializes as plain indices. Immutable and fully validated at construction; the
 * target-dependent checks (workgroup memory, grid limits) are in target-check.ts.
 */
import { hashString } from '../ir/hash.js';
import type { Shape } from '../ir/shape.js';
import { expectArray, expectInteger, expectRecord, fail } from './check.js';
import { type BlockOpSpec, type BlockTensorInfo, parseBlockOp } from './block-ops.js';
import { type InputIteratorSpec, type OutputSaverSpec, parseIterator, parseSaver } from './block-io.js';
import { type Grid, parseGrid } from './grid.js';
import { prettyBlockGraph } from './pretty.js';

export interface BlockGraphSpec {
  readonly grid: Grid;
  /** Iterations of the block graph's one for-loop (>= 1). */
  readonly forloopRange: number;
  readonly inputs: readonly InputIteratorSpec[];
  readonly ops: readonly BlockOpSpec[];
  readonly outputs: readonly OutputSaverSpec[];
}

/**
 * Checks a block graph piece by piece as it is put together: the builder uses it so that
 * errors surface at the offending call, the constructor replays a whole spec through it.
 */
export class BlockGraphAssembler {
  readonly inputs: InputIteratorSpec[] = [];
  readonly ops: BlockOpSpec[] = [];
  readonly outputs: OutputSaverSpec[] = [];
  readonly tensors: BlockTensorInfo[] = [];
  readonly outputShapes: Shape[] = [];

  constructor(readonly grid: Grid, readonly forloopRange: number, readonly where: string) {}

  /** Adds an iterator over a storage tensor of `shape`; returns the tile's tensor id. */
  addIterator(raw: unknown, shape: Shape): number {
    const where = `${this.where} > input ${this.inputs.length}`;
    if (this.ops.length > 0) fail(where, 'declare every input iterator before the first operator');
    const { spec, tile } = parseIterator(raw, shape, this.grid, this.forloopRange, where);
    this.inputs.push(spec);
    this.tensors.push(Object.freeze({ shape: tile, phase: 'pre', op: undefined }));
    return this.tensors.length - 1;
  }

  /** Adds an operator; returns its result's tensor id. */
  addOp(raw: unknown): number {
    const id = this.tensors.length;
    const label = typeof (raw as { op?: unknown })?.op === 'string' ? ` (${(raw as { op: string }).op})` : '';
    const { spec, info } = parseBlockOp(raw, this.tensors, `${this.where} > op t${id}${label}`);
    this.ops.push(spec);
    this.tensors.push(info);
    return id;
  }

  /** Adds an output saver; returns the output's index among the kernel's outputs. */
  addSaver(raw: unknown): number {
    const { spec, shape } = parseSaver(raw, this.tensors, this.grid, `${this.where} > output ${this.outputs.length}`);
    this.outputs.push(spec);
    this.outputShapes.push(shape);
    return this.outputs.length - 1;
  }
}

export class BlockGraph implements BlockGraphSpec {
  readonly grid: Grid;
  readonly forloopRange: number;
  readonly inputs: readonly InputIteratorSpec[];
  readonly ops: readonly BlockOpSpec[];
  readonly outputs: readonly OutputSaverSpec[];
  /** Shapes of the storage tensors the iterators read (the custom kernel's inputs). */
  readonly inputShapes: readonly Shape[];
  /** Shape and phase of every block tensor, by id. */
  readonly tensors: readonly BlockTensorInfo[];
  /** Shape of the storage tensor each saver writes. */
  readonly outputShapes: readonly Shape[];

  constructor(spec: unknown, inputShapes: readonly Shape[], where = 'block graph') {
    const r = expectRecord(spec, where, ['grid', 'forloopRange', 'inputs', 'ops', 'outputs']);
    const assembler = new BlockGraphAssembler(parseGrid(r.grid, where), expectInteger(r.forloopRange, where, 'forloopRange', 1), where);
    const iterators = expectArray(r.inputs, where, 'inputs');
    if (iterators.length === 0) fail(where, 'a block graph needs at least one input iterator');
    if (iterators.length !== inputShapes.length) {
      fail(where, `has ${iterators.length} input iterator(s) but the kernel passes ${inputShapes.length} tensor(s)`);
    }
    iterators.forEach((iterator, i) => assembler.addIterator(iterator, inputShapes[i]!));
    for (const op of expectArray(r.ops, where, 'ops')) assembler.addOp(op);
    const savers = expectArray(r.outputs, where, 'outputs');
    if (savers.length === 0) fail(where, 'a block graph needs at least one output saver');
    for (const saver of savers) assembler.addSaver(saver);
    this.grid = assembler.grid;
    this.forloopRange = assembler.forloopRange;
    this.inputs = Object.freeze(assembler.inputs);
    this.ops = Object.freeze(assembler.ops);
    this.outputs = Object.freeze(assembler.outputs);
    this.inputShapes = Object.freeze(inputShapes.map((s) => Object.freeze([...s])));
    this.tensors = Object.freeze(assembler.tensors);
    this.outputShapes = Object.freeze(assembler.outputShapes);
    Object.freeze(this);
  }

  /** Canonical plain data (fixed key order); the input shapes come from the enclosing kernel graph. */
  toJSON(): BlockGraphSpec {
    return { grid: this.grid, forloopRange: this.forloopRange, inputs: this.inputs, ops: this.ops, outputs: this.outputs };
  }

  /** Structural hash of the block graph together with the shapes it reads. */
  get hash(): string {
    // The instance is frozen, so memoize through a side table rather than a field write.
    return blockHashes.get(this) ?? memo(blockHashes, this, hashString(JSON.stringify([this.inputShapes, this.toJSON()])));
  }

  pretty(inputNames?: readonly string[]): string {
    return prettyBlockGraph(this, inputNames ?? this.inputShapes.map((_, i) => `in${i}`));
  }

  toString(): string {
    return this.pretty();
  }
}

const blockHashes = new WeakMap<BlockGraph, string>();

function memo<K extends object, V>(map: WeakMap<K, V>, key: K, value: V): V {
  map.set(key, value);
  return value;
}
