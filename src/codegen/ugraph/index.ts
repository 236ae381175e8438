/** WGSL code generation for μGraphs: a kernel graph becomes a CompiledProgram the runtime loader runs. */
export { compileKernelGraph } from './compile-graph.js';
export { customKernelSource } from './custom-kernel.js';
export { type KernelPlan, planKernel } from './plan.js';
