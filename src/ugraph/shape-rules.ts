/**
 * Shape inference shared by kernel-level and block-level operators (a tile is just a
 * small tensor, so matmul, broadcasting and reductions follow the same rules at both
 * levels, which are also the tensor program's rules).
 */
import { broadcastShapes, formatShape, reducedShape, type Shape } from '../ir/shape.js';
import { fail } from './check.js';

/** [...batchA, m, k] · [...batchB, k, n] -> [...broadcast(batchA, batchB), m, n]. */
export function matmulShape(a: Shape, b: Shape, where: string): Shape {
  if (a.length < 2 || b.length < 2) fail(where, `matmul operands need rank >= 2, got ${formatShape(a)} and ${formatShape(b)}`);
  const [m, k] = a.slice(-2) as [number, number];
  const [k2, n] = b.slice(-2) as [number, number];
  if (k !== k2) fail(where, `matmul inner dimensions differ: ${formatShape(a)} · ${formatShape(b)} (${k} vs ${k2})`);
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  if (!batch) fail(where, `matmul batch dimensions do not broadcast: ${formatShape(a)} · ${formatShape(b)}`);
  return Object.freeze([...batch, m, n]);
}

export function broadcastShape(a: Shape, b: Shape, where: string): Shape {
  const shape = broadcastShapes(a, b);
  if (!shape) fail(where, `shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
  return Object.freeze([...shape]);
}

/** Whether `small` broadcasts to exactly `target` (the result of broadcasting is `target` itself). */
export function broadcastsTo(small: Shape, target: Shape): boolean {
  const shape = broadcastShapes(small, target);
  return shape !== undefined && shape.length === target.length && shape.every((d, i) => d === target[i]);
}

export function reduceShape(x: Shape, dim: number, keepdim: boolean): Shape {
  return Object.freeze(reducedShape(x, dim, keepdim));
}
