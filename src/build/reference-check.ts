/**
 * The reference check: the regenerated program runs on the local WebGPU adapter, in every
 * variant both it and the adapter support, on seeded random inputs, and each output is
 * compared with the float64 reference interpreter (the same check as `mugraph check`).
 * Worst errors over the seeds, per variant. It gates what `mugraph warm` (and the build
 * with `profile`) writes, and is what `mugraph verify` runs; its result is reported, never
 * stored in a lock entry, since the adapter and the errors measured differ between machines.
 */
import { checkProgram, supportedVariants } from '../reference/check-program.js';
import type { Program } from '../frontend/program.js';
import type { NodeGpu } from '../gpu/node-device.js';
import { loadCompiled } from '../runtime/loader.js';
import type { CompiledProgram, Variant } from '../runtime/types.js';

export const REFERENCE_SEEDS: readonly number[] = [1, 2];

/** Per variant, the errors measured against the float64 reference. */
export interface VariantErrors {
  readonly variant: Variant;
  readonly maxAbsError: number;
  readonly relL2Error: number;
  readonly tolerance: number;
  readonly pass: boolean;
}

export interface ReferenceCheck {
  readonly seeds: readonly number[];
  /** The adapter it ran on (GPUAdapterInfo, in words). */
  readonly adapter: string;
  /** Worst over seeds, per variant. */
  readonly variants: readonly VariantErrors[];
  readonly pass: boolean;
}

export async function referenceCheck(
  program: Program, compiled: CompiledProgram, gpu: NodeGpu, seeds: readonly number[] = REFERENCE_SEEDS,
): Promise<ReferenceCheck> {
  const value = { name: program.name, program, load: (device: GPUDevice, options?: { variant?: Variant }) => loadCompiled(compiled, device, options) };
  const variants = supportedVariants(program, gpu.device).filter((v) => compiled.variants.includes(v));
  const worst = new Map<Variant, VariantErrors>();
  for (const seed of seeds) {
    const { outcomes } = await checkProgram(value, gpu.device, variants, seed);
    for (const outcome of outcomes) {
      if ('error' in outcome) throw new Error(`${program.name} (${outcome.variant}, seed ${seed}) failed to run: ${outcome.error}`);
      const c = outcome.comparison;
      const previous = worst.get(outcome.variant);
      worst.set(outcome.variant, {
        variant: outcome.variant,
        maxAbsError: Math.max(previous?.maxAbsError ?? 0, c.maxAbsError),
        relL2Error: Math.max(previous?.relL2Error ?? 0, c.relL2Error),
        tolerance: c.tolerance,
        pass: (previous?.pass ?? true) && c.pass,
      });
    }
  }
  const results = [...worst.values()];
  return { seeds: [...seeds], adapter: gpu.adapterInfo, variants: results, pass: results.every((r) => r.pass) };
}
