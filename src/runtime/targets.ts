/// <reference types="@webgpu/types" preserve="true" />
/**
 * Choosing among the builds of one program for several target profiles (the plugin's
 * `targets` option): the first, in the build's order of preference, whose limits and
 * features the device has. The device's own limits are what count, not the adapter's: a
 * device gets only the limits requested in requestDevice. Dependency-free like the loader.
 */
import { loadCompiled } from './loader.js';
import type { CompiledProgram, LoadedProgram, LoadOptions } from './types.js';

/** What a target profile asks of a device, in GPUSupportedLimits names. */
export interface TargetRequirements {
  readonly name: string;
  /** Each limit the device must reach (at least this value). */
  readonly limits: Readonly<Record<string, number>>;
  /** Features the device must have (e.g. 'shader-f16'). */
  readonly features: readonly string[];
  /** The smallest subgroup size (GPUAdapterInfo.subgroupMinSize) the build assumes, where it uses subgroups. */
  readonly subgroupMinSize?: number;
}

export interface TargetCandidate {
  readonly target: TargetRequirements;
  readonly compiled: CompiledProgram;
}

/** The part of a GPUDevice (or adapter) the choice reads; a plain object in tests. */
export interface DeviceCapabilities {
  readonly limits: GPUSupportedLimits | Readonly<Record<string, number>>;
  readonly features: { has(feature: string): boolean };
  /** GPUDevice.adapterInfo where the platform has it. */
  readonly adapterInfo?: { readonly subgroupMinSize?: number };
}

/** Why `device` cannot run what was built for `target`: one line per unmet limit or feature; empty when it fits. */
export function unmetRequirements(target: TargetRequirements, device: DeviceCapabilities): string[] {
  const limits = device.limits as unknown as Readonly<Record<string, number | undefined>>;
  const unmet = Object.entries(target.limits)
    .filter(([limit, needed]) => !((limits[limit] ?? 0) >= needed))
    .map(([limit, needed]) => `${limit} ${needed} (device: ${limits[limit] ?? 'none'})`);
  for (const feature of target.features) if (!device.features.has(feature)) unmet.push(`feature '${feature}'`);
  const subgroupMinSize = device.adapterInfo?.subgroupMinSize ?? 0;
  if (target.subgroupMinSize !== undefined && subgroupMinSize < target.subgroupMinSize) {
    unmet.push(`subgroupMinSize ${target.subgroupMinSize} (device: ${subgroupMinSize || 'unknown'})`);
  }
  return unmet;
}

/** The first candidate the device fits; else an error naming the program and, per target, what is missing. */
export function chooseTarget<C extends TargetCandidate>(candidates: readonly C[], device: DeviceCapabilities): C {
  const reasons: string[] = [];
  for (const candidate of candidates) {
    const unmet = unmetRequirements(candidate.target, device);
    if (unmet.length === 0) return candidate;
    reasons.push(`  target "${candidate.target.name}" needs ${unmet.join(', ')}`);
  }
  const name = candidates[0]?.compiled.name ?? '(no builds)';
  throw new Error(`mugraph: program "${name}" was built for no target this device meets:\n${reasons.join('\n')}\n`
    + 'Request the limits and features in requestDevice, or add a target the device meets (e.g. webgpuDefaults) to the build.');
}

/** Loads the build of the first target the device meets (see chooseTarget). */
export async function loadForDevice(candidates: readonly TargetCandidate[], device: GPUDevice, options?: LoadOptions): Promise<LoadedProgram> {
  return loadCompiled(chooseTarget(candidates, device).compiled, device, options);
}
