/**
 * The kernel graph: the top level of a μGraph. Inputs and outputs are named storage
 * tensors; nodes are pre-defined or custom kernels (kernel-ops.ts). Tensor ids: graph
 * inputs first, then every node's outputs in node order, so ids are a topological order
 * and the graph serializes as plain indices.
 *
 * JSON: `toJSON()` is canonical (fixed key order, defaults filled in), `fromJSON`
 * validates exactly as construction does, and the round trip is the identity. `hash`
 * covers the function computed (structure, attributes, shapes, dtypes, thread configs),
 * not the input and output names, which are labels (as for Program.hash).
 */
import type { DType } from '../ir/dtype.js';
import { hashString } from '../ir/hash.js';
import type { Shape } from '../ir/shape.js';
import type { BlockGraphSpec } from './block-graph.js';
import { expectArray, expectDType, expectInteger, expectName, expectRecord, expectShape, fail } from './check.js';
import { describeKernelNode, info, type KernelNode, type KernelTensorInfo, parseKernelNode, type PredefinedKernelSpec } from './kernel-ops.js';
import { prettyKernelGraph } from './pretty.js';
import type { ThreadConfig } from './thread-config.js';

/** Version of the JSON format; bump on any change of meaning. */
export const UGRAPH_SCHEMA = 1;

export interface KernelGraphInput {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface KernelGraphOutput {
  readonly name: string;
  readonly tensor: number;
}

export type KernelNodeJSON =
  | PredefinedKernelSpec
  | { readonly op: 'custom'; readonly inputs: readonly number[]; readonly block: BlockGraphSpec; readonly thread: ThreadConfig };

export interface KernelGraphJSON {
  readonly schema: typeof UGRAPH_SCHEMA;
  readonly inputs: readonly KernelGraphInput[];
  readonly nodes: readonly KernelNodeJSON[];
  readonly outputs: readonly KernelGraphOutput[];
}

/** Checks a kernel graph piece by piece (used by the builder, and by the constructor on a whole spec). */
export class KernelGraphAssembler {
  readonly inputs: KernelGraphInput[] = [];
  readonly nodes: KernelNode[] = [];
  readonly outputs: KernelGraphOutput[] = [];
  readonly tensors: KernelTensorInfo[] = [];
  /** Tensor ids produced by each node. */
  readonly nodeOutputs: (readonly number[])[] = [];

  addInput(raw: unknown): number {
    const where = `input ${this.inputs.length}`;
    if (this.nodes.length > 0) fail(where, 'declare every input before the first kernel');
    const r = expectRecord(raw, where, ['name', 'shape', 'dtype']);
    const name = expectName(r.name, where, 'name');
    if (this.inputs.some((x) => x.name === name)) fail(where, `duplicate input name "${name}"`);
    const input = Object.freeze({ name, shape: expectShape(r.shape, where, 'shape'), dtype: expectDType(r.dtype, where, 'dtype') });
    this.inputs.push(input);
    this.tensors.push(info(input.shape, input.dtype, undefined));
    return this.tensors.length - 1;
  }

  /** Adds a kernel; returns the ids of its output tensors. */
  addNode(raw: unknown): readonly number[] {
    const index = this.nodes.length;
    const op = (raw as { op?: unknown } | null)?.op;
    const { node, outputs } = parseKernelNode(raw, this.tensors, index, `node ${index}${typeof op === 'string' ? ` (${op})` : ''}`);
    const ids = Object.freeze(outputs.map((_, k) => this.tensors.length + k));
    this.nodes.push(node);
    this.tensors.push(...outputs);
    this.nodeOutputs.push(ids);
    return ids;
  }

  addOutput(raw: unknown): void {
    const where = `output ${this.outputs.length}`;
    const r = expectRecord(raw, where, ['name', 'tensor']);
    const name = expectName(r.name, where, 'name');
    if (this.outputs.some((x) => x.name === name)) fail(where, `duplicate output name "${name}"`);
    this.outputs.push(Object.freeze({ name, tensor: expectInteger(r.tensor, where, 'tensor', 0, this.tensors.length - 1) }));
  }
}

export class KernelGraph {
  readonly inputs: readonly KernelGraphInput[];
  readonly nodes: readonly KernelNode[];
  readonly outputs: readonly KernelGraphOutput[];
  /** Shape, dtype and producer of every tensor, by id. */
  readonly tensors: readonly KernelTensorInfo[];
  /** Tensor ids produced by each node. */
  readonly nodeOutputs: readonly (readonly number[])[];

  /** Validates `spec` (a KernelGraphJSON, with or without `schema`); throws UGraphError. */
  constructor(spec: unknown) {
    const r = expectRecord(spec, 'kernel graph', ['schema', 'inputs', 'nodes', 'outputs']);
    if (r.schema !== undefined && r.schema !== UGRAPH_SCHEMA) fail('kernel graph', `schema ${String(r.schema)} is not supported (expected ${UGRAPH_SCHEMA})`);
    const assembler = new KernelGraphAssembler();
    const inputs = expectArray(r.inputs, 'kernel graph', 'inputs');
    if (inputs.length === 0) fail('kernel graph', 'needs at least one input');
    for (const input of inputs) assembler.addInput(input);
    for (const node of expectArray(r.nodes, 'kernel graph', 'nodes')) assembler.addNode(node);
    const outputs = expectArray(r.outputs, 'kernel graph', 'outputs');
    if (outputs.length === 0) fail('kernel graph', 'needs at least one output');
    for (const output of outputs) assembler.addOutput(output);
    this.inputs = Object.freeze(assembler.inputs);
    this.nodes = Object.freeze(assembler.nodes);
    this.outputs = Object.freeze(assembler.outputs);
    this.tensors = Object.freeze(assembler.tensors);
    this.nodeOutputs = Object.freeze(assembler.nodeOutputs);
    Object.freeze(this);
  }

  /** Parses JSON text or an already parsed value; as strict as construction. */
  static fromJSON(json: unknown): KernelGraph {
    const value = typeof json === 'string' ? (JSON.parse(json) as unknown) : json;
    const schema = (value as { schema?: unknown } | null)?.schema;
    if (schema !== UGRAPH_SCHEMA) fail('kernel graph', `expected "schema": ${UGRAPH_SCHEMA}, got ${JSON.stringify(schema)}`);
    return new KernelGraph(value);
  }

  toJSON(): KernelGraphJSON {
    const nodes = this.nodes.map((node): KernelNodeJSON =>
      node.op === 'custom' ? { op: 'custom', inputs: node.inputs, block: node.block.toJSON(), thread: node.thread } : node,
    );
    return { schema: UGRAPH_SCHEMA, inputs: this.inputs, nodes, outputs: this.outputs };
  }

  /** Canonical JSON of the function computed: the JSON without input and output names. */
  canonicalJSON(): string {
    return canonical.get(this) ?? memo(canonical, this, JSON.stringify({
      ...this.toJSON(),
      inputs: this.inputs.map((x) => [x.shape, x.dtype]),
      outputs: this.outputs.map((x) => x.tensor),
    }));
  }

  /** Structural hash (32 hex digits) of `canonicalJSON()`. */
  get hash(): string {
    return hashString(this.canonicalJSON());
  }

  /** Custom kernels with their node index. */
  get customKernels(): { index: number; node: Extract<KernelNode, { op: 'custom' }> }[] {
    return this.nodes.flatMap((node, index) => (node.op === 'custom' ? [{ index, node }] : []));
  }

  describeNode(index: number): string {
    return describeKernelNode(this.nodes[index]!);
  }

  pretty(): string {
    return prettyKernelGraph(this);
  }

  toString(): string {
    return this.pretty();
  }
}

const canonical = new WeakMap<KernelGraph, string>();

function memo<K extends object, V>(map: WeakMap<K, V>, key: K, value: V): V {
  map.set(key, value);
  return value;
}
