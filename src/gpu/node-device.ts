/**
 * The one place Node creates a WebGPU device: Dawn through the `webgpu` package. Dawn's
 * instance (what `create()` returns) must stay referenced while the device lives, or the
 * process crashes at the first dispatch; it is held in a module-level set until destroy().
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';

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

/** Keeps Dawn instances alive for as long as their devices are in use. */
const liveInstances = new Set<GPU>();

export async function createNodeDevice(options: NodeDeviceOptions = {}): Promise<NodeGpu> {
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

function noAdapterMessage(): string {
  return [
    'mugraph: no WebGPU adapter found (Dawn via the `webgpu` package).',
    'Install a GPU driver with Vulkan support, or use the software renderer:',
    'on Debian/Ubuntu run `bash scripts/ensure-webgpu.sh`, which installs Mesa 25 lavapipe',
    '(`libvulkan1` and `mesa-vulkan-drivers` from bookworm-backports; the stock Mesa 22 lacks a feature Dawn requires).',
  ].join('\n');
}
