/**
 * The adapter's own limits, measured with raw WGSL (docs/benchmarks.md,
 * "Adapter roofline"): copy bandwidth from a vec4 buffer copy and FMA throughput from
 * unrolled, independent vec4 fma chains, each over a few configurations, keeping the best.
 * Kernel time comes from timestamp queries where the adapter has them, else wall time
 * around the submission.
 */
import { benchWaitingPriority, measure, type CallTimes } from './measure.js';

export interface MicrokernelResult {
  readonly kernel: 'copy' | 'fma';
  readonly config: string;
  readonly ms: number;
  /** GB/s (bytes read + written) for copy, GFLOP/s for fma. */
  readonly rate: number;
}

export interface AdapterFigures {
  /** Best copy bandwidth, GB/s, counting bytes read plus bytes written. */
  readonly copyGBps: number;
  /** Best FMA rate, GFLOP/s (one vec4 fma = 8 FLOP). */
  readonly fmaGflops: number;
  readonly runs: readonly MicrokernelResult[];
}

export interface MicrokernelOptions {
  /** Bytes per copy buffer (the copy moves twice this). */
  readonly copyBytes: number;
  /** Scales the FMA loop length. */
  readonly fmaScale: number;
  readonly reps: number;
}

export const FULL_MICROKERNELS: MicrokernelOptions = { copyBytes: 128 * 2 ** 20, fmaScale: 1, reps: 7 };
export const QUICK_MICROKERNELS: MicrokernelOptions = { copyBytes: 8 * 2 ** 20, fmaScale: 1 / 16, reps: 2 };

const COPY_CONFIGS = [
  { workgroup: 256, perInvocation: 1 },
  { workgroup: 256, perInvocation: 4 },
  { workgroup: 64, perInvocation: 64 },
] as const;
const FMA_CONFIGS = [
  { workgroup: 256, groups: 128, accumulators: 4, iterations: 512, unroll: 8 },
  { workgroup: 64, groups: 512, accumulators: 8, iterations: 256, unroll: 8 },
  { workgroup: 64, groups: 512, accumulators: 4, iterations: 512, unroll: 8 },
] as const;
const MAX_GROUPS_X = 1024;

function copyShader(workgroup: number, perInvocation: number): string {
  return `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let threads = groups.x * groups.y * ${workgroup}u;
  let first = gid.y * groups.x * ${workgroup}u + gid.x;
  for (var j = 0u; j < ${perInvocation}u; j++) {
    let i = first + j * threads;
    dst[i] = src[i];
  }
}`;
}

function fmaShader(workgroup: number, accumulators: number, unroll: number): string {
  const accs = Array.from({ length: accumulators }, (_, i) => i);
  const step = accs.map((i) => `a${i} = fma(a${i}, m, c);`).join(' ');
  return `
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4f>;
@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f32(gid.x) * 1e-7;
  ${accs.map((i) => `var a${i} = vec4f(s + ${i}.0, s - ${i}.0, s * 0.5, s + 0.25);`).join('\n  ')}
  let m = vec4f(0.9999, 0.9998, 0.9997, 0.9996);
  let c = vec4f(1e-4, 2e-4, 3e-4, 4e-4);
  let iterations = params[0];
  for (var i = 0u; i < iterations; i++) {
    ${Array.from({ length: unroll }, () => step).join('\n    ')}
  }
  sink[gid.x] = ${accs.map((i) => `a${i}`).join(' + ')};
}`;
}

/** Times one dispatch of `shader` over `buffers`; kernel time if timestamps exist, else wall. */
async function timeDispatch(
  device: GPUDevice, shader: string, buffers: readonly GPUBuffer[], groups: [number, number], reps: number,
): Promise<number> {
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader }), entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const timed = device.features.has('timestamp-query');
  const querySet = timed ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolve = timed ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : undefined;
  const readBack = timed ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : undefined;
  const call = async (): Promise<CallTimes> => {
    const start = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1]);
    pass.end();
    if (querySet && resolve && readBack) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readBack, 0, 16);
    }
    device.queue.submit([encoder.finish()]);
    if (!readBack) {
      await device.queue.onSubmittedWorkDone();
      return { wallMs: performance.now() - start, kernelMs: null };
    }
    await readBack.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(readBack.getMappedRange().slice(0));
    readBack.unmap();
    const wallMs = performance.now() - start;
    return { wallMs, kernelMs: begin! > 0n && end! > begin! ? Number(end! - begin!) / 1e6 : null };
  };
  const m = await measure(call, { warmup: 1, reps, waitingPriority: benchWaitingPriority() });
  querySet?.destroy();
  resolve?.destroy();
  readBack?.destroy();
  return m.kernelMs ?? m.wallMs;
}

export async function measureAdapter(device: GPUDevice, options: MicrokernelOptions): Promise<AdapterFigures> {
  const runs: MicrokernelResult[] = [];
  const copyBytes = Math.min(options.copyBytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const src = device.createBuffer({ size: copyBytes, usage });
  const dst = device.createBuffer({ size: copyBytes, usage });
  const vec4s = copyBytes / 16;
  for (const { workgroup, perInvocation } of COPY_CONFIGS) {
    const groupsTotal = vec4s / (workgroup * perInvocation);
    const groups: [number, number] = [Math.min(groupsTotal, MAX_GROUPS_X), Math.max(1, groupsTotal / MAX_GROUPS_X)];
    if (!Number.isInteger(groups[1])) continue;
    const ms = await timeDispatch(device, copyShader(workgroup, perInvocation), [src, dst], groups, options.reps);
    runs.push({ kernel: 'copy', config: `workgroup ${workgroup}, ${perInvocation} vec4/invocation, ${groups.join('x')} groups`, ms, rate: (2 * copyBytes) / (ms * 1e6) });
  }
  src.destroy();
  dst.destroy();
  for (const { workgroup, groups, accumulators, iterations, unroll } of FMA_CONFIGS) {
    const loops = Math.max(1, Math.round(iterations * options.fmaScale));
    const params = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([loops]));
    const sink = device.createBuffer({ size: workgroup * groups * 16, usage: GPUBufferUsage.STORAGE });
    const ms = await timeDispatch(device, fmaShader(workgroup, accumulators, unroll), [params, sink], [groups, 1], options.reps);
    const flops = workgroup * groups * accumulators * loops * unroll * 8;
    runs.push({ kernel: 'fma', config: `workgroup ${workgroup} x ${groups} groups, ${accumulators} acc, ${loops} iterations x unroll ${unroll}`, ms, rate: flops / (ms * 1e6) });
    params.destroy();
    sink.destroy();
  }
  const best = (kernel: 'copy' | 'fma') => Math.max(...runs.filter((r) => r.kernel === kernel).map((r) => r.rate));
  return { copyGBps: best('copy'), fmaGflops: best('fma'), runs };
}
