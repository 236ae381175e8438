/**
 * What a peer runtime implements to join the benchmark: given a workload and a variant,
 * set up resident tensors once and return a call that uploads the per-call inputs, runs,
 * and reads the output back (raw: f32 values, or f16 bit patterns that are decoded after
 * timing). Peer packages are imported by name at run time, so this folder compiles even
 * when `npm --prefix bench/peers install` failed; the failure is then reported per peer.
 */
import type { Variant } from '../../src/runtime/types.js';
import type { BenchWorkload } from '../workloads.js';

export interface PeerRun {
  /** One call: per-call input upload, dispatch, output read-back. */
  runOnce(): Promise<Float32Array | Uint16Array>;
  destroy(): Promise<void> | void;
}

export interface PeerSystem {
  readonly name: string;
  /** The variants it runs (cells of other variants are left out, not reported as failures). */
  readonly variants: readonly Variant[];
  /** How the peer expresses the workload (e.g. "prim" RMSNorm), shown in the results. */
  describe(workload: BenchWorkload): string;
  prepare(workload: BenchWorkload, variant: Variant): Promise<PeerRun>;
}

/** Imports a peer package by a name TypeScript does not resolve (its types are not needed to build). */
export async function importPeerPackage<T>(name: string): Promise<T> {
  return (await import(name)) as T;
}

/** f16 per-call data: the inputs rounded to f16, as bit patterns. */
export { encodeF16 } from '../../src/runtime/f16.js';
