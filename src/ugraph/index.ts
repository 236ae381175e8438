/** The μGraph IR (kernel graph, block graph, thread config), its interpreter and the naive lowering. */
export { UGraphError, isUGraphError } from './errors.js';
export { type Grid, type GridMap, type GridMapObject, GRID_AXES, formatGridMap } from './grid.js';
export type { CommonOpSpec, ReduceFn } from './common-ops.js';
export { ACCUM_KINDS, type AccumKind, type AccumSpec, type BlockOpSpec, type BlockTensorInfo, type Phase } from './block-ops.js';
export type { InputIteratorSpec, OutputSaverSpec } from './block-io.js';
export { BlockGraph, type BlockGraphSpec } from './block-graph.js';
export type { CustomKernelNode, KernelNode, KernelTensorInfo, PredefinedKernelSpec } from './kernel-ops.js';
export { KernelGraph, type KernelGraphJSON, UGRAPH_SCHEMA } from './kernel-graph.js';
export { DEFAULT_THREAD_CONFIG, type ThreadConfig } from './thread-config.js';
export { type TargetProfile, profileFromLimits, webgpuDefaults } from './target.js';
export { type WorkgroupMemory, workgroupMemory } from './memory.js';
export { checkTarget, targetProblems } from './target-check.js';
export { type BlockTensorRef, BlockGraphBuilder } from './block-builder.js';
export { KernelGraphBuilder, type KernelTensorRef } from './builder.js';
export { float64Domain, type NumberDomain } from './domain.js';
export { evaluateKernelGraph, runKernelGraph } from './interpreter.js';
export { runBlockGraph } from './block-interpreter.js';
export { kernelGraphFromProgram } from './lower-naive.js';
