/**
 * The kernel lock (committed, one JSON file per entry) and the scratch cache: keys,
 * sealed and validated entries, atomic writes.
 */
export { cacheKey, compilerIdentity, type CompilerIdentity } from './key.js';
export { CorruptEntryError, type LockEntry, type Verification } from './entry.js';
export { KernelStore } from './store.js';
