/**
 * Where the finite-field verifier cannot evaluate a program: an exp of a value derived
 * from an exp (docs/equivalence.md; the rule of equivalence/lanes.ts, on program
 * operators). exp maps the q-lane into the p-lane, so its result has no q-lane, and
 * neither has anything computed from it by field arithmetic; an exp of such a value needs
 * the q-lane it lacks. Opaque functions (silu, gelu, relu, a max over more than one
 * element) hash their operand into fresh lanes, and a storage tensor read by a part is a
 * fresh input of that part's subprogram: cutting there makes both sides verifiable.
 */
import type { Tensor } from '../frontend/tensor.js';

const OPAQUE_UNARY = new Set(['silu', 'gelu', 'relu']);

/** The exps among `ordered` (operators, operands first) whose operand, computed within `ordered`, has no q-lane. */
export function nestedExps(ordered: readonly Tensor[]): Tensor[] {
  const inside = new Set(ordered);
  const noQLane = new Set<Tensor>();
  const found: Tensor[] = [];
  for (const node of ordered) {
    const derived = node.inputs.some((x) => inside.has(x) && noQLane.has(x));
    const fn = node.attrs.fn;
    if (node.op === 'unary' && fn === 'exp') {
      if (derived) found.push(node);
      noQLane.add(node);
    } else if (node.op === 'unary' && OPAQUE_UNARY.has(fn as string)) {
      // fresh lanes
    } else if (node.op === 'reduce' && fn === 'max' && node.inputs[0]!.shape[node.attrs.dim as number]! > 1) {
      // fresh lanes
    } else if (derived) {
      noQLane.add(node);
    }
  }
  return found;
}
