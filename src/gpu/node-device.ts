/// <reference types="@webgpu/types" preserve="true" />
/**
 * The one place Node creates a WebGPU device: Dawn through the `webgpu` package. Dawn's
 * instance (what `create()` returns) must stay referenced while the device lives, or the
 * process crashes at the first dispatch; it is held in a module-level set until destroy().
 *
 * `webgpu` is an optional peer dependency (Dawn for five platforms, about 130 MB, which
 * building bundles never needs): it is imported here, on the first device, and when it is
 * not installed the error says what to install.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NodeGpu {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  /** e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (mesa, vulkan)". */
  readonly adapterInfo: string;
  destroy(): void;
}

export interface NodeDeviceOptions {
  /** 'all-useful' (default): shader-f16, timestamp-query and subgroups where the adapter has them; or an explicit list (each must be supported). */
  readonly features?: 'all-useful' | readonly GPUFeatureName[];
}

const USEFUL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];

/** The optional peer dependency `webgpu` is not installed. */
export class WebGpuMissingError extends Error {
  override readonly name = 'WebGpuMissingError';
  constructor() {
    // The CLI shows the first line alone where a missing adapter is only a note (warm, verify).
    super([
      'the `webgpu` package (Dawn, WebGPU for Node) is not installed: `npm i -D webgpu` adds it',
      'mugraph runs kernels in Node through it (`mugraph check`, the reference check of `mugraph warm`, `mugraph verify`, the',
      "plugin's `profile` option). It is an optional peer dependency because building bundles does not need it and it",
      'weighs about 130 MB (Dawn for five platforms).',
    ].join('\n'));
  }
}

type WebGpuModule = typeof import('webgpu');

async function importWebGpu(): Promise<WebGpuModule> {
  try {
    return await import('webgpu');
  } catch (error) {
    // Only `webgpu` itself missing; a broken install (a dependency of it missing, a native load failure) is reported as it is.
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && String(message).includes("package 'webgpu'")) throw new WebGpuMissingError();
    throw error;
  }
}

/** Keeps Dawn instances alive for as long as their devices are in use. */
const liveInstances = new Set<GPU>();

export async function createNodeDevice(options: NodeDeviceOptions = {}): Promise<NodeGpu> {
  const { create, globals } = await importWebGpu();
  if (!process.env.XDG_RUNTIME_DIR) {
    // Vulkan loaders (lavapipe included) warn or fail without it.
    const dir = join(tmpdir(), `xdg-runtime-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  // The GPU* constants (GPUBufferUsage, ...) that code written for browsers expects.
  Object.assign(globalThis, globals);
  const gpu = create([]);
  liveInstances.add(gpu);
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error(noAdapterMessage());
    explainDawnLimitWarnings(adapter.limits);
    const wanted = options.features ?? 'all-useful';
    const requiredFeatures = wanted === 'all-useful' ? USEFUL_FEATURES.filter((f) => adapter.features.has(f)) : [...wanted];
    const missing = requiredFeatures.filter((f) => !adapter.features.has(f));
    if (missing.length > 0) throw new Error(`mugraph: the WebGPU adapter lacks the feature(s) ${missing.join(', ')}`);
    const device = await adapter.requestDevice({ requiredFeatures });
    const info = adapter.info;
    const adapterInfo = [info.device || info.description, info.vendor && `(${info.vendor}${info.architecture ? `, ${info.architecture}` : ''})`]
      .filter(Boolean).join(' ') || 'unknown adapter';
    let destroyed = false;
    return {
      device,
      adapter,
      adapterInfo,
      destroy() {
        if (destroyed) return;
        destroyed = true;
        device.destroy();
        liveInstances.delete(gpu);
      },
    };
  } catch (error) {
    liveInstances.delete(gpu);
    throw error;
  }
}

/**
 * Dawn's cap on dynamic uniform and storage buffers per pipeline layout. When a Vulkan
 * driver reports more (lavapipe reports 1000000), Dawn lowers the limit to it and prints
 * "Warning: max...BuffersPerPipelineLayout artificially reduced from N to 16 to fit dynamic
 * offset allocation limit." to stderr from native code, at every adapter request: nothing in
 * JavaScript can filter it, so the first adapter that sits at the cap explains it once.
 */
const DAWN_DYNAMIC_BUFFER_CAP = 16;

/** The explanation of Dawn's two "artificially reduced" warnings, when these limits say Dawn printed them; otherwise undefined. */
export function dawnLimitWarningNote(limits: Pick<GPUSupportedLimits, 'maxDynamicUniformBuffersPerPipelineLayout' | 'maxDynamicStorageBuffersPerPipelineLayout'>): string | undefined {
  const capped = limits.maxDynamicUniformBuffersPerPipelineLayout === DAWN_DYNAMIC_BUFFER_CAP
    && limits.maxDynamicStorageBuffersPerPipelineLayout === DAWN_DYNAMIC_BUFFER_CAP;
  if (!capped) return undefined;
  return 'mugraph: note: the "Warning: max...BuffersPerPipelineLayout artificially reduced ..." lines come from Dawn (the `webgpu` '
    + `package): this Vulkan driver reports no practical limit on dynamic buffers and Dawn caps it at ${DAWN_DYNAMIC_BUFFER_CAP}. `
    + "They are harmless: mugraph's kernels use no dynamic offsets.";
}

let dawnWarningsExplained = false;

function explainDawnLimitWarnings(limits: GPUSupportedLimits): void {
  if (dawnWarningsExplained) return;
  const note = dawnLimitWarningNote(limits);
  if (note === undefined) return;
  dawnWarningsExplained = true;
  console.error(note);
}

function noAdapterMessage(): string {
  return [
    'mugraph: no WebGPU adapter found (Dawn, through the `webgpu` package).',
    'Run on a machine with a GPU and its driver, or install a software Vulkan driver (Mesa lavapipe):',
    '  Debian 13, Ubuntu 24.04 or later: apt-get install libvulkan1 mesa-vulkan-drivers',
    '  Debian 12: the same from bookworm-backports (apt-get install -t bookworm-backports libvulkan1 mesa-vulkan-drivers);',
    '    its own Mesa 22 gives Dawn no adapter',
    '  Fedora: dnf install vulkan-loader mesa-vulkan-drivers',
    "(In a clone of mugraph's repository, `bash scripts/ensure-webgpu.sh` does this on Debian or Ubuntu as root.)",
  ].join('\n');
}
