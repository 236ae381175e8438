/**
 * The number domain the μGraph interpreter computes in. Float64 now (testing against the
 * reference interpreter); a finite field later (the probabilistic verifier), which is why
 * every operation is a method: field arithmetic for add/sub/mul/div, the field's exp
 * (a homomorphism into the multiplicative group), sqrt, and opaque keyed hashes for the
 * non-algebraic operators (max, silu, gelu, relu), shared by both programs compared.
 */
import type { BinaryOp, UnaryOp } from '../frontend/tensor.js';

export interface NumberDomain<T> {
  readonly name: string;
  readonly zero: T;
  readonly one: T;
  /** A constant of the graph (scale factor, eps, ...). */
  fromConstant(c: number): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  exp(x: T): T;
  sqrt(x: T): T;
  rsqrt(x: T): T;
  /** Not a field operation: a field domain treats it as an opaque symmetric function. */
  max(a: T, b: T): T;
  silu(x: T): T;
  gelu(x: T): T;
  relu(x: T): T;
}

/** Float64 with the reference interpreter's exact formulas (src/reference/interpreter.ts). */
export const float64Domain: NumberDomain<number> = Object.freeze({
  name: 'float64',
  zero: 0,
  one: 1,
  fromConstant: (c: number) => c,
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  exp: Math.exp,
  sqrt: Math.sqrt,
  rsqrt: (x: number) => 1 / Math.sqrt(x),
  max: (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  silu: (x: number) => x / (1 + Math.exp(-x)),
  gelu: (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu: (x: number) => Math.max(x, 0),
});

/** The unary operator `fn` in domain `d` (square is x·x: no separate domain method needed). */
export function unaryIn<T>(d: NumberDomain<T>, fn: UnaryOp): (x: T) => T {
  switch (fn) {
    case 'square': return (x) => d.mul(x, x);
    case 'exp': return (x) => d.exp(x);
    case 'sqrt': return (x) => d.sqrt(x);
    case 'rsqrt': return (x) => d.rsqrt(x);
    case 'silu': return (x) => d.silu(x);
    case 'gelu': return (x) => d.gelu(x);
    case 'relu': return (x) => d.relu(x);
  }
}

export function binaryIn<T>(d: NumberDomain<T>, fn: BinaryOp): (a: T, b: T) => T {
  switch (fn) {
    case 'add': return (a, b) => d.add(a, b);
    case 'sub': return (a, b) => d.sub(a, b);
    case 'mul': return (a, b) => d.mul(a, b);
    case 'div': return (a, b) => d.div(a, b);
  }
}
