/**
 * Cache keys: SHA-256 of what decides the kernels: the program's canonical JSON (structure,
 * shapes, dtypes; no names), the search configuration and the target profile.
 * `stableStringify` sorts object keys so that equal configurations hash equally.
 *
 * The key leaves out the entry format and the compiler's identity on purpose: an entry
 * written by another mugraph version sits at the same path, so it is found and rejected
 * with the reason (entry.ts, lock-hit.ts), and rewriting it shows in review as a change of
 * that file rather than an orphan plus a new file. Lock format 1 keyed by those too;
 * `legacyKeys` finds its files.
 */
import { createHash } from 'node:crypto';
import { UGRAPH_SCHEMA } from '../ugraph/kernel-graph.js';
import type { TargetProfile } from '../ugraph/target.js';
import type { SearchConfig } from '../build/options.js';

/**
 * Version of the entry format (the lock format); bump on any change to what an entry holds
 * or means. 2: no timings and no machine's measurements in the entry; the key without the
 * compiler identity; the records strictly typed (entry-schema.ts). 3: the verification
 * record holds the finite-field verifier's verdict (`verification.equivalence`).
 */
export const CACHE_SCHEMA = 3;

/** What compiled an entry; recorded in it and checked on every hit (lock-hit.ts). */
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
}

/** 32 hex digits (128 bits of SHA-256): the entry's file name. */
export function cacheKey(inputs: KeyInputs): string {
  return sha256(stableStringify(inputs)).slice(0, 32);
}

/** The only compiler identity lock format 1 was written with (its key hashed it too). */
const FORMAT_1_COMPILER: CompilerIdentity = { cache: 1, ugraph: 1, compiler: 'naive-1' };

/** The keys older lock formats gave the same program, with their format: where an outdated entry of it would be. */
export function legacyKeys(inputs: KeyInputs): readonly { readonly key: string; readonly format: number }[] {
  return [{ key: sha256(stableStringify({ ...inputs, compiler: FORMAT_1_COMPILER })).slice(0, 32), format: 1 }];
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
 *
 * Kept rather than a library: safe-stable-stringify by default writes a stand-in for what
 * it cannot write ("[Circular]", and "[Object]" past a maximumDepth), so two different
 * inputs could hash alike unless every option is set right; fast-json-stable-stringify has
 * had no release since 2019. Either would save a dozen lines.
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
