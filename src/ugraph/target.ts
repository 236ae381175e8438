/// <reference types="@webgpu/types" preserve="true" />
/**
 * Target profile: the device limits a μGraph is validated against and the search draws
 * its candidate grids and tiles from. `webgpuDefaults` are WebGPU's guaranteed minimums,
 * so a μGraph valid for it runs on every adapter; `profileFromLimits` reads an adapter's
 * (or device's) actual limits when compiling for a known machine.
 */

import type { TargetRequirements } from '../runtime/targets.js';

export interface TargetProfile {
  readonly name: string;
  /** maxComputeWorkgroupStorageSize: bytes of var<workgroup> memory per workgroup. */
  readonly maxWorkgroupStorageBytes: number;
  /** maxComputeInvocationsPerWorkgroup. */
  readonly maxInvocationsPerWorkgroup: number;
  /** maxComputeWorkgroupSizeX (custom kernels use 1-D workgroups). */
  readonly maxWorkgroupSizeX: number;
  /** maxComputeWorkgroupsPerDimension: the largest grid size on any axis. */
  readonly maxWorkgroupsPerDimension: number;
  /** maxStorageBufferBindingSize, in bytes: the largest storage tensor. */
  readonly maxStorageBufferBindingSize: number;
  /** maxStorageBuffersPerShaderStage: a kernel binds one buffer per input and output. */
  readonly maxStorageBuffersPerShaderStage: number;
  /** Adapter features that matter to codegen (e.g. 'shader-f16'), sorted. */
  readonly features: readonly string[];
  /**
   * GPUAdapterInfo.subgroupMinSize, where `features` has 'subgroups' and the size is known;
   * absent otherwise (so profiles without subgroups keep their cache keys).
   */
  readonly subgroupMinSize?: number;
}

export const webgpuDefaults: TargetProfile = Object.freeze({
  name: 'webgpu-defaults',
  maxWorkgroupStorageBytes: 16384,
  maxInvocationsPerWorkgroup: 256,
  maxWorkgroupSizeX: 256,
  maxWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxStorageBuffersPerShaderStage: 8,
  features: Object.freeze([]),
});

/**
 * `profile` on adapters that also have the 'subgroups' feature with subgroups of at least
 * `minSize` invocations (GPUAdapterInfo.subgroupMinSize): what kernels that share operands
 * by subgroup broadcast are validated against.
 */
export function withSubgroups(profile: TargetProfile, minSize: number): TargetProfile {
  return Object.freeze({
    ...profile,
    name: `${profile.name}+subgroups${minSize}`,
    features: Object.freeze([...new Set([...profile.features, 'subgroups'])].sort()),
    subgroupMinSize: minSize,
  });
}

/** The subset of GPUSupportedLimits a profile reads; missing fields take WebGPU's defaults. */
export type LimitsLike = Partial<
  Pick<
    GPUSupportedLimits,
    | 'maxComputeWorkgroupStorageSize'
    | 'maxComputeInvocationsPerWorkgroup'
    | 'maxComputeWorkgroupSizeX'
    | 'maxComputeWorkgroupsPerDimension'
    | 'maxStorageBufferBindingSize'
    | 'maxStorageBuffersPerShaderStage'
  >
>;

/** `subgroupMinSize` is GPUAdapterInfo's; it counts only where `features` has 'subgroups'. */
export function profileFromLimits(limits: LimitsLike, features: Iterable<string> = [], name = 'adapter', subgroupMinSize = 0): TargetProfile {
  const d = webgpuDefaults;
  const sorted = Object.freeze([...new Set(features)].sort());
  return Object.freeze({
    name,
    maxWorkgroupStorageBytes: limits.maxComputeWorkgroupStorageSize ?? d.maxWorkgroupStorageBytes,
    maxInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup ?? d.maxInvocationsPerWorkgroup,
    maxWorkgroupSizeX: limits.maxComputeWorkgroupSizeX ?? d.maxWorkgroupSizeX,
    maxWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension ?? d.maxWorkgroupsPerDimension,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize ?? d.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage ?? d.maxStorageBuffersPerShaderStage,
    features: sorted,
    ...(sorted.includes('subgroups') && subgroupMinSize > 0 ? { subgroupMinSize } : {}),
  });
}

/**
 * The inverse of profileFromLimits: the device limits (GPUSupportedLimits names) and
 * features a device needs to run what was compiled for `profile`. Generated modules embed
 * this for each target so the runtime can choose one without knowing TargetProfile.
 */
export function profileRequirements(profile: TargetProfile): TargetRequirements {
  return {
    name: profile.name,
    limits: {
      maxComputeWorkgroupStorageSize: profile.maxWorkgroupStorageBytes,
      maxComputeInvocationsPerWorkgroup: profile.maxInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: profile.maxWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: profile.maxWorkgroupsPerDimension,
      maxStorageBufferBindingSize: profile.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: profile.maxStorageBuffersPerShaderStage,
    },
    features: profile.features,
    ...(profile.subgroupMinSize !== undefined ? { subgroupMinSize: profile.subgroupMinSize } : {}),
  };
}
