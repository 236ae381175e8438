/**
 * Validation of a kernel graph against a target profile: what structural validation
 * cannot know because it depends on the device. A graph that passes runs within the
 * profile's limits: grids fit the dispatch limits, every custom kernel fits workgroup
 * memory (memory.ts's rule) and its thread config fits the workgroup size limits, every
 * storage tensor fits one binding (at 4 bytes per element, the f32 variant's storage),
 * every kernel binds few enough buffers, and subgroup broadcast is used only where the
 * target's subgroups are wide enough.
 */
import { formatShape, numel } from '../ir/shape.js';
import { UGraphError } from './errors.js';
import { GRID_AXES } from './grid.js';
import type { KernelGraph } from './kernel-graph.js';
import { workgroupMemory } from './memory.js';
import { type TargetProfile, webgpuDefaults } from './target.js';
import { SUBGROUP_BROADCAST_LANES } from './thread-config.js';

/** Every way `graph` exceeds `target`, in graph order; empty when it fits. */
export function targetProblems(graph: KernelGraph, target: TargetProfile = webgpuDefaults): UGraphError[] {
  const problems: UGraphError[] = [];
  const report = (where: string, detail: string) => problems.push(new UGraphError(where, `${detail} (target ${target.name})`));
  graph.tensors.forEach((tensor, id) => {
    const bytes = numel(tensor.shape) * 4;
    if (bytes > target.maxStorageBufferBindingSize) {
      report(`tensor ${id}`, `${formatShape(tensor.shape)} needs ${bytes} bytes, over maxStorageBufferBindingSize ${target.maxStorageBufferBindingSize}`);
    }
  });
  graph.nodes.forEach((node, index) => {
    const where = `node ${index} (${node.op})`;
    const bindings = node.inputs.length + graph.nodeOutputs[index]!.length;
    if (bindings > target.maxStorageBuffersPerShaderStage) {
      report(where, `binds ${bindings} storage buffers, over maxStorageBuffersPerShaderStage ${target.maxStorageBuffersPerShaderStage}`);
    }
    if (node.op !== 'custom') return;
    node.block.grid.forEach((size, axis) => {
      if (size > target.maxWorkgroupsPerDimension) {
        report(`${where} > block`, `grid.${GRID_AXES[axis]} = ${size} exceeds maxComputeWorkgroupsPerDimension ${target.maxWorkgroupsPerDimension}`);
      }
    });
    const memory = workgroupMemory(node.block, node.thread);
    if (memory.total > target.maxWorkgroupStorageBytes) {
      report(
        `${where} > block`,
        `needs ${memory.total} bytes of workgroup memory (accumulators ${memory.accumulators} + max(loop body ${memory.loopBody}, epilogue ${memory.epilogue})), over the limit of ${target.maxWorkgroupStorageBytes}`,
      );
    }
    const { invocations } = node.thread;
    const maxInvocations = Math.min(target.maxInvocationsPerWorkgroup, target.maxWorkgroupSizeX);
    if (invocations > maxInvocations) report(`${where} > thread`, `invocations ${invocations} exceeds the workgroup size limit ${maxInvocations}`);
    const has = target.features.includes('subgroups') ? `subgroups of at least ${target.subgroupMinSize ?? 'unknown'}` : 'no subgroups';
    if (node.thread.subgroupBroadcast && (target.subgroupMinSize ?? 0) < SUBGROUP_BROADCAST_LANES) {
      report(`${where} > thread`, `subgroupBroadcast needs subgroups of at least ${SUBGROUP_BROADCAST_LANES} invocations; the target has ${has}`);
    }
    if (node.thread.subgroupRowSums && (target.subgroupMinSize ?? 0) < SUBGROUP_BROADCAST_LANES) {
      report(`${where} > thread`, `subgroupRowSums needs subgroups of at least ${SUBGROUP_BROADCAST_LANES} invocations; the target has ${has}`);
    }
    if (node.thread.kLanes !== undefined && (target.subgroupMinSize ?? 0) < node.thread.kLanes) {
      report(`${where} > thread`, `kLanes ${node.thread.kLanes} needs subgroups of at least ${node.thread.kLanes} invocations; the target has ${has}`);
    }
  });
  return problems;
}

/** Throws the first problem of `targetProblems`, mentioning how many more there are. */
export function checkTarget(graph: KernelGraph, target: TargetProfile = webgpuDefaults): void {
  const [first, ...rest] = targetProblems(graph, target);
  if (!first) return;
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  throw new UGraphError(first.where, `${first.detail}${more}`);
}
