/**
 * Dawn prints "Warning: max...BuffersPerPipelineLayout artificially reduced ..." from native
 * code at every adapter request on drivers that report more dynamic buffers than its cap
 * (lavapipe does). JavaScript cannot filter it, so createNodeDevice explains it, once per
 * process, when the adapter's limits show Dawn capped them (src/gpu/node-device.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNodeDevice, dawnLimitWarningNote } from '../../src/gpu/node-device.js';

const limits = (uniform: number, storage: number) => ({ maxDynamicUniformBuffersPerPipelineLayout: uniform, maxDynamicStorageBuffersPerPipelineLayout: storage });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Dawn's limit warnings", () => {
  it('are explained when both limits sit at Dawn\'s cap of 16, and only then', () => {
    expect(dawnLimitWarningNote(limits(16, 16))).toMatch(/artificially reduced .* come from Dawn .* harmless/);
    expect(dawnLimitWarningNote(limits(15, 16))).toBeUndefined(); // NVIDIA's Vulkan driver: 15 and 16, nothing reduced
    expect(dawnLimitWarningNote(limits(8, 8))).toBeUndefined();
  });

  it('are explained once per process, however many devices it creates', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const first = await createNodeDevice();
    const second = await createNodeDevice();
    const expected = dawnLimitWarningNote(first.adapter.limits) === undefined ? 0 : 1;
    first.destroy();
    second.destroy();
    const notes = printed.mock.calls.filter(([text]) => String(text).includes('artificially reduced'));
    expect(notes).toHaveLength(expected);
  });
});
