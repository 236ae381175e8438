/**
 * onnxruntime-node with its WebGPU execution provider (its own bundled Dawn on the same
 * Vulkan driver), and the CPU provider (f32 only) as a sanity anchor. Resident inputs are
 * initializers; per-call inputs are CPU tensors fed to `session.run`, which reads the
 * output back to the CPU (f16 as raw bits). For qknorm, constant folding is disabled so
 * that rmsNorm(V) of the resident V is computed on every call, as the workload requires.
 */
import type { Variant } from '../../src/runtime/types.js';
import type { BenchWorkload } from '../workloads.js';
import { buildOnnxModel, onnxForm } from './onnx-graphs.js';
import { encodeF16, importPeerPackage, type PeerRun, type PeerSystem } from './peer-api.js';

interface OrtTensor { readonly data: Float32Array | Uint16Array }
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: string, data: Float32Array | Uint16Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
}

function ortPeer(name: string, provider: 'webgpu' | 'cpu'): PeerSystem {
  return {
    name,
    variants: provider === 'cpu' ? ['f32'] : ['f16', 'f32'],
    describe: (workload) => onnxForm(workload.name),
    async prepare(workload: BenchWorkload, variant: Variant): Promise<PeerRun> {
      const ort = (await importPeerPackage<{ default: OrtModule }>('onnxruntime-node')).default;
      const model = await buildOnnxModel(workload, variant);
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        ...(workload.name === 'qknorm' ? { extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } } } : {}),
      });
      const type = variant === 'f16' ? 'float16' : 'float32';
      const perCall = workload.program.inputSpecs.filter((s) => !workload.resident.has(s.name)).map((s) => {
        const values = workload.inputs[s.name]!;
        return { name: s.name, shape: s.shape, data: variant === 'f16' ? encodeF16(values) : values };
      });
      const outputName = workload.program.outputs[0]!.name;
      return {
        async runOnce() {
          const feeds: Record<string, OrtTensor> = {};
          for (const input of perCall) feeds[input.name] = new ort.Tensor(type, input.data, input.shape);
          const result = await session.run(feeds);
          return result[outputName]!.data;
        },
        destroy: () => session.release(),
      };
    },
  };
}

export const ortWebGpuPeer = ortPeer('onnxruntime-webgpu', 'webgpu');
export const ortCpuPeer = ortPeer('onnxruntime-cpu', 'cpu');
