/// <reference types="@webgpu/types" preserve="true" />
/**
 * What encode() learns from the device about the caller's buffers. WebGPU cannot say
 * synchronously whether a GPUBuffer belongs to a device or was destroyed (Dawn: a destroyed
 * buffer's size, usage and mapState read as before; creating a bind group with another
 * device's buffer does not throw). So the first time encode() sees a buffer, its bind groups
 * are created inside a validation error scope (another device's buffer fails there) and a
 * compute pass that only sets them is submitted (a destroyed buffer fails there: Dawn checks
 * destroyed buffers at submit); when that fails, each new buffer is bound and submitted
 * alone to name the culprit. The verdict per buffer is kept: a problem is permanent.
 */
import { isObject } from './values.js';

/** The compute shader-stage flag (the WebGPU globals may not exist where the runtime is imported). */
export const COMPUTE_STAGE = 0x4;

/** A buffer encode() has not seen before: what it is bound as (`input "x"`), the buffer, its size. */
export type FreshBuffer = readonly [string, GPUBuffer, number];

/** encode()'s check of one caller buffer: `done` resolves to what is wrong with it, if anything. */
export interface Verdict {
  /** The buffer's size, read once. */
  readonly size: number;
  problem: string | undefined;
  settled: boolean;
  readonly done: Promise<string | undefined>;
}

export class BufferChecks {
  private readonly verdicts = new WeakMap<GPUBuffer, Verdict>();
  /** The one-binding layout that diagnose() binds a buffer with. */
  private checkLayout: GPUBindGroupLayout | undefined;

  constructor(private readonly device: GPUDevice, private readonly label: string) {}

  /** The check of a buffer seen before; undefined for a fresh one. */
  verdict(buffer: GPUBuffer): Verdict | undefined {
    return this.verdicts.get(buffer);
  }

  /** Closes the error scope encode() opened when it cannot go on to check (its bind groups threw). */
  abandonScope(): void {
    void scopeResult(this.device.popErrorScope());
  }

  /**
   * Closes the error scope encode() opened for `fresh` and submits the check of `groups` (see
   * encode()); records each fresh buffer's verdict when the check is complete. One promise
   * per fresh buffer, resolving to its problem prefixed with its tensor, and one for a
   * problem no buffer could be blamed for.
   */
  checkFresh(fresh: readonly FreshBuffer[], buffers: readonly GPUBuffer[], groups: readonly GPUBindGroup[]): Promise<string | undefined>[] {
    const bindError = scopeResult(this.device.popErrorScope());
    // A pass over a buffer still mapped (at creation) cannot be submitted: the destroyed check waits for a later call.
    const complete = buffers.every((b) => b.mapState === 'unmapped');
    const submitError = complete ? this.submitCheck(groups) : Promise.resolve(null);
    const sizes = new Map(fresh.map(([, b, size]) => [b, size]));
    const unique = [...sizes.keys()];
    type Problems = { readonly each: ReadonlyMap<GPUBuffer, string | undefined>; readonly general?: string };
    const problems: Promise<Problems> = Promise.all([bindError, submitError]).then(async ([a, b]) => {
      const error = a ?? b;
      if (!error) return { each: new Map() };
      const each = new Map((await this.diagnose(unique)).map((problem, i) => [unique[i]!, problem]));
      const blamed = [...each.values()].some((p) => p !== undefined);
      return { each, general: blamed ? undefined : `the device refused its bind groups (it says: ${firstLine(error)})` };
    }).catch((error: unknown) => ({ each: new Map(), general: `checking the buffers failed: ${(error as Error).message}` }));
    if (complete) {
      for (const buffer of unique) {
        const verdict: Verdict = { size: sizes.get(buffer)!, problem: undefined, settled: false, done: problems.then((p) => p.each.get(buffer)) };
        void verdict.done.then((problem) => Object.assign(verdict, { problem, settled: true }));
        this.verdicts.set(buffer, verdict);
      }
    }
    return [
      ...fresh.map(([what, buffer]) => problems.then((p) => { const problem = p.each.get(buffer); return problem && `${what} ${problem}`; })),
      problems.then((p) => p.general),
    ];
  }

  /** Submits a compute pass that sets `groups` and dispatches nothing; resolves to the validation error, if any. */
  private submitCheck(groups: readonly GPUBindGroup[]): Promise<GPUError | null> {
    const device = this.device;
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: `${this.label}:check` });
    const pass = encoder.beginComputePass({ label: `${this.label}:check` });
    groups.forEach((group) => pass.setBindGroup(0, group));
    pass.end();
    device.queue.submit([encoder.finish()]);
    return scopeResult(device.popErrorScope());
  }

  /** Binds each buffer alone, then submits it alone: what is wrong with each, if anything (see encode()). */
  private diagnose(buffers: readonly GPUBuffer[]): Promise<(string | undefined)[]> {
    const device = this.device;
    const layout = this.checkLayout ??= device.createBindGroupLayout({
      label: `${this.label}:check`,
      entries: [{ binding: 0, visibility: COMPUTE_STAGE, buffer: { type: 'read-only-storage' } }],
    });
    return Promise.all(buffers.map(async (buffer) => {
      device.pushErrorScope('validation');
      let group: GPUBindGroup | undefined;
      let thrown: unknown;
      try {
        group = device.createBindGroup({ label: `${this.label}:check`, layout, entries: [{ binding: 0, resource: { buffer, size: 4 } }] });
      } catch (error) {
        thrown = error;
      }
      const bindError = scopeResult(device.popErrorScope());
      if (!group) return `cannot be bound: ${(thrown as Error).message}`;
      const submitError = buffer.mapState === 'unmapped' ? this.submitCheck([group]) : Promise.resolve(null);
      const [bound, submitted] = await Promise.all([bindError, submitError]);
      if (bound) return `cannot be used on this program's device: it belongs to another GPUDevice, or is an invalid buffer (the device says: ${firstLine(bound)})`;
      if (submitted) return `was destroyed (the device says: ${firstLine(submitted)})`;
      return undefined;
    }));
  }
}

/** The size of what looks like a GPUBuffer (an object with a numeric size and usage), else undefined. */
export function bufferSize(value: unknown): number | undefined {
  if (!isObject(value)) return undefined;
  const size: unknown = value.size;
  return typeof size === 'number' && typeof value.usage === 'number' ? size : undefined;
}

/** A popped error scope's error; null also when popping failed (a lost device reports nothing). */
function scopeResult(scope: Promise<GPUError | null>): Promise<GPUError | null> {
  return scope.catch(() => null);
}

function firstLine(error: GPUError): string {
  return error.message.trim().split('\n')[0]!;
}
