/**
 * Runtime checks for μGraph specs. Constructors take `unknown`-shaped data (from the
 * builder, or parsed JSON from a lock file) and check every field with these helpers,
 * so there is exactly one validation path and `fromJSON` is as strict as the builder.
 */
import { type DType, isDType } from '../ir/dtype.js';
import { type Shape, shapeProblem } from '../ir/shape.js';
import { UGraphError } from './errors.js';

export function fail(where: string, detail: string): never {
  throw new UGraphError(where, detail);
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function expectRecord(value: unknown, where: string, allowedKeys: readonly string[]): Readonly<Record<string, unknown>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(where, `expected an object, got ${describeValue(value)}`);
  const unknown = Object.keys(value).filter((k) => !allowedKeys.includes(k));
  if (unknown.length > 0) fail(where, `unknown field(s) ${unknown.join(', ')} (allowed: ${allowedKeys.join(', ')})`);
  return value as Record<string, unknown>;
}

export function expectArray(value: unknown, where: string, what: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(where, `${what} must be an array, got ${describeValue(value)}`);
  return value;
}

export function expectInteger(value: unknown, where: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(where, `${what} must be an integer, got ${describeValue(value)}`);
  if (value < min || value > max) {
    fail(where, `${what} is ${value}, outside ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `[${min}, ${max}]`}`);
  }
  return value;
}

export function expectFinite(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, `${what} must be a finite number, got ${describeValue(value)}`);
  return value;
}

export function expectBoolean(value: unknown, where: string, what: string): boolean {
  if (typeof value !== 'boolean') fail(where, `${what} must be a boolean, got ${describeValue(value)}`);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, options: readonly T[], where: string, what: string): T {
  if (!options.includes(value as T)) fail(where, `${what} must be one of ${options.join(', ')}, got ${describeValue(value)}`);
  return value as T;
}

export function expectShape(value: unknown, where: string, what: string): Shape {
  const problem = shapeProblem(value);
  if (problem) fail(where, `${what}: ${problem}`);
  return Object.freeze([...(value as number[])]);
}

export function expectDType(value: unknown, where: string, what: string): DType {
  if (!isDType(value)) fail(where, `${what} must be 'f16' or 'f32', got ${describeValue(value)}`);
  return value;
}

export function expectName(value: unknown, where: string, what: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(value)) fail(where, `${what} must be an identifier, got ${describeValue(value)}`);
  return value;
}

/**
 * Operand ids of an op: integers naming tensors defined before it (ids are positions in
 * the graph's tensor list, so "before" is what makes every graph a DAG in topological order).
 */
export function expectOperands(value: unknown, arity: number | 'any', available: number, where: string): readonly number[] {
  const ids = expectArray(value, where, 'inputs');
  if (arity !== 'any' && ids.length !== arity) fail(where, `takes ${arity} input(s), got ${ids.length}`);
  if (arity === 'any' && ids.length === 0) fail(where, 'needs at least one input');
  return Object.freeze(
    ids.map((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(where, `input ${i} must be a tensor id, got ${describeValue(id)}`);
      if (id >= available) fail(where, `input ${i} refers to tensor ${id}, but only tensors 0..${available - 1} are defined before this op`);
      return id;
    }),
  );
}
