/**
 * Entry of the demo's Node build (build.ts): the tensor modules the page imports
 * (src/benchmarks.ts globs the same files), through the mugraph plugin. Eager, so that the
 * bundle holds every module's generated code and the demo reads them by path, e.g.
 * `modules['../../fixtures/programs/gqa.tensor.ts'].gqa_b1`.
 */
export const modules: Record<string, Record<string, unknown>> = import.meta.glob('../../fixtures/programs/**/*.tensor.ts', { eager: true });
