/**
 * Cache keys: SHA-256 of the program's canonical JSON (structure, shapes, dtypes; no
 * names), the search configuration, the target profile and the compiler's schema
 * versions. `stableStringify` sorts object keys so that equal configurations hash equally.
 */
import { createHash } from 'node:crypto';
import { UGRAPH_SCHEMA } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { SearchConfig } from '../build/options.js';

/** Version of the entry format; bump on any change to what an entry holds or means. */
export const CACHE_SCHEMA = 1;

/** What compiled an entry; part of the key, so a new compiler never reuses an old one's entries. */
export interface CompilerIdentity {
  readonly cache: number;
  readonly ugraph: number;
  /** The compiler pipeline, e.g. 'naive-1' (per-operator μGraph, no search). */
  readonly compiler: string;
}

export interface KeyInputs {
  /** Program.canonicalJSON(). */
  readonly program: string;
  readonly search: SearchConfig;
  readonly target: TargetProfile;
  readonly compiler: CompilerIdentity;
}

/** 32 hex digits (128 bits of SHA-256): the entry's file name. */
export function cacheKey(inputs: KeyInputs): string {
  return sha256(stableStringify(inputs)).slice(0, 32);
}

export function compilerIdentity(compiler: string): CompilerIdentity {
  return { cache: CACHE_SCHEMA, ugraph: UGRAPH_SCHEMA, compiler };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * JSON with object keys sorted at every level (arrays keep their order); undefined fields
 * dropped. Every own key is written, `__proto__` included: what is hashed is exactly what
 * JSON.parse produced. Recursive: entries reach it only through the depth-bounded parse
 * (bounded-json.ts).
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return sortKeys(json.call(value));
  // No prototype, so that a "__proto__" key (an own property after JSON.parse) is set as a
  // field and serialized, not taken as the prototype and silently left out of the hash.
  const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) sorted[key] = sortKeys(field);
  }
  return sorted;
}
