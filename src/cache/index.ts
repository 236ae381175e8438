/**
 * The kernel lock (committed, one JSON file per entry) and the scratch cache: keys,
 * sealed and validated entries (their schema, published as schema/lock-entry.schema.json),
 * atomic writes.
 */
export { CACHE_SCHEMA, cacheKey, compilerIdentity, type CompilerIdentity } from './key.js';
export { CorruptEntryError, type LockEntry, OutdatedEntryError, type Verification } from './entry.js';
export { lockEntryJSONSchema, lockEntrySchema } from './entry-schema.js';
export { EntryDirectory, KernelStore } from './store.js';
