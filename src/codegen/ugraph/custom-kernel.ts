/**
 * One compute shader per custom kernel, one workgroup per grid cell (wid = its x, y, z):
 *
 *   iterator bases from wid; register accumulators and row-sum partials = 0
 *   loop-invariant tiles and body ops (computed once)
 *   for it in 0..forloopRange:
 *     stage this iteration's tiles (imap/fmap offsets) into workgroup memory
 *     loop body; accumulator updates; running-max commits
 *   flush register accumulators and row sums; epilogue; savers (omap offsets)
 *
 * with a workgroup barrier between a step that writes workgroup memory and the next, and
 * at the end of each iteration (the next one overwrites the tiles). Every barrier sits in
 * uniform control flow: there is no early return, and per-invocation work is guarded.
 * A loop left empty (one iteration whose sums are read as their inputs) is not emitted.
 * Streamed tiles whose every read is four elements wide are bound as array<vec4<T>>, and so
 * are outputs whose saver stores vec4s: lavapipe runs each load and store lane by lane.
 */
import { numel, stridesOf } from '../../ir/shape.js';
import type { ElementType, Variant } from '../../runtime/types.js';
import { GRID_AXES } from '../../ugraph/grid.js';
import type { CustomKernelNode } from '../../ugraph/kernel-ops.js';
import {
  type Binding, kernelHeader, type KernelSource, load, storageType, store, stridedIndex, u32,
} from '../wgsl/common.js';
import { type IteratorSource, offset, tensorAccess } from './access.js';
import { Code, forEachElement, WorkgroupArray } from './code.js';
import {
  declareRegisterAccumulators, emitAccumulatorUpdates, emitKLaneReduction, emitRegisterFlush, emitRunningMaxCommits, forEachSlot, hasRunningMax,
  register,
} from './emit-accum.js';
import { matmulTileOutputs } from './emit-matmul.js';
import { type EmitContext, emitOp } from './emit-ops.js';
import { declareRowSums, emitRowSumFlush, registerRowSums } from './emit-row-sums.js';
import { type KernelPlan, planKernel } from './plan.js';

export interface StorageTensor {
  readonly shape: readonly number[];
  readonly dtype: ElementType;
}

/**
 * Inputs that the kernel also reads as array<vecN<T>> (the B operands of vectorized matmuls,
 * when every offset into them is a multiple of N): each gets a second, read-only binding
 * of the same buffer, after the inputs. compile-graph.ts binds them in this order.
 */
export function vectorAliases(node: CustomKernelNode, inputs: readonly StorageTensor[]): { input: number; width: number }[] {
  const plan = planKernel(node.block, node.thread);
  return [...plan.vectorOperands]
    .filter(([k, width]) => vectorAligned(node, k, inputs[k]!.shape, width))
    .map(([input, width]) => ({ input, width }));
}

/** An alias of 8 columns is 8 halves packed in a vec4<u32> in storage type f16, two vec4 reads otherwise. */
function aliasView(name: string, width: number, type: string): { name: string; width: number; packed?: boolean } {
  if (width !== 8) return { name, width };
  return type === 'f16' ? { name, width, packed: true } : { name, width: 4 };
}

function vectorAligned(node: CustomKernelNode, k: number, shape: readonly number[], width: number): boolean {
  const { block } = node;
  const spec = block.inputs[k]!;
  const strides = stridesOf(shape);
  const offsets = [
    ...spec.imap.flatMap((dim, axis) => (dim === null ? [] : [(shape[dim]! / block.grid[axis]!) * strides[dim]!])),
    ...(spec.fmap === null ? [] : [block.tensors[k]!.shape[spec.fmap]! * strides[spec.fmap]!]),
    ...strides.slice(0, -1),
    shape.at(-1)!,
  ];
  return offsets.every((o) => o % width === 0);
}

/** Bindings: the kernel's inputs (iterator order), their vector aliases, then one per saver. */
export function customKernelSource(node: CustomKernelNode, inputs: readonly StorageTensor[], variant: Variant): KernelSource {
  const { block, thread } = node;
  const plan = planKernel(block, thread);
  const aliases = vectorAliases(node, inputs);
  const storageOf = (k: number) => storageType(variant, inputs[k]!.dtype);
  const aliasViews = new Map(aliases.map(({ input, width }) => [input, aliasView(`in${input}v`, width, storageOf(input))]));
  // Whether workgroup memory is read as vec4s depends on the matmuls, not on which streamed
  // inputs are read as vectors: once an emission found no vector use, the next ones skip it.
  let vectorWorkgroup = true;
  const emit = (vectorInputs: ReadonlyMap<number, string>) => {
    const result = emitKernel({
      node, inputs, variant, plan,
      view: (k) => aliasViews.get(k) ?? (vectorInputs.has(k) ? { name: vectorInputs.get(k)!, width: 4 } : undefined),
      outputs: block.outputs.map((saver, k): Binding => ({ name: `out${k}`, dtype: saver.dtype, access: 'read_write' })),
    }, vectorWorkgroup);
    vectorWorkgroup = result.workgroup.vectors;
    return result;
  };
  // Streamed tiles that elementwise readers (savers, row sums, elementwise ops) may read four
  // elements at a time: emitted under a probe name, then bound as array<vec4<T>> themselves
  // (the probe name renamed) where no read of them is left scalar (no alias: bindings are few, 8 storage
  // buffers per stage by default). Dropping one can leave others' reads scalar, hence the loop.
  let candidates = streamedVectorCandidates(node, inputs, plan, aliasViews);
  let emitted = emit(new Map(candidates.map((k) => [k, `in${k}v`])));
  for (;;) {
    const body = emitted.body;
    const kept = candidates.filter((k) => body.includes(`in${k}v[`) && !body.includes(`in${k}[`));
    if (kept.length === candidates.length) break;
    // A dropped input that no read took as vectors leaves the body as it is: no need to emit it again.
    const changed = candidates.some((k) => !kept.includes(k) && body.includes(`in${k}v[`));
    candidates = kept;
    if (!changed) break;
    emitted = emit(new Map(candidates.map((k) => [k, `in${k}v`])));
  }
  // Every read of a kept candidate goes through its probe name (checked above, and the probe
  // names are no alias's: aliased inputs are never candidates), so renaming them in the text
  // is the emission under the real name, without emitting the kernel again.
  const body = candidates.reduce((text, k) => text.replace(new RegExp(`\\bin${k}v\\[`, 'g'), `in${k}[`), emitted.body);
  const { workgroup, subgroups, vectorOutputs } = emitted;

  const vectorOf = (k: number) => `vec4<${storageOf(k)}>`;
  const bindings: Binding[] = [
    ...inputs.map((t, k): Binding => ({ name: `in${k}`, dtype: t.dtype, access: 'read', ...(candidates.includes(k) ? { element: vectorOf(k) } : {}) })),
    ...aliases.map(({ input }): Binding => {
      const view = aliasViews.get(input)!;
      return { name: view.name, dtype: inputs[input]!.dtype, access: 'read', element: view.packed ? 'vec4<u32>' : `vec${view.width}<${storageOf(input)}>` };
    }),
    ...block.outputs.map((saver, k): Binding => ({
      name: `out${k}`, dtype: saver.dtype, access: 'read_write', ...(vectorOutputs.has(k) ? { element: `vec4<${storageType(variant, saver.dtype)}>` } : {}),
    })),
  ];
  let header = kernelHeader(variant, bindings);
  if (subgroups.minSize > 0) header = header.startsWith('enable f16;') ? header.replace('enable f16;', 'enable f16;\nenable subgroups;') : `enable subgroups;\n\n${header}`;
  // A kernel that never touches workgroup memory declares none.
  const declaration = body.includes('wg[') ? `${workgroup.declaration(plan.workgroupElements)}\n\n` : '';
  const wgsl = `${header}

${declaration}@compute @workgroup_size(${thread.invocations})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${subgroups.laneId ? ', @builtin(subgroup_invocation_id) sgid: u32' : ''}) {
${body}
}
`;
  return {
    wgsl,
    bindings: bindings.map((b) => b.access),
    workgroups: [...block.grid] as [number, number, number],
    // Subgroup broadcast reads lanes 0..7 of every subgroup; kLanes clusters must not straddle subgroups.
    ...(subgroups.minSize > 0 ? { requires: { features: ['subgroups'], subgroupMinSize: subgroups.minSize } } : {}),
  };
}

/** Direct tiles besides matmul operands whose rows are whole, aligned vec4s in storage. */
function streamedVectorCandidates(node: CustomKernelNode, inputs: readonly StorageTensor[], plan: KernelPlan, aliased: ReadonlyMap<number, unknown>): number[] {
  return node.block.inputs.flatMap((_, k) => (plan.storage[k]!.kind === 'direct' && !aliased.has(k)
    && node.block.tensors[k]!.shape.at(-1)! % 4 === 0 && vectorAligned(node, k, inputs[k]!.shape, 4) ? [k] : []));
}

interface KernelEmission {
  readonly node: CustomKernelNode;
  readonly inputs: readonly StorageTensor[];
  readonly variant: Variant;
  readonly plan: KernelPlan;
  /** How input k is read in vectors, if it is: its alias, or the input itself bound as vectors. */
  readonly view: (k: number) => IteratorSource['vector'];
  readonly outputs: readonly Binding[];
}

/**
 * The kernel's body and what it needs declared. Workgroup memory as vec4s serves vector
 * reads of matmul A operands and stores of matmul tiles; a kernel without them keeps a flat
 * f32 array (scalar reads of a vec4 array measured ~10% slower).
 */
function emitKernel(
  e: KernelEmission, vectorWorkgroup = true,
): { body: string; workgroup: WorkgroupArray; subgroups: EmitContext['subgroups']; vectorOutputs: ReadonlySet<number> } {
  const attempt = (vectors: boolean) => {
    const workgroup = new WorkgroupArray(vectors);
    const subgroups = { minSize: 0, laneId: false };
    return { ...emitKernelBody(e, workgroup, subgroups), workgroup, subgroups };
  };
  if (!vectorWorkgroup) return attempt(false);
  const withVectors = attempt(true);
  return withVectors.workgroup.vectorUsed ? withVectors : attempt(false);
}

/** The statements of the kernel's main function (see the file comment), with `workgroup` as its workgroup memory. */
function emitKernelBody(
  { node, inputs, variant, plan, view, outputs }: KernelEmission, workgroup: WorkgroupArray, subgroups: EmitContext['subgroups'],
): { body: string; vectorOutputs: ReadonlySet<number> } {
  const { block } = node;
  const code = new Code();
  const iterators = block.inputs.map((spec, k): IteratorSource => {
    const shape = inputs[k]!.shape;
    const strides = stridesOf(shape);
    const terms = spec.imap.flatMap((dim, axis) => {
      if (dim === null) return [];
      const share = (shape[dim]! / block.grid[axis]!) * strides[dim]!;
      return [`wid.${GRID_AXES[axis]} * ${u32(share)}`];
    });
    code.line(`let base${k} = ${terms.length === 0 ? '0u' : terms.join(' + ')};`);
    const vector = view(k);
    const binding: Binding = { name: `in${k}`, dtype: inputs[k]!.dtype, access: 'read' };
    return { binding, base: spec.fmap === null ? `base${k}` : `tile${k}`, strides, ...(vector ? { vector } : {}) };
  });
  const ctx: EmitContext = { plan, access: tensorAccess(plan, variant, iterators, workgroup), code, workgroup, subgroups };
  declareRegisterAccumulators(ctx);
  declareRowSums(ctx);

  const first = block.inputs.length;
  const staged = (id: number) => plan.storage[id]!.kind === 'workgroup';
  const bodyOps = block.ops.flatMap((op, i) => {
    const id = first + i;
    return block.tensors[id]!.phase === 'pre' && op.op !== 'accum' && staged(id) ? [id] : [];
  });
  const hoistedTiles = block.inputs.flatMap((_, k) => (plan.invariant.has(k) && staged(k) ? [k] : []));
  const hoistedOps = bodyOps.filter((id) => plan.invariant.has(id));
  if (hoistedTiles.length + hoistedOps.length > 0) {
    code.comment('loop-invariant tiles and operators');
    emitSteps(ctx, hoistedTiles, hoistedOps, iterators, variant);
  }

  // Without workgroup writes in the loop, iterations need no barrier between them; one
  // after the loop still orders the loop's reads of hoisted tiles before the epilogue's
  // writes. A loop that touches no workgroup memory needs neither: on lavapipe any barrier
  // makes the shader a coroutine, and the register tiles live across it in memory.
  const loopWrites = loopWritesWorkgroup(plan, bodyOps);
  const loopReads = loopWrites || hoistedTiles.length + hoistedOps.length > 0;
  const beforeLoop = code.length;
  let loopDoesWork = false;
  code.block(`for (var it = 0u; it < ${u32(block.forloopRange)}; it++)`, () => {
    code.line('let first = it == 0u;');
    block.inputs.forEach((spec, k) => {
      if (spec.fmap === null) return;
      const shape = inputs[k]!.shape;
      const step = block.tensors[k]!.shape[spec.fmap]! * stridesOf(shape)[spec.fmap]!;
      code.line(`let tile${k} = base${k} + it * ${u32(step)};`);
    });
    const tiles = block.inputs.flatMap((_, k) => (!plan.invariant.has(k) && staged(k) ? [k] : []));
    const workStart = code.length;
    emitSteps(ctx, tiles, bodyOps.filter((id) => !plan.invariant.has(id)), iterators, variant);
    emitAccumulatorUpdates(ctx);
    loopDoesWork = code.length > workStart;
    if (loopWrites) code.barrier();
    if (hasRunningMax(ctx)) {
      emitRunningMaxCommits(ctx);
      code.barrier();
    }
  });
  // A loop left with nothing to do (its one-iteration sums are read as their inputs) goes.
  if (!loopDoesWork) code.truncate(beforeLoop);
  else if (!loopWrites && loopReads) code.barrier();
  emitKLaneReduction(ctx);

  if ([...plan.fusedMatmul.keys()].some((acc) => plan.storage[acc]!.kind !== 'registers')) {
    emitRegisterFlush(ctx);
    code.barrier();
  }
  emitRowSumFlush(ctx);
  const epilogue = block.ops.flatMap((op, i) => {
    const id = first + i;
    return block.tensors[id]!.phase === 'post' && op.op !== 'accum' && staged(id) ? [id] : [];
  });
  emitSteps(ctx, [], epilogue, iterators, variant);
  const vectorOutputs = emitSavers(ctx, outputs, variant, iterators);
  return { body: code.toString(), vectorOutputs };
}

/**
 * Whether an iteration writes workgroup memory: a staged loop-variant tile or body result,
 * an accumulator held there (row sums and register tiles are not), or a running max.
 */
function loopWritesWorkgroup(plan: KernelPlan, bodyOps: readonly number[]): boolean {
  const { block, storage, invariant } = plan;
  const inWorkgroup = (id: number) => storage[id]!.kind === 'workgroup';
  const rowSums = new Set(registerRowSums(plan).map((sum) => sum.id));
  return block.inputs.some((_, k) => inWorkgroup(k) && !invariant.has(k))
    || bodyOps.some((id) => !invariant.has(id))
    || block.tensors.some((t, id) => t.op?.op === 'accum' && storage[id]!.kind === 'workgroup' && !rowSums.has(id) && !plan.fusedMatmul.has(id));
}

/** Stages `tiles`, then runs `ops` in order, with a barrier after each step. */
function emitSteps(ctx: EmitContext, tiles: readonly number[], ops: readonly number[], iterators: readonly IteratorSource[], variant: Variant): void {
  const { plan, access, code } = ctx;
  for (const k of tiles) {
    const shape = plan.block.tensors[k]!.shape;
    const it = iterators[k]!;
    code.comment(`t${k}: tile of in${k}`);
    forEachElement(code, numel(shape), plan.thread.invocations, (e) => {
      const at = stridedIndex(shape, it.strides.map((s, d) => (shape[d] === 1 ? 0 : s)), e);
      code.line(`${access.slot(k, shape, { flat: e })} = ${load(variant, it.binding, `${it.base} + ${at}`)};`);
    });
  }
  if (tiles.length > 0) code.barrier();
  for (const id of ops) {
    emitOp(ctx, id);
    code.barrier();
  }
}

/**
 * Each saver writes its tile at the workgroup's omap offset in the output. A saver of
 * register-resident accumulators (directly or through inline epilogue ops) writes each
 * invocation's register tile: the elements it holds, with the registers substituted.
 * Returns the savers that store vec4s (their output is bound as array<vec4<T>>).
 */
function emitSavers(ctx: EmitContext, outputs: readonly Binding[], variant: Variant, iterators: readonly IteratorSource[]): Set<number> {
  const { plan, access, code } = ctx;
  const vectorOutputs = new Set<number>();
  plan.block.outputs.forEach((saver, k) => {
    const shape = plan.block.tensors[saver.tensor]!.shape;
    const strides = stridesOf(plan.block.outputShapes[k]!);
    const tileStrides = strides.map((s, d) => (shape[d] === 1 ? 0 : s));
    const terms = saver.omap.flatMap((dim, axis) => (dim === null ? [] : [`wid.${GRID_AXES[axis]} * ${u32(shape[dim]! * strides[dim]!)}`]));
    const registers = registerAccumulatorsRead(plan, saver.tensor);
    code.comment(`out${k} = t${saver.tensor}${registers.length > 0 ? ', from registers' : ''}`);
    code.block('', () => {
      code.line(`let base = ${terms.length === 0 ? '0u' : terms.join(' + ')};`);
      if (registers.length === 0) {
        if (emitVectorSaver(ctx, k, outputs[k]!, variant, strides, tileStrides)) {
          vectorOutputs.add(k);
          return;
        }
        forEachElement(code, numel(shape), plan.thread.invocations, (e) => {
          code.line(store(variant, outputs[k]!, `base + ${stridedIndex(shape, tileStrides, e)}`, access.value(saver.tensor, shape, { flat: e })));
        });
        return;
      }
      // Every register accumulator read has the saver's shape, hence the same register tiling.
      const matmul = plan.fusedMatmul.get(registers[0]!)!;
      forEachSlot(ctx, matmul, (slot) => {
        for (const { coords, i, j } of matmulTileOutputs(ctx, matmul)) {
          const lookup = (id: number) => (registers.includes(id) ? register(ctx, id, plan.fusedMatmul.get(id)!, slot, i, j) : undefined);
          const value = tensorAccess(plan, variant, iterators, ctx.workgroup, lookup).value(saver.tensor, shape, { coords });
          const at = offset(0, shape, tileStrides, { coords });
          code.line(store(variant, outputs[k]!, at === '0u' ? 'base' : `base + ${at}`, value));
        }
      }, true);
    });
  });
  return vectorOutputs;
}

/**
 * Saver k four elements per store, when its tile's rows are whole vec4s of the output (every
 * offset a multiple of 4) and its value reads as vec4 (access.vectorValue): a quarter of the
 * stores and of the loads behind them, which lavapipe runs lane by lane. False (nothing
 * emitted) otherwise.
 */
function emitVectorSaver(
  ctx: EmitContext, k: number, output: Binding, variant: Variant, strides: readonly number[], tileStrides: readonly number[],
): boolean {
  const { plan, access, code } = ctx;
  const saver = plan.block.outputs[k]!;
  const shape = plan.block.tensors[saver.tensor]!.shape;
  const aligned = shape.length > 0 && shape.at(-1)! % 4 === 0 && tileStrides.at(-1) === 1 && tileStrides.slice(0, -1).every((s) => s % 4 === 0)
    && saver.omap.every((dim) => dim === null || (shape[dim]! * strides[dim]!) % 4 === 0);
  const at = (e: string) => ({ flat: `${e} * 4u` });
  if (!aligned || access.vectorValue(saver.tensor, shape, at('e')) === undefined) return false;
  const type = storageType(variant, output.dtype);
  forEachElement(code, numel(shape) / 4, plan.thread.invocations, (e) => {
    const value = access.vectorValue(saver.tensor, shape, at(e))!;
    const index = stridedIndex(shape, tileStrides, `${e} * 4u`);
    code.line(`${output.name}[(base + ${index}) / 4u] = ${type === 'f16' ? `vec4<f16>(${value})` : value};`);
  });
  return true;
}

/** The register-resident accumulators that tensor `id` is computed from through inline ops (or is). */
function registerAccumulatorsRead(plan: KernelPlan, id: number): number[] {
  const storage = plan.storage[id]!;
  if (storage.kind === 'registers') return [id];
  if (storage.kind !== 'inline') return [];
  const op = plan.block.tensors[id]!.op;
  return [...new Set((op?.inputs ?? []).flatMap((x) => registerAccumulatorsRead(plan, x)))];
}

