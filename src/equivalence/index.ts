/**
 * The finite-field equivalence verifier (docs/equivalence.md): verify() decides whether a
 * μGraph computes its tensor program's function; Screener is the cheap first test for a
 * search's many candidates; fieldDomain() is the field as a NumberDomain of the generic
 * μGraph interpreter; mutants() derives wrong μGraphs for mutation testing.
 */
export { type Mismatch, type Verdict, type VerifyOptions, type VerifyResult, verify, WORKER_THRESHOLD } from './verify.js';
export { closeVerifierPool, warmVerifierPool } from './verify-pool.js';
export { type ScreenOptions, type ScreenResult, Screener } from './screen.js';
export { type FieldDomainOptions, type FieldElement, fieldDomain } from './field-domain.js';
export { OMEGA, P, Q } from './field.js';
export { MUTATION_KINDS, type Mutant, type MutationKind, mutants } from './mutate.js';
export { UnverifiableError, ZeroDenominatorError } from './errors.js';
