/**
 * Building one `*.tensor.ts` for a bundler, as the plugin (plugin/) and the CLI use it:
 * options, evaluating the module, looking up or filling the kernel lock, regenerating
 * WGSL, emitting the ES module, and diagnostics located at the user's file:line.
 */
export {
  type FilterPattern, formatProgramEvent, type MugraphOptions, type ProgramEvent, type ResolvedOptions, type SearchConfig, type SearchOption, type SearchSummary, resolveOptions,
} from './options.js';
export {
  type BuildContext, type BuildTimings, buildTensorModule, createBuildContext, type EntryStatus, MissingEntryError, type ModuleBuild,
  type ProgramBuild, programKey, ReferenceCheckError, warmCommand,
} from './build-module.js';
export { CorruptEntryError, type LockEntry, type Verification } from '../cache/entry.js';
export { KernelStore } from '../cache/store.js';
export { codeFrame, type LocatedError, locateError, sourceLine, type SourceLocation } from './diagnostics.js';
export { RUNTIME_ENTRY, RUNTIME_SPECIFIER } from './emit.js';
export { jsLiteral } from '../codegen/escape.js';
