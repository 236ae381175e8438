/**
 * The kernel lock (committed, one JSON file per entry) and the scratch cache: keys,
 * sealed and validated entries (their schema, published as schema/lock-entry.schema.json),
 * atomic writes, and this machine's marks of the entries it has verified.
 */
export { CACHE_SCHEMA, cacheKey, compilerIdentity, type CompilerIdentity } from './key.js';
export { CorruptEntryError, type EquivalenceRecord, type LockEntry, OutdatedEntryError, type Verification } from './entry.js';
export { lockEntryJSONSchema, lockEntrySchema } from './entry-schema.js';
export { EntryDirectory, KernelStore } from './store.js';
export { VERIFIER_ID, VerifiedEntries } from './verified.js';
