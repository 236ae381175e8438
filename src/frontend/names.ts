/**
 * The names a program declares, and the rules they follow. Names travel into generated
 * code (the module the build plugin emits, WGSL labels, lock entries) and into the keys of
 * the objects `run()` takes and returns, so they are restricted at the DSL, where the
 * error can name the user's line; the emitter escapes them again regardless (defence in
 * depth: see codegen/escape.ts).
 *
 * - Input and output names: ASCII identifiers (`[A-Za-z_$][A-Za-z0-9_$]*`), except
 *   `__proto__`, which an object literal such as `run({ __proto__: x })` cannot carry as a key.
 * - Program names: 1 to 128 characters of `[A-Za-z0-9_.-]`, starting with a letter or `_`
 *   (so `rmsnorm-linear` and `model.v2` are fine).
 */
import { jsLiteral } from '../codegen/escape.js';
import { ProgramError } from './errors.js';
import type { CallSite } from './site.js';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const PROGRAM_NAME = /^[A-Za-z_][\w.-]{0,127}$/;

/** Throws a ProgramError at `site` unless `value` is an identifier usable as an input or output name. */
export function checkIdentifier(value: unknown, what: string, op: string, site: CallSite | undefined): asserts value is string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ProgramError(`${what} must be an identifier (letters, digits, _ and $, not starting with a digit), got ${quote(value)}`, op, site);
  }
  if (value === '__proto__') throw new ProgramError(`${what} "__proto__" is reserved (an object literal cannot carry it as a key)`, op, site);
}

/** Throws a ProgramError at `site` unless `value` is a valid program name (see the header). */
export function checkProgramName(value: unknown, site: CallSite | undefined): asserts value is string {
  if (typeof value !== 'string' || !PROGRAM_NAME.test(value)) {
    throw new ProgramError(
      `a program name is 1 to 128 characters of letters, digits, _, . and -, starting with a letter or _; got ${quote(value)}`,
      'program', site,
    );
  }
}

/** A value as an error message shows it: strings quoted with every unprintable character escaped, others by type. */
function quote(value: unknown): string {
  if (typeof value === 'string') return jsLiteral(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return value === null ? 'null' : typeof value;
}
