/**
 * jax-js (@jax-js/jax) on the `webgpu` package's Dawn, every program inside `jit`, as in
 * docs/benchmarks.md: resident arrays are created once and passed with `.ref`
 * (jax-js arrays are consumed by each call); per-call inputs are created from typed arrays
 * every call; the output is read with `.data()`. f16 data crosses as raw f16 bits through
 * a Uint16Array subclass installed as Float16Array (Node 20 has none), with no cast inside
 * the jit. rmsNorm keeps its mean of squares in f32 (jax-js's default precision choice).
 */
import { create, globals } from 'webgpu';
import { numel } from '../../src/ir/shape.js';
import type { Variant } from '../../src/runtime/types.js';
import type { BenchWorkload, WorkloadName } from '../workloads.js';
import { encodeF16, importPeerPackage, type PeerRun, type PeerSystem } from './peer-api.js';

interface JArray {
  readonly ref: JArray;
  mul(other: JArray | number): JArray;
  add(other: JArray | number): JArray;
  astype(dtype: string): JArray;
  data(): Promise<Float32Array | Uint16Array>;
  dispose(): void;
}
interface JaxModule {
  init(...devices: string[]): Promise<string[]>;
  defaultDevice(device: string): string;
  jit<F extends (...args: JArray[]) => JArray>(f: F): F;
  numpy: {
    array(data: Float32Array | Uint16Array, options: { shape: number[]; dtype: string }): JArray;
    matmul(a: JArray, b: JArray): JArray;
    mean(a: JArray, axis: number, options: { keepdims: boolean }): JArray;
    square(a: JArray): JArray;
    sqrt(a: JArray): JArray;
    reciprocal(a: JArray): JArray;
  };
  nn: { softmax(x: JArray, axis: number): JArray; silu(x: JArray): JArray };
}

/** Dawn instance: must stay referenced while jax-js uses the device. */
let gpuInstance: GPU | undefined;

function installNodeGlobals(): void {
  Object.assign(globalThis, globals);
  gpuInstance ??= create([]);
  const g = globalThis as { navigator?: object };
  g.navigator ??= {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpuInstance, configurable: true });
  Object.defineProperty(g.navigator, 'userAgent', { value: `Node.js/${process.version}`, configurable: true });
  const withF16 = globalThis as { Float16Array?: unknown };
  withF16.Float16Array ??= class Float16Array extends Uint16Array {};
  // Node 20 lacks Iterator helpers, which jax-js's einsum parser uses.
  const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<string, unknown>;
  if (!iteratorProto.map) {
    iteratorProto.map = function* (this: Iterable<unknown>, f: (v: unknown, i: number) => unknown) { let i = 0; for (const v of this) yield f(v, i++); };
    iteratorProto.filter = function* (this: Iterable<unknown>, f: (v: unknown, i: number) => boolean) { let i = 0; for (const v of this) if (f(v, i++)) yield v; };
    iteratorProto.toArray = function (this: Iterable<unknown>) { return [...this]; };
  }
}

type Build = (jax: JaxModule, f16: boolean) => (...args: JArray[]) => JArray;

const EPS = 1e-6;

function rmsNorm(jax: JaxModule, x: JArray, f16: boolean): JArray {
  const { numpy: np } = jax;
  const stats = f16 ? x.ref.astype('float32') : x.ref;
  let inv = np.reciprocal(np.sqrt(np.mean(np.square(stats), -1, { keepdims: true }).add(EPS)));
  if (f16) inv = inv.astype('float16');
  return x.mul(inv);
}

/** Each workload, with its arguments in the program's input order. */
const PROGRAMS: Readonly<Record<WorkloadName, Build>> = {
  gqa: ({ numpy: np, nn }) => (q, k, v) => np.matmul(nn.softmax(np.matmul(q, k), -1), v),
  qknorm: (jax, f16) => (q, k, v) =>
    jax.numpy.matmul(jax.nn.softmax(jax.numpy.matmul(rmsNorm(jax, q, f16), k), -1), rmsNorm(jax, v, f16)),
  rmsnorm: (jax, f16) => (x, w) => jax.numpy.matmul(rmsNorm(jax, x, f16), w),
  lora: ({ numpy: np }) => (x, w, a, b) => np.matmul(x.ref, w).add(np.matmul(np.matmul(x, a), b)),
  gated_mlp: ({ numpy: np, nn }) => (x, w1, w2) => nn.silu(np.matmul(x.ref, w1)).mul(np.matmul(x, w2)),
  ntrans: (jax, f16) => (h, x, alpha) => {
    const update = alpha.mul(rmsNorm(jax, h, f16).add(x.ref));
    return rmsNorm(jax, x.add(update), f16);
  },
};

let jaxModule: Promise<JaxModule> | undefined;

async function loadJax(): Promise<JaxModule> {
  installNodeGlobals();
  const jax = await importPeerPackage<JaxModule>('@jax-js/jax');
  const devices = await jax.init();
  if (!devices.includes('webgpu')) throw new Error(`jax-js found no WebGPU device (devices: ${devices.join(', ')})`);
  jax.defaultDevice('webgpu');
  return jax;
}

export const jaxPeer: PeerSystem = {
  name: 'jax-js',
  variants: ['f16', 'f32'],
  describe: () => 'jit',
  async prepare(workload: BenchWorkload, variant: Variant): Promise<PeerRun> {
    const jax = await (jaxModule ??= loadJax());
    const f16 = variant === 'f16';
    const dtype = f16 ? 'float16' : 'float32';
    const F16 = (globalThis as unknown as { Float16Array: new (data: Uint16Array) => Uint16Array }).Float16Array;
    const specs = workload.program.inputSpecs;
    const data = specs.map((s) => (f16 ? new F16(encodeF16(workload.inputs[s.name]!)) : workload.inputs[s.name]!));
    const makeArray = (i: number) => jax.numpy.array(data[i]!, { shape: [...specs[i]!.shape], dtype });
    const resident = specs.map((s, i) => (workload.resident.has(s.name) ? makeArray(i) : undefined));
    const program = jax.jit(PROGRAMS[workload.name](jax, f16));
    const expected = numel(workload.program.outputs[0]!.tensor.shape);
    return {
      async runOnce() {
        const args = specs.map((_, i) => resident[i]?.ref ?? makeArray(i));
        const out = await program(...args).data();
        if (out.length !== expected) throw new Error(`jax-js returned ${out.length} elements, expected ${expected}`);
        return out;
      },
      destroy() {
        for (const r of resident) r?.dispose();
      },
    };
  },
};
